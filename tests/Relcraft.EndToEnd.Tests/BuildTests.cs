using System.Text.Json;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// How builds make, keep and refuse releases, on one console app (<see cref="ScratchAppFixture"/>) whose
/// project each test rewrites first; tests that keep a release apart give it its own ReleasePath.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class BuildTests(ScratchAppFixture fixture) : IClassFixture<ScratchAppFixture>, IDisposable
{
    private const string Name = ScratchAppFixture.Name;
    private readonly List<InstalledRelease> _releases = [];
    private TestApp App => fixture.App;

    private InstalledRelease Release(string? directory = null, bool hideDotnet = true)
    {
        var release = new InstalledRelease(directory ?? App.ReleaseDir(Name), Name, hideDotnet);
        _releases.Add(release);
        return release;
    }

    public void Dispose()
    {
        foreach (var release in _releases) release.StopEverything();
    }

    private const string Overlay = """
          <ItemGroup>
            <ReleaseOverlay Include="extra/notes.txt" Destination="etc/notes.txt" />
          </ItemGroup>
        """;

    [Fact]
    public void Republish_WithNothingChanged_LeavesEveryFileUntouched()
    {
        App.WriteFile("extra/notes.txt", "an overlay\n");
        App.SetProjectXml(Overlay);
        App.Publish().ShouldSucceed();
        var before = Files.Mtimes(App.ReleaseDir(Name));

        App.Publish().ShouldSucceed();
        var after = Files.Mtimes(App.ReleaseDir(Name));
        Assert.Equal(before.Keys, after.Keys);
        var touched = before.Where(f => after[f.Key] != f.Value).Select(f => f.Key).ToList();
        Assert.True(touched.Count == 0, "rewritten by a publish with nothing changed:\n" + string.Join("\n", touched));
    }

    [Fact]
    public void Overlay_RemovedFromTheProject_IsRemovedFromTheRelease_AndTheCookieIsKept()
    {
        App.WriteFile("extra/notes.txt", "an overlay\n");
        App.SetProjectXml(Overlay);
        App.Publish().ShouldSucceed();
        var notes = Path.Combine(App.ReleaseDir(Name), "etc", "notes.txt");
        Assert.Equal("an overlay\n", File.ReadAllText(notes));
        var cookie = File.ReadAllText(Path.Combine(App.ReleaseDir(Name), "releases", "COOKIE"));

        App.SetProjectXml();
        App.Publish().ShouldSucceed();
        Assert.False(File.Exists(notes), "etc/notes.txt survived the removal of its ReleaseOverlay item");
        Assert.Equal(cookie, File.ReadAllText(Path.Combine(App.ReleaseDir(Name), "releases", "COOKIE")));
    }

    [Fact]
    public void FailedAssembly_LeavesTheExistingReleaseWorkingAndUnchanged()
    {
        App.SetProjectXml("<PropertyGroup><ReleaseTemplatesPath>rel-broken/</ReleaseTemplatesPath></PropertyGroup>");
        var template = App.WriteFile("rel-broken/env.sh.template", "export GOOD=1\n");
        App.Publish().ShouldSucceed();
        var release = Release();
        var before = Files.List(release.Root).ToDictionary(f => f, f => Files.Sha256(Path.Combine(release.Root, f)));
        var mtimes = Files.Mtimes(release.Root);

        // A change to the app plus a broken template: the build compiles, then assembly fails.
        File.WriteAllText(template, "export BAD={{NOPE}}\n");
        File.AppendAllText(Path.Combine(App.Dir, "Program.cs"), "\n// changed\n");
        try
        {
            var failed = App.Publish().ShouldFail();
            Assert.Contains("RELCRAFT1011", failed.Output);
        }
        finally
        {
            File.WriteAllText(Path.Combine(App.Dir, "Program.cs"), File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Assets", "Probe", "Program.cs")));
        }

        var after = Files.List(release.Root).ToDictionary(f => f, f => Files.Sha256(Path.Combine(release.Root, f)));
        Assert.Equal(before, after);
        Assert.Equal(mtimes, Files.Mtimes(release.Root));
        release.Run("daemon").ShouldSucceed();
        var pid = release.Pid();
        Assert.True(pid is not null && Processes.IsAlive(pid.Value), release.Log());
        release.Run("stop").ShouldSucceed();
    }

    [Fact]
    public void ReleaseInit_WritesTemplates_AndOverwritesOnlyWhenForced()
    {
        var rel = Path.Combine(App.Dir, "rel");
        if (Directory.Exists(rel)) Directory.Delete(rel, recursive: true);
        App.SetProjectXml();
        try
        {
            App.Dotnet("msbuild", "-t:ReleaseInit").ShouldSucceed();
            foreach (var file in new[] { "env.sh.template", "env.bat.template", "runtime.json", "overlays/README.md" })
                Assert.True(File.Exists(Path.Combine(rel, file)), $"ReleaseInit did not write rel/{file}");

            File.AppendAllText(Path.Combine(rel, "env.sh.template"), "# edited by the user\n");
            var again = App.Dotnet("msbuild", "-t:ReleaseInit").ShouldFail();
            Assert.Contains("RELCRAFT1014", again.Output);
            Assert.Contains("# edited by the user", File.ReadAllText(Path.Combine(rel, "env.sh.template")));

            App.Dotnet("msbuild", "-t:ReleaseInit", "-p:Force=true").ShouldSucceed();
            Assert.DoesNotContain("# edited by the user", File.ReadAllText(Path.Combine(rel, "env.sh.template")));
        }
        finally
        {
            if (Directory.Exists(rel)) Directory.Delete(rel, recursive: true);
        }
    }

    [Fact]
    public void PlainBuildAndPublish_MakeNoRelease()
    {
        App.SetProjectXml();
        var bin = Path.Combine(App.Dir, "bin");
        foreach (var stray in Directory.GetDirectories(bin, "rel*")) Directory.Delete(stray, recursive: true);

        Assert.DoesNotContain("assembling", App.Dotnet("build").ShouldSucceed().Output);
        Assert.DoesNotContain("assembling", App.Dotnet("publish").ShouldSucceed().Output);
        Assert.Empty(Directory.GetDirectories(App.Dir, "rel", SearchOption.AllDirectories));
    }

    [Fact]
    public void ReleaseItems_TheFirstIsTheDefault_AndReleaseNamePicksAnother()
    {
        App.SetProjectXml("""
              <ItemGroup>
                <Release Include="alpha" />
                <Release Include="beta" Version="2.0.0" Steps="assemble;tar" />
              </ItemGroup>
            """);
        foreach (var stale in new[] { "alpha", "beta" }.Select(App.ReleaseDir).Where(Directory.Exists)) Directory.Delete(stale, recursive: true);

        var first = App.Publish("true").ShouldSucceed();
        Assert.Contains("* assembling alpha-1.0.0 (linux-x64)", first.Output);
        Assert.True(Directory.Exists(App.ReleaseDir("alpha")));
        Assert.False(Directory.Exists(App.ReleaseDir("beta")), "-p:Release=true assembled a release that is not the default");

        var second = App.Publish("beta").ShouldSucceed();
        Assert.Contains("* assembling beta-2.0.0 (linux-x64)", second.Output);
        var beta = new InstalledRelease(App.ReleaseDir("beta"), "beta");
        _releases.Add(beta);
        Assert.Equal("beta 2.0.0\n", beta.Run("version").ShouldSucceed().StdOut);
        Assert.True(File.Exists(Path.Combine(App.Dir, "bin", "rel", "beta-2.0.0.tar.gz")), "Steps=\"assemble;tar\" metadata wrote no tarball");
        Assert.False(File.Exists(Path.Combine(App.Dir, "bin", "rel", "alpha-1.0.0.tar.gz")), "alpha has no tar step");
    }

    [Fact]
    public void IncludeRuntimeFalse_LeavesTheRuntimeOut_AndRunsOnTheMachinesDotnet()
    {
        App.SetProjectXml();
        var path = Path.Combine(App.Dir, "bin", "rel-system", Name);
        App.Publish("true", "-p:ReleaseIncludeRuntime=false", $"-p:ReleasePath={path}/").ShouldSucceed();
        Assert.False(Directory.Exists(Path.Combine(path, "runtime")), "ReleaseIncludeRuntime=false still bundled runtime/");

        var release = Release(path, hideDotnet: false);
        var seen = ProbeOutput.Parse(release.Run("start", "once").ShouldSucceed().StdOut);
        Assert.StartsWith(InstalledRelease.MachineDotnetRoot + "/shared/Microsoft.NETCore.App/", seen["corelib"]);
        release.Run("daemon").ShouldSucceed();
        var pid = release.Pid();
        Assert.True(pid is not null && Processes.IsAlive(pid.Value), release.Log());
        release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid!.Value));

        // Without a dotnet on the machine, it says what is missing instead of failing obscurely.
        var bare = Release(path);
        var missing = bare.Run("start", "once").ShouldFail();
        Assert.Contains("ReleaseIncludeRuntime=false", missing.StdErr);
    }

    [Fact]
    public void CrossRid_LinuxArm64_BundlesAnArm64Runtime()
    {
        App.SetProjectXml();
        var path = Path.Combine(App.Dir, "bin", "rel-arm64", Name);
        var result = App.Publish("true", "-r", "linux-arm64", $"-p:ReleasePath={path}/").ShouldSucceed();
        Assert.Contains($"* assembling {Name}-1.0.0 (linux-arm64)", result.Output);

        var coreclr = Path.Combine(Files.SingleDirectory(Path.Combine(path, "runtime", "shared", "Microsoft.NETCore.App")), "libcoreclr.so");
        var header = File.ReadAllBytes(coreclr).AsSpan(0, 20).ToArray();
        Assert.Equal("\x7F" + "ELF", System.Text.Encoding.ASCII.GetString(header, 0, 4));
        Assert.Equal(0xB7, BitConverter.ToUInt16(header, 18)); // e_machine: EM_AARCH64

        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(path, "releases", "1.0.0", "release.json")));
        Assert.Equal("linux-arm64", manifest.RootElement.GetProperty("rid").GetString());

        // The tools run inside and beside the arm64 app: every ReadyToRun image among them is arm64 code
        // (an x64 one is a BadImageFormatException there), and the .NET 10 agent is precompiled.
        var tools = Assert.Single(Directory.GetDirectories(Path.Combine(path, "lib"), "relcraft-*"));
        var images = Directory.GetFiles(tools, "*.dll");
        Assert.All(images, f => Assert.True(!IsReadyToRun(f) || ReadyToRunMachine(f) == Arm64, $"{f} is a ReadyToRun image for another architecture"));
        Assert.True(IsReadyToRun(Path.Combine(tools, "Relcraft.Agent.dll")), "Relcraft.Agent.dll is not ReadyToRun in the linux-arm64 release");
        Assert.Equal(0xB7, BitConverter.ToUInt16(File.ReadAllBytes(Path.Combine(tools, "Relcraft.Launcher")).AsSpan(18, 2))); // its apphost: arm64
        Assert.Equal(0xB7, BitConverter.ToUInt16(File.ReadAllBytes(Path.Combine(tools, "relcraft")).AsSpan(18, 2))); // the native launcher: arm64

        // …and the build machine's own RID gets x64 ones (so the checks above can tell them apart).
        var x64Release = Path.Combine(App.Dir, "bin", "rel-x64", Name);
        App.Publish("true", "-r", "linux-x64", $"-p:ReleasePath={x64Release}/").ShouldSucceed();
        var x64Tools = Assert.Single(Directory.GetDirectories(Path.Combine(x64Release, "lib"), "relcraft-*"));
        Assert.True(IsReadyToRun(Path.Combine(x64Tools, "Relcraft.Agent.dll")), "the linux-x64 release's agent is not ReadyToRun");
        Assert.Equal(X64, ReadyToRunMachine(Path.Combine(x64Tools, "Relcraft.Agent.dll")));
        Assert.Equal(0x3E, BitConverter.ToUInt16(File.ReadAllBytes(Path.Combine(x64Tools, "relcraft")).AsSpan(18, 2))); // EM_X86_64
    }

    // A ReadyToRun image's COFF machine is the architecture XOR an OS tag (0x7B79 for Linux).
    private const ushort Arm64 = 0xAA64 ^ 0x7B79, X64 = 0x8664 ^ 0x7B79;

    private static ushort ReadyToRunMachine(string assembly)
    {
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(assembly));
        return (ushort)pe.PEHeaders.CoffHeader.Machine;
    }

    private static bool IsReadyToRun(string assembly)
    {
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(assembly));
        return pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }
}
