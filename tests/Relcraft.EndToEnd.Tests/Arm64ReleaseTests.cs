using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// A linux-arm64 release of `dotnet new web`, run for real on this x64 machine under qemu-user
/// (build/arm64-emulation.sh registers it with binfmt_misc), with the machine's .NET hidden and from
/// a working directory that is not the release root: daemon, HTTP, rpc, stop.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class Arm64ReleaseTests(Arm64WebReleaseFixture fixture) : IClassFixture<Arm64WebReleaseFixture>, IDisposable
{
    private const ushort EM_AARCH64 = 0xB7;
    private const string BinfmtEntry = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
    /// <summary>What build/arm64-emulation.sh installs (multiarch libc6:arm64, libssl3:arm64): libc, and OpenSSL for the control channel.</summary>
    private static readonly string[] Arm64Libraries = ["/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libssl.so.3"];

    private InstalledRelease Release => fixture.Release;

    public void Dispose() => Release.StopEverything();

    [Fact]
    public void Layout_AppAndRuntimeAreAarch64()
    {
        var app = Path.Combine(Release.Root, "lib", $"{Arm64WebReleaseFixture.Name}-1.0.0", "Arm64.Web");
        Assert.True(IsAarch64Elf(app), $"{app}: {(File.Exists(app) ? $"e_machine 0x{ElfMachine(app):X}, not aarch64" : "missing")}");

        // The supervisor's own apphost (a cross-RID release has no dotnet muxer).
        var supervisor = Path.Combine(Assert.Single(Directory.GetDirectories(Path.Combine(Release.Root, "lib"), "relcraft-*")), "Relcraft.Launcher");
        Assert.True(IsAarch64Elf(supervisor), $"{supervisor}: {(File.Exists(supervisor) ? $"e_machine 0x{ElfMachine(supervisor):X}, not aarch64" : "missing")}");

        // The native launcher: every command but start's app runs without starting a runtime.
        var native = Path.Combine(Path.GetDirectoryName(supervisor)!, "relcraft");
        Assert.True(IsAarch64Elf(native), $"{native}: {(File.Exists(native) ? $"e_machine 0x{ElfMachine(native):X}, not aarch64" : "missing")}");

        var runtime = Path.Combine(Release.Root, "runtime");
        var elves = Directory.EnumerateFiles(runtime, "*", SearchOption.AllDirectories)
            .Where(f => !new FileInfo(f).Attributes.HasFlag(FileAttributes.ReparsePoint) && ElfMachine(f) is not null)
            .ToList();
        Assert.Contains(elves, f => Path.GetFileName(f) == "libcoreclr.so");
        Assert.Contains(elves, f => Path.GetFileName(f) == "libhostfxr.so");
        Assert.All(elves, f => Assert.True(ElfMachine(f) == EM_AARCH64, $"{f}: e_machine 0x{ElfMachine(f):X}, not aarch64"));
    }

    [Fact]
    public async Task DaemonRpcStop_RunUnderEmulation()
    {
        RequireEmulation();
        var port = Processes.FreeTcpPort();
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            // Removed, whatever the caller's shell has: the multiarch libraries need none, and
            // QEMU_LD_PREFIX=/usr/aarch64-linux-gnu (the cross libraries) would hang .NET at startup.
            ["QEMU_LD_PREFIX"] = null,
            // W^X makes the JIT write code through a second mapping; qemu does not see the write and
            // runs stale translated code (Kestrel then fails at startup, now and then).
            ["DOTNET_EnableWriteXorExecute"] = "0",
            // Emulated .NET starts, JITs and stops many times slower than native (minutes on a loaded
            // machine): upper bounds only, the launcher returns as soon as it is done.
            ["RELEASE_START_TIMEOUT"] = "600",
            ["RELEASE_RPC_TIMEOUT"] = "600",
            ["RELEASE_STOP_TIMEOUT"] = "120",
        };

        Release.Run(env, "daemon").ShouldSucceed();
        var pid = Release.Pid();
        Assert.True(pid is not null && Processes.IsAlive(pid.Value), $"no running app after daemon returned\n{Release.Log()}");

        // The supervisor is the native arm64 launcher, not a runtime running Relcraft.Launcher.dll.
        Assert.Contains("/relcraft supervise", Processes.CommandLine(Processes.Parent(pid!.Value)));

        // No retry: when daemon has returned, the app must already answer.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(300) })
            Assert.Equal("Hello World!", await http.GetStringAsync($"http://127.0.0.1:{port}/"));

        // A static member chain (the agent's reflection fast path, no Roslyn), evaluated inside the running app.
        var arch = Release.Run(env, "rpc", "System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture").ShouldSucceed();
        Assert.Equal("Arm64", arch.StdOut.Trim());

        Release.Run(env, "stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid!.Value), $"pid {pid} still running after stop returned");
        Assert.True(Poll.Until(() => Processes.Mentioning(Release.Root).Count == 0, TimeSpan.FromSeconds(60)),
            $"processes of the release still running after stop: {string.Join(", ", Processes.Mentioning(Release.Root).Select(p => $"{p} {Processes.CommandLine(p)}"))}");
    }

    /// <summary>Fails (never skips) when this machine cannot run arm64 binaries.</summary>
    private static readonly Lazy<RunResult?> SetUp = new(() =>
    {
        // As root (CI, this kind of machine) the suite sets emulation up itself, so the README's
        // `dotnet test` passes on a fresh machine; otherwise it says what to run.
        if (Ready() || Environment.UserName != "root") return null;
        var script = Path.Combine(PackedSdk.FindRepoRoot(), "build", "arm64-emulation.sh");
        return ProcessRunner.Run("sh", [script], timeout: TimeSpan.FromMinutes(10));
    });

    private static bool Ready() =>
        File.Exists(BinfmtEntry) && File.ReadAllText(BinfmtEntry).StartsWith("enabled", StringComparison.Ordinal) && Arm64Libraries.All(File.Exists);

    private static void RequireEmulation()
    {
        var setUp = SetUp.Value;
        Assert.True(setUp is null || setUp.ExitCode == 0, $"build/arm64-emulation.sh failed\n{setUp}");
        Assert.True(File.Exists(BinfmtEntry),
            $"linux-arm64 emulation is not set up: no {BinfmtEntry}. Run build/arm64-emulation.sh as root (.ci/run does).");
        Assert.True(File.ReadAllText(BinfmtEntry).StartsWith("enabled", StringComparison.Ordinal),
            $"{BinfmtEntry} is disabled. Run build/arm64-emulation.sh as root.");
        foreach (var library in Arm64Libraries)
            Assert.True(File.Exists(library), $"no {library} (arm64 libraries). Run build/arm64-emulation.sh as root.");
    }

    private static bool IsAarch64Elf(string path) => File.Exists(path) && ElfMachine(path) == EM_AARCH64;

    /// <summary>e_machine of a 64-bit little-endian ELF file, or null when the file is not one.</summary>
    private static ushort? ElfMachine(string path)
    {
        var header = new byte[20];
        using (var file = File.OpenRead(path))
            if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length) return null;
        if (header[0] != 0x7F || header[1] != 'E' || header[2] != 'L' || header[3] != 'F' || header[4] != 2 || header[5] != 1) return null;
        return BitConverter.ToUInt16(header, 18);
    }
}
