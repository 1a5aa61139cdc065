using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

public sealed partial class ConsoleReleaseTests
{
    private string Tarball => Path.Combine(_fixture.App.Dir, "bin", "rel", $"{Name}-{Version}.tar.gz");

    [Fact]
    public void Tar_WritesTheTarballAndItsSha256()
    {
        Assert.True(File.Exists(Tarball), $"ReleaseSteps=assemble;tar wrote no {Tarball}");
        Assert.Equal($"{Files.Sha256(Tarball)}  {Name}-{Version}.tar.gz", File.ReadAllText(Tarball + ".sha256").Trim());

        var entries = ProcessRunner.Run("tar", ["tzf", Tarball]).ShouldSucceed().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"bin/{Name}", entries);
        Assert.Contains($"releases/{Version}/release.json", entries);
        Assert.DoesNotContain("releases/COOKIE", entries); // the secret stays on the build machine
        Assert.DoesNotContain(entries, e => e.StartsWith("tmp/", StringComparison.Ordinal));
    }

    [Fact]
    public void Tar_IsReproducible()
    {
        var first = File.ReadAllBytes(Tarball);
        File.Delete(Tarball);
        File.Delete(Tarball + ".sha256");

        _fixture.App.Publish().ShouldSucceed();
        Assert.True(File.Exists(Tarball), "the second publish wrote no tarball");
        Assert.True(first.AsSpan().SequenceEqual(File.ReadAllBytes(Tarball)), "two builds from the same input gave different tarballs");
    }

    [Fact]
    public void Tar_ExtractedElsewhere_Runs()
    {
        var target = Path.Combine(_fixture.App.Root, "installed copy", Name);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        Directory.CreateDirectory(target);
        ProcessRunner.Run("tar", ["xzf", Tarball, "-C", target]).ShouldSucceed();

        var copy = new InstalledRelease(target, Name);
        _others.Add(copy);
        Assert.Equal($"{Name} {Version}\n", copy.Run("version").ShouldSucceed().StdOut);
        var pid = Daemon(copy);
        Assert.Equal($"{pid}", copy.Run("pid").ShouldSucceed().StdOut.Trim());
        Assert.StartsWith(Path.Combine(target, "runtime") + "/", ProbeOutput.Parse(WaitForLog(copy, "serving"))["corelib"]);
        copy.Run("stop").ShouldSucceed();
        AssertGoneNow(pid);
    }

    private static string WaitForLog(InstalledRelease release, string text, string? node = null)
    {
        Assert.True(Poll.Until(() => release.Log(node).Contains(text), TimeSpan.FromSeconds(10)), $"'{text}' never appeared in the log:\n{release.Log(node)}");
        return release.Log(node);
    }
}
