using System.Formats.Tar;
using System.IO.Compression;
using Relcraft.Sdk.Tasks;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>The tar step: a reproducible tarball (read back with System.Formats.Tar) and its sha256sum file.</summary>
public sealed class TarReleaseTests : IDisposable
{
    private readonly TempDirectory _dir = new("tar");
    private readonly string _root;
    private readonly FakeBuildEngine _engine = new();

    public TarReleaseTests()
    {
        _root = _dir.Combine("rel", "kv");
        Write("bin/kv", "#!/bin/sh\n", ReleasePlan.Executable);
        Write("runtime/dotnet", "muxer", ReleasePlan.Executable);
        Write("lib/kv-0.1.0/Kv.dll", "app", ReleasePlan.Regular);
        Write("lib/kv-0.1.0/Kv-extra.dll", "extra", ReleasePlan.Regular);
        Write("releases/0.1.0/kv.runtimeconfig.json", "{}\n", ReleasePlan.Regular);
        Write("releases/0.1.0/release.json", """{ "name": "kv", "files": [] }""", ReleasePlan.Regular);
        Write("releases/start.data", "0.1.0\n", ReleasePlan.Regular);
        Write("releases/COOKIE", new string('s', 64), ReleasePlan.Secret);
        Write("tmp/kv.pid", "4242\n", ReleasePlan.Regular);
        Write("tmp/log/kv.log", "log\n", ReleasePlan.Regular);
        File.CreateSymbolicLink(Path.Combine(_root, "lib/kv-0.1.0/Kv.runtimeconfig.json"), "../../releases/0.1.0/kv.runtimeconfig.json");
    }

    public void Dispose() => _dir.Dispose();

    private void Write(string relative, string content, UnixFileMode mode)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
    }

    private string Tar(string name = "kv-0.1.0.tar.gz", string? epoch = null)
    {
        var tarball = _dir.Combine("out", name);
        Directory.CreateDirectory(Path.GetDirectoryName(tarball)!);
        var task = new TarRelease
        {
            BuildEngine = _engine,
            ReleaseDirectory = _root + "/",
            Tarball = tarball,
            SourceDateEpoch = epoch,
            StateFile = _dir.Combine("obj", "relcraft", name + ".inputs"),
        };
        Assert.True(task.Execute(), _engine.Describe());
        Assert.Empty(_engine.Errors);
        return tarball;
    }

    private sealed record Entry(string Name, TarEntryType Type, UnixFileMode Mode, int Uid, int Gid, string UserName, string GroupName, DateTimeOffset MTime, string LinkName, string? Text);

    private static List<Entry> Read(string tarball)
    {
        using var file = File.OpenRead(tarball);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var entries = new List<Entry>();
        while (reader.GetNextEntry() is { } e)
        {
            string? text = e.DataStream is null ? null : new StreamReader(e.DataStream).ReadToEnd();
            var (user, group) = e is PosixTarEntry p ? (p.UserName, p.GroupName) : ("", "");
            entries.Add(new Entry(e.Name, e.EntryType, e.Mode, e.Uid, e.Gid, user, group, e.ModificationTime, e.LinkName, text));
        }
        return entries;
    }

    [Fact]
    public void Two_tarballs_of_the_same_release_are_byte_identical()
    {
        var first = Tar("a.tar.gz");
        // mtimes and access times in the release must not leak into the tarball
        foreach (var f in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
            if (new FileInfo(f).LinkTarget is null) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddDays(-3));
        var second = Tar("b.tar.gz");

        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void Entries_have_the_fixed_default_timestamp()
    {
        Assert.All(Read(Tar()), e => Assert.Equal(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), e.MTime));
    }

    [Fact]
    public void SOURCE_DATE_EPOCH_sets_entry_mtimes()
    {
        var entries = Read(Tar(epoch: "1700000000"));
        Assert.All(entries, e => Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), e.MTime));
    }

    [Fact]
    public void A_different_SOURCE_DATE_EPOCH_rewrites_an_existing_tarball()
    {
        var tarball = Tar(epoch: "1700000000");
        Tar(epoch: "1600000000");
        Assert.All(Read(tarball), e => Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1600000000), e.MTime));
    }

    [Fact]
    public void Entries_are_sorted_and_owned_by_root_without_names()
    {
        var entries = Read(Tar());
        var names = entries.Select(e => e.Name.TrimEnd('/')).ToList();
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
        Assert.All(entries, e =>
        {
            Assert.Equal(0, e.Uid);
            Assert.Equal(0, e.Gid);
            Assert.Equal("", e.UserName);
            Assert.Equal("", e.GroupName);
        });
    }

    [Fact]
    public void The_release_is_all_there_with_its_modes()
    {
        var entries = Read(Tar()).ToDictionary(e => e.Name);
        Assert.Equal(TarEntryType.Directory, entries["bin/"].Type);
        Assert.Equal("#!/bin/sh\n", entries["bin/kv"].Text);
        Assert.Equal(ReleasePlan.Executable, entries["bin/kv"].Mode);
        Assert.Equal(ReleasePlan.Executable, entries["runtime/dotnet"].Mode);
        Assert.Equal(ReleasePlan.Regular, entries["lib/kv-0.1.0/Kv.dll"].Mode);
        Assert.Equal("app", entries["lib/kv-0.1.0/Kv.dll"].Text);
        Assert.Equal("0.1.0\n", entries["releases/start.data"].Text);
        Assert.True(entries.ContainsKey("releases/0.1.0/release.json"));
        Assert.All(entries.Keys, n => Assert.False(n.StartsWith('/') || n.Contains(".."), n));
    }

    [Fact]
    public void Tmp_and_the_cookie_stay_out()
    {
        var names = Read(Tar()).Select(e => e.Name).ToList();
        Assert.DoesNotContain("releases/COOKIE", names);
        Assert.DoesNotContain(names, n => n == "tmp/" || n.StartsWith("tmp/", StringComparison.Ordinal));
        Assert.Contains("releases/start.data", names); // the neighbour of the cookie is still there
    }

    [Fact]
    public void Symlinks_are_kept_as_links()
    {
        var link = Read(Tar()).Single(e => e.Name == "lib/kv-0.1.0/Kv.runtimeconfig.json");
        Assert.Equal(TarEntryType.SymbolicLink, link.Type);
        Assert.Equal("../../releases/0.1.0/kv.runtimeconfig.json", link.LinkName);
    }

    [Fact]
    public void The_tarball_extracts_with_tar()
    {
        var tarball = Tar();
        var into = _dir.Combine("extracted");
        Directory.CreateDirectory(into);
        Posix.Run("tar", ["-xzf", tarball, "-C", into]);
        Assert.Equal("#!/bin/sh\n", File.ReadAllText(Path.Combine(into, "bin/kv")));
        Assert.Equal("755", Posix.OctalMode(Path.Combine(into, "bin/kv")));
        Assert.Equal("{}\n", File.ReadAllText(Path.Combine(into, "lib/kv-0.1.0/Kv.runtimeconfig.json")));
    }

    [Fact]
    public void The_sha256_file_is_in_sha256sum_format_and_matches()
    {
        var tarball = Tar();
        var line = File.ReadAllText(tarball + ".sha256");
        Assert.Matches("^[0-9a-f]{64}  kv-0\\.1\\.0\\.tar\\.gz\n$", line);
        Assert.Equal(FileHashes.Compute(tarball), line[..64]);
        // and sha256sum itself agrees, run where a user would run it
        Assert.Contains("OK", Posix.Run("sha256sum", ["-c", Path.GetFileName(tarball) + ".sha256"], workingDirectory: Path.GetDirectoryName(tarball)));
    }

    [Fact]
    public void An_unchanged_release_does_not_rewrite_the_tarball()
    {
        var tarball = Tar();
        var before = Posix.Snapshot(Path.GetDirectoryName(tarball)!);

        Tar();

        Assert.Equal(before, Posix.Snapshot(Path.GetDirectoryName(tarball)!)); // same inode and ns mtime: not rewritten
    }

    [Fact]
    public void A_tarball_changed_by_hand_is_written_again()
    {
        var tarball = Tar();
        var good = File.ReadAllBytes(tarball);
        File.WriteAllText(tarball, "truncated");

        Tar();

        Assert.Equal(good, File.ReadAllBytes(tarball));
    }

    [Fact]
    public void A_changed_manifest_rewrites_the_tarball()
    {
        var tarball = Tar();
        Write("releases/0.1.0/release.json", """{ "name": "kv", "files": [ "changed" ] }""", ReleasePlan.Regular);
        Write("bin/kv", "#!/bin/sh\necho v2\n", ReleasePlan.Executable);

        Tar();

        Assert.Equal("#!/bin/sh\necho v2\n", Read(tarball).Single(e => e.Name == "bin/kv").Text);
        Assert.Equal(FileHashes.Compute(tarball), File.ReadAllText(tarball + ".sha256")[..64]);
    }

    [Fact]
    public void A_deleted_tarball_is_written_again()
    {
        var tarball = Tar();
        File.Delete(tarball);
        Tar();
        Assert.True(File.Exists(tarball));
    }

    [Fact]
    public void No_temporary_file_is_left_beside_the_tarball()
    {
        var tarball = Tar();
        var names = Directory.EnumerateFiles(Path.GetDirectoryName(tarball)!).Select(Path.GetFileName).ToList();
        Assert.Contains("kv-0.1.0.tar.gz", names);
        Assert.Contains("kv-0.1.0.tar.gz.sha256", names);
        Assert.DoesNotContain(names, n => n!.Contains(".tmp", StringComparison.Ordinal));
    }
}
