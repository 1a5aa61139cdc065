using System.Text.RegularExpressions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>"Verify.App": the probe console app released as verify-app 0.3.0, for verify and install.</summary>
public sealed class VerifyReleaseFixture : IDisposable
{
    public const string Name = "verify-app";
    public const string Version = "0.3.0";

    public TestApp App { get; }
    public InstalledRelease Release { get; }

    public VerifyReleaseFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "console", "Verify.App");
        App.CopyAsset("Probe/Program.cs", "Program.cs");
        App.SetProjectXml("""
              <PropertyGroup>
                <Version>0.3.0</Version>
                <ReleaseSteps>assemble</ReleaseSteps>
              </PropertyGroup>
            """);
        App.Publish().ShouldSucceed();
        Release = App.Release(Name);
    }

    public void Dispose() => App.Dispose();
}

/// <summary>
/// bin/NAME verify on a real release (its runtime included), and bin/NAME install/uninstall writing
/// systemd units that systemd-analyze accepts. Tests that change the release change a copy of it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class InstallAndVerifyTests(VerifyReleaseFixture fixture) : IClassFixture<VerifyReleaseFixture>, IDisposable
{
    private const string Name = VerifyReleaseFixture.Name;
    private const string Version = VerifyReleaseFixture.Version;
    private readonly List<string> _dirs = [];

    private InstalledRelease Release => fixture.Release;

    public void Dispose()
    {
        Release.StopEverything();
        foreach (var dir in _dirs.Where(Directory.Exists)) Directory.Delete(dir, recursive: true);
    }

    private string NewDir(string name)
    {
        var dir = Path.Combine(fixture.App.Root, $"{name}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(dir);
        _dirs.Add(dir);
        return dir;
    }

    /// <summary>cp -a of the release into "copy with space/verify-app", as an operator would install it.</summary>
    private InstalledRelease Copy()
    {
        var target = Path.Combine(NewDir("copy with space"), Name);
        ProcessRunner.Run("cp", ["-a", Release.Root, target]).ShouldSucceed();
        return new InstalledRelease(target, Name);
    }

    [Fact]
    public void Verify_AFreshRelease_IsIntact()
    {
        var result = Release.Run("verify").ShouldSucceed();
        Assert.Matches(new Regex($"^{Name} {Regex.Escape(Version)}: [0-9]+ files intact\n$"), result.StdOut);
        var count = int.Parse(Regex.Match(result.StdOut, "([0-9]+) files").Groups[1].Value);
        Assert.True(count > 100, $"only {count} files checked: the runtime should be among them\n{result}");
    }

    [Fact]
    public void Verify_NamesTheChangedTheMissingAndTheUnexpectedFile()
    {
        var copy = Copy();
        var dll = Path.Combine(copy.Root, "lib", $"{Name}-{Version}", "Verify.App.dll");
        var bytes = File.ReadAllBytes(dll);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(dll, bytes);
        var runtimeConfig = Path.Combine("releases", Version, $"{Name}.runtimeconfig.json");
        File.Delete(Path.Combine(copy.Root, runtimeConfig));
        File.WriteAllText(Path.Combine(copy.Root, "lib", $"{Name}-{Version}", "dropped.dll"), "not built");
        Directory.CreateDirectory(Path.Combine(copy.Root, "tmp", "log"));
        File.WriteAllText(Path.Combine(copy.Root, "tmp", "log", $"{Name}.log"), "tmp/ is the operator's: not reported\n");

        var result = copy.Run("verify").ShouldFail(1);
        var lines = result.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal(
        [
            $"changed: lib/{Name}-{Version}/Verify.App.dll (sha256)",
            $"missing: {runtimeConfig}",
            $"unexpected: lib/{Name}-{Version}/dropped.dll",
        ], lines[..^1]);
        Assert.Matches(new Regex($"^{Name} {Regex.Escape(Version)}: 3 problems in [0-9]+ files \\(1 changed, 1 missing, 1 unexpected\\)$"), lines[^1]);
    }

    [Fact]
    public void Install_WritesAServiceUnitThatSystemdAnalyzeAccepts()
    {
        var units = NewDir("units");
        var result = Release.Run("install", "--unit-dir", units, "--user", "root").ShouldSucceed();
        var service = Path.Combine(units, $"{Name}.service");
        Assert.Contains($"* wrote {service}", result.StdOut);
        Assert.Contains($"next: systemctl daemon-reload && systemctl enable --now {Name}.service", result.StdOut);
        Assert.Equal([$"{Name}.service"], Directory.GetFiles(units).Select(Path.GetFileName));

        var text = File.ReadAllText(service);
        Assert.Contains($"ExecStart=\"{Release.Root}/bin/{Name}\" supervise\n", text);
        Assert.Contains("Type=notify\n", text);
        Assert.Contains("User=root\n", text);
        Assert.DoesNotContain("MemoryDenyWriteExecute", text);
        AssertSystemdAccepts(service);
    }

    [Fact]
    public void Install_WithDeclaredSocketsInARootWithASpace_WritesSocketUnitsSystemdAnalyzeAccepts()
    {
        var copy = Copy();
        File.WriteAllText(Path.Combine(copy.Root, "releases", Version, "sockets"),
            "http\t127.0.0.1:${VERIFY_PORT:-8080}\tkestrel\nadmin\tunix:/run/verify-app/admin.sock\traw\n");
        var units = NewDir("units");
        copy.Run(new Dictionary<string, string?> { ["VERIFY_PORT"] = "18080" }, "install", "--unit-dir", units, "--user", "root").ShouldSucceed();

        Assert.Equal([$"{Name}-admin.socket", $"{Name}.service", $"{Name}.socket"], Directory.GetFiles(units).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var socket = File.ReadAllText(Path.Combine(units, $"{Name}.socket"));
        Assert.Contains("ListenStream=127.0.0.1:18080\n", socket);
        Assert.Contains("FileDescriptorName=http\n", socket);
        Assert.Contains("SocketMode=0600\n", File.ReadAllText(Path.Combine(units, $"{Name}-admin.socket")));
        Assert.Contains($"Requires={Name}.socket {Name}-admin.socket\n", File.ReadAllText(Path.Combine(units, $"{Name}.service")));
        AssertSystemdAccepts(Path.Combine(units, $"{Name}.service"), Path.Combine(units, $"{Name}.socket"), Path.Combine(units, $"{Name}-admin.socket"));

        // A required variable that is not set: one line, nothing written.
        File.WriteAllText(Path.Combine(copy.Root, "releases", Version, "sockets"), "http\t127.0.0.1:${VERIFY_PORT:?set VERIFY_PORT}\tkestrel\n");
        var units2 = NewDir("units");
        var failed = copy.Run("install", "--unit-dir", units2).ShouldFail(1);
        Assert.Equal("socket http: VERIFY_PORT: set VERIFY_PORT\n", failed.StdErr);
        Assert.Empty(Directory.GetFiles(units2));
    }

    [Fact]
    public void Install_Print_WritesTheUnitsToStdoutAndNothingToDisk()
    {
        var units = NewDir("units");
        var result = Release.Run("install", "--print", "--unit-dir", units).ShouldSucceed();
        Assert.StartsWith($"# {Path.Combine(units, $"{Name}.service")}\n# Written by Relcraft: ", result.StdOut);
        Assert.Contains("[Service]\n", result.StdOut);
        Assert.Empty(Directory.GetFileSystemEntries(units));
    }

    [Fact]
    public void Uninstall_RemovesWhatInstallWrote_AndRefusesAUnitItDidNotWrite()
    {
        var units = NewDir("units");
        Release.Run("install", "--unit-dir", units).ShouldSucceed();
        Release.Run("uninstall", "--unit-dir", units).ShouldSucceed();
        Assert.Empty(Directory.GetFileSystemEntries(units));
        Release.Run("uninstall", "--unit-dir", units).ShouldFail(1);

        var foreign = Path.Combine(units, $"{Name}.service");
        File.WriteAllText(foreign, "[Service]\nExecStart=/bin/true\n");
        Assert.Equal($"{foreign} was not written by Relcraft for {Release.Root}: not touching it\n", Release.Run("uninstall", "--unit-dir", units).ShouldFail(1).StdErr);
        Release.Run("install", "--unit-dir", units).ShouldFail(1);
        Assert.Equal("[Service]\nExecStart=/bin/true\n", File.ReadAllText(foreign));
    }

    [Fact]
    public void Install_WithABadArgument_PrintsItsUsageAndExits2()
    {
        var result = Release.Run("install", "--users", "root").ShouldFail(2);
        Assert.Equal($"unknown argument '--users'; usage: {Name} install [--user USER[:GROUP]] [--unit-dir DIR] [--print]\n", result.StdErr);
    }

    /// <summary>systemd-analyze verify prints nothing about the units (it checks ExecStart= exists and User= is known; no systemd as PID 1 needed).</summary>
    private static void AssertSystemdAccepts(params string[] units)
    {
        var result = ProcessRunner.Run("systemd-analyze", ["verify", .. units]);
        Assert.True(result.ExitCode == 0 && result.Output.Trim().Length == 0, $"systemd-analyze verify complained\n{result}\n{string.Join("\n", units.Select(File.ReadAllText))}");
    }
}
