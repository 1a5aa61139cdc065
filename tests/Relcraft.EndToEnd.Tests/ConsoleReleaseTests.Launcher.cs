using System.Diagnostics;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

public sealed partial class ConsoleReleaseTests
{
    private static Dictionary<string, string?> Env(params (string Name, string Value)[] values) =>
        values.ToDictionary(v => v.Name, v => (string?)v.Value);

    /// <summary>daemon, then the pid it wrote (after checking it names a live process).</summary>
    private int Daemon(InstalledRelease release, IReadOnlyDictionary<string, string?>? env = null, string? node = null, params string[] args)
    {
        release.Run(env, ["daemon", .. args]).ShouldSucceed();
        var pid = release.Pid(node);
        Assert.True(pid is not null, $"daemon returned 0 but wrote no pid file {release.PidFile(node)}");
        Assert.True(Processes.IsAlive(pid.Value), $"daemon returned 0 but pid {pid} is not running\n{release.Log(node)}");
        return pid.Value;
    }

    private static void AssertGoneNow(int pid) =>
        Assert.False(Processes.IsAlive(pid), $"pid {pid} is still running (state {Processes.State(pid)}) after stop returned");

    [Fact]
    public void Start_ExecsTheApp_WhichKeepsTheLaunchersPidAndGetsTheArguments()
    {
        using var app = Release.Begin(null, "start", "serve", "two words");
        var printed = int.Parse(app.WaitForLine("pid=")["pid=".Length..]);
        Assert.Equal(app.Id, printed);
        Assert.Equal("args=serve|two words", app.WaitForLine("args="));
        Assert.Equal(app.Id, Release.Pid());

        Release.Run("stop").ShouldSucceed();
        Assert.True(app.WaitForExit(TimeSpan.FromSeconds(10)), "the app did not exit after stop");
        Assert.Contains("stopping gracefully", app.Output);
    }

    [Fact]
    public void Start_AppSeesTheReleaseEnvironment()
    {
        var seen = ProbeOutput.Parse(Release.Run("start", "once").ShouldSucceed().StdOut);
        Assert.Equal(Root, seen["env:RELEASE_ROOT"]);
        Assert.Equal(Name, seen["env:RELEASE_NAME"]);
        Assert.Equal(Version, seen["env:RELEASE_VSN"]);
        Assert.Equal(Name, seen["env:RELEASE_NODE"]);
        Assert.Equal(Release.Tmp, seen["env:RELEASE_TMP"]);
        Assert.Equal("start", seen["env:RELEASE_COMMAND"]);
        Assert.Equal("yes", seen["env:FROM_ENV_SH"]);
        Assert.Equal("from project", seen["env:FROM_RELEASE_ENV"]);
    }

    [Fact]
    public void EnvSh_IsSourcedWithTheCommandAndItsArguments()
    {
        var seen = ProbeOutput.Parse(Release.Run("start", "once", "two words").ShouldSucceed().StdOut);
        Assert.Equal("start once two words", seen["env:ENV_SH_ARGS"]);
    }

    /// <summary>The launcher run from another working directory.</summary>
    private RunResult RunFrom(string directory, params string[] args) =>
        new InstalledRelease(Root, Name) { WorkingDirectory = directory }.Run(args);

    [Fact]
    public void FromAnyWorkingDirectory_TheAppKeepsItAndItsContentRootIsTheAppFolder()
    {
        var elsewhere = Directory.CreateTempSubdirectory("relcraft-cwd-").FullName;
        try
        {
            foreach (var dir in new[] { elsewhere, "/" })
            {
                var seen = ProbeOutput.Parse(RunFrom(dir, "start", "once", "data/input.txt").ShouldSucceed().StdOut);
                Assert.Equal(dir, seen["cwd"]);
                // A relative path the operator passes still means what it meant where they typed it.
                Assert.Equal(Path.Combine(dir, "data/input.txt"), seen["fullpath:args[1]"]);
                Assert.Equal(Path.Combine(Root, "lib", $"{Name}-{Version}"), seen["env:DOTNET_CONTENTROOT"]);
            }

            RunFrom(elsewhere, "daemon").ShouldSucceed();
            var pid = Release.Pid();
            Assert.True(pid is not null && Processes.IsAlive(pid.Value), Release.Log());
            Assert.Equal($"{pid}", RunFrom("/", "pid").ShouldSucceed().StdOut.Trim());
            RunFrom("/", "stop").ShouldSucceed();
            AssertGoneNow(pid!.Value);
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public void ContentRoot_AnExplicitOneFromTheOperatorWins()
    {
        var seen = ProbeOutput.Parse(Release.Run(Env(("ASPNETCORE_CONTENTROOT", "/srv/web")), "start", "once").ShouldSucceed().StdOut);
        Assert.Equal("/srv/web", seen["env:ASPNETCORE_CONTENTROOT"]);
        Assert.Equal("", seen["env:DOTNET_CONTENTROOT"]); // would override ASPNETCORE_CONTENTROOT in WebApplication
        seen = ProbeOutput.Parse(Release.Run(Env(("DOTNET_CONTENTROOT", "/srv/app")), "start", "once").ShouldSucceed().StdOut);
        Assert.Equal("/srv/app", seen["env:DOTNET_CONTENTROOT"]);
    }

    [Fact]
    public void ReleaseEnv_IsOverriddenByTheOperatorsEnvironment()
    {
        var seen = ProbeOutput.Parse(Release.Run(Env(("FROM_RELEASE_ENV", "from operator")), "start", "once").ShouldSucceed().StdOut);
        Assert.Equal("from operator", seen["env:FROM_RELEASE_ENV"]);
    }

    [Fact]
    public void Start_RunsOnTheBundledRuntimeWithTheReleasesRuntimeConfig()
    {
        var seen = ProbeOutput.Parse(Release.Run("start", "once").ShouldSucceed().StdOut);
        Assert.StartsWith(RelPath("runtime/shared/Microsoft.NETCore.App/"), seen["corelib"]);
        Assert.Equal("from-runtimeconfig", seen["appcontext:Relcraft.E2E.Marker"]);
    }

    [Fact]
    public void Daemon_Pid_Status_Stop()
    {
        var pid = Daemon(Release, null, null, "serve");
        Assert.True(File.Exists(Release.LogFile()), "daemon wrote no tmp/log/NAME.log");
        Assert.True(Poll.Until(() => Release.Log().Contains("serving"), TimeSpan.FromSeconds(10)), Release.Log());

        Assert.Equal($"{pid}", Release.Run("pid").ShouldSucceed().StdOut.Trim());
        Assert.Contains($"(pid {pid})", Release.Run("status").ShouldSucceed().Output);

        Release.Run("stop").ShouldSucceed();
        AssertGoneNow(pid);

        Release.Run("status").ShouldFail(3);
        Release.Run("pid").ShouldFail(1);
        Assert.True(Poll.Until(() => Release.Log().Contains("stopping gracefully"), TimeSpan.FromSeconds(5)), Release.Log());
    }

    private static string ExeOf(int pid) => new FileInfo($"/proc/{pid}/exe").LinkTarget ?? "";

    /// <summary>
    /// linux-x64 releases run the native launcher: the daemon's supervisor is lib/relcraft-VSN/relcraft itself,
    /// not a runtime; RELCRAFT_MANAGED_LAUNCHER=1 (the tests' switch) gives the managed one on the release's runtime.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Daemon_IsSupervisedByTheNativeLauncher_OrTheManagedOneWhenForced(bool managed)
    {
        var env = Env(("RELCRAFT_MANAGED_LAUNCHER", managed ? "1" : "0"), ("RELEASE_NODE", managed ? "managed" : "native"));
        var pid = Daemon(Release, env, env["RELEASE_NODE"], "serve");
        try
        {
            var supervisor = Processes.Parent(pid);
            var tools = Assert.Single(Directory.GetDirectories(Path.Combine(Root, "lib"), "relcraft-*"));
            Assert.Equal(managed ? Path.Combine(Root, "runtime", "dotnet") : Path.Combine(tools, "relcraft"), ExeOf(supervisor));
            Assert.Equal($"{pid}", Release.Run(env, "pid").ShouldSucceed().StdOut.Trim());
            Assert.Equal("pong", Release.Run(env, "ping").ShouldSucceed().StdOut.Trim());
            Assert.Equal($"{pid}", Release.Run(env, "rpc", "System.Environment.ProcessId").ShouldSucceed().StdOut.Trim());
        }
        finally
        {
            Release.Run(env, "stop").ShouldSucceed();
        }
        AssertGoneNow(pid);
    }

    [Fact]
    public void Daemon_PassesItsArgumentsAndCommandToTheApp()
    {
        Daemon(Release, null, null, "serve", "two words");
        Assert.True(Poll.Until(() => Release.Log().Contains("serving"), TimeSpan.FromSeconds(10)), Release.Log());
        var seen = ProbeOutput.Parse(Release.Log());
        Assert.Equal("serve|two words", seen["args"]);
        Assert.Equal("daemon", seen["env:RELEASE_COMMAND"]);
        Assert.StartsWith(RelPath("runtime/"), seen["corelib"]);
    }

    [Fact]
    public void Stop_WhenNotRunning_Exits1SayingSo()
    {
        var result = Release.Run("stop").ShouldFail(1);
        Assert.Contains("not running", result.StdErr);
    }

    [Fact]
    public void Restart_GivesANewPid()
    {
        var first = Daemon(Release);
        Release.Run("restart").ShouldSucceed();
        AssertGoneNow(first);
        var second = Release.Pid();
        Assert.NotNull(second);
        Assert.NotEqual(first, second);
        Assert.True(Processes.IsAlive(second!.Value), "the restarted app is not running");
        Assert.Equal($"{second}", Release.Run("pid").ShouldSucceed().StdOut.Trim());
    }

    [Fact]
    public void Version_PrintsNameAndVersion() =>
        Assert.Equal($"{Name} {Version}\n", Release.Run("version").ShouldSucceed().StdOut);

    [Fact]
    public void NoCommand_PrintsUsageOnStderr_AndExits1()
    {
        var result = Release.Run().ShouldFail(1);
        Assert.Contains("Usage:", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public void UnknownCommand_Exits1()
    {
        var result = Release.Run("frobnicate").ShouldFail(1);
        Assert.Contains("frobnicate", result.StdErr);
    }

    [Fact]
    public void StartOrDaemon_WhileRunning_RefusesWithThePid()
    {
        var pid = Daemon(Release);
        foreach (var command in new[] { "daemon", "start" })
        {
            var result = Release.Run(command).ShouldFail(1);
            Assert.Contains($"is already running (pid {pid})", result.StdErr);
        }
        Assert.Equal(pid, Release.Pid());
        Assert.True(Processes.IsAlive(pid));
    }

    [Fact]
    public void StalePidFile_OfADeadProcess_IsIgnoredAndReplaced()
    {
        Assert.Null(Processes.State(999999));
        Directory.CreateDirectory(Release.Tmp);
        File.WriteAllText(Release.PidFile(), "999999 1\n");

        Release.Run("status").ShouldFail(3);
        Release.Run("pid").ShouldFail(1);
        Assert.Contains("not running", Release.Run("stop").ShouldFail(1).StdErr);

        var pid = Daemon(Release);
        Assert.NotEqual(999999, pid);
        Release.Run("stop").ShouldSucceed();
        AssertGoneNow(pid);
    }

    [Fact]
    public void StalePidFile_OfAnUnrelatedLiveProcess_IsIgnoredAndThatProcessLeftAlone()
    {
        // The test process itself, with a start time that is not its own: not ours to report.
        Directory.CreateDirectory(Release.Tmp);
        File.WriteAllText(Release.PidFile(), $"{Environment.ProcessId} 1\n");
        Release.Run("status").ShouldFail(3);
        Release.Run("pid").ShouldFail(1);

        // A process we may safely lose (should stop wrongly signal it): `sleep`, with a wrong start time.
        using var sleep = Process.Start("sleep", "300");
        _cleanup.Add(new PidStopper(sleep.Id));
        File.WriteAllText(Release.PidFile(), $"{sleep.Id} 1\n");
        Assert.Contains("not running", Release.Run("stop").ShouldFail(1).StdErr);
        Assert.True(Processes.IsAlive(sleep.Id), "stop signalled a process that a stale pid file named");

        var pid = Daemon(Release);
        Assert.NotEqual(sleep.Id, pid);
        Release.Run("stop").ShouldSucceed();
        AssertGoneNow(pid);
        Assert.True(Processes.IsAlive(sleep.Id), "the unrelated process was stopped");
    }

    [Fact]
    public void Daemon_WhoseAppExitsAtOnce_Fails_ShowingTheLogTail()
    {
        var result = Release.Run("daemon", "exit3");
        Assert.True(result.ExitCode == 1, $"expected exit code 1\n{result}\n--- {Release.LogFile()}:\n{Release.Log()}");
        Assert.Contains("exit code 3", result.StdErr);
        Assert.Contains("args=exit3", result.StdErr); // the log tail: what the app printed
        Release.Run("status").ShouldFail(3);
    }

    [Fact]
    public void Stop_KillsAnAppThatIgnoresSigterm_AfterReleaseStopTimeout()
    {
        var env = Env(("RELEASE_STOP_TIMEOUT", "2"));
        var pid = Daemon(Release, env, null, "ignore-term");
        Assert.True(Poll.Until(() => Release.Log().Contains("serving"), TimeSpan.FromSeconds(10)), Release.Log());

        var clock = Stopwatch.StartNew();
        var result = Release.Run(env, "stop");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"stop returned after {clock.Elapsed}, before the timeout\n{result}");
        AssertGoneNow(pid);
        Assert.Contains($"did not stop within 2s; killing pid {pid}", result.StdErr);
        Assert.Contains("ignoring SIGTERM", Release.Log());
    }

    [Fact]
    public void TwoNodes_OfOneRelease_RunSideBySide()
    {
        var a = Env(("RELEASE_NODE", "a"));
        var b = Env(("RELEASE_NODE", "b"));
        var pidA = Daemon(Release, a, "a");
        var pidB = Daemon(Release, b, "b");
        Assert.NotEqual(pidA, pidB);
        Assert.True(File.Exists(Path.Combine(Release.Tmp, "a.pid")) && File.Exists(Path.Combine(Release.Tmp, "b.pid")));
        Assert.True(Poll.Until(() => Release.Log("a").Contains("serving") && Release.Log("b").Contains("serving"), TimeSpan.FromSeconds(10)));
        Assert.Equal("a", ProbeOutput.Parse(Release.Log("a"))["env:RELEASE_NODE"]);
        Assert.Equal("b", ProbeOutput.Parse(Release.Log("b"))["env:RELEASE_NODE"]);
        Assert.Equal($"{pidA}", Release.Run(a, "pid").ShouldSucceed().StdOut.Trim());

        Release.Run(a, "stop").ShouldSucceed();
        AssertGoneNow(pidA);
        Assert.True(Processes.IsAlive(pidB), "stopping node a stopped node b");
        Release.Run(b, "stop").ShouldSucceed();
        AssertGoneNow(pidB);
    }

    [Fact]
    public void Launcher_RunThroughASymlinkElsewhere_FindsItsRelease()
    {
        var links = Path.Combine(_fixture.App.Root, "links dir");
        Directory.CreateDirectory(links);
        var link = Path.Combine(links, "probe");
        if (File.Exists(link)) File.Delete(link);
        File.CreateSymbolicLink(link, Path.GetRelativePath(links, Release.Launcher));

        Assert.Equal($"{Name} {Version}\n", Release.RunProgram(link, null, "version").ShouldSucceed().StdOut);
        var seen = ProbeOutput.Parse(Release.RunProgram(link, null, "start", "once").ShouldSucceed().StdOut);
        Assert.Equal(Root, seen["env:RELEASE_ROOT"]);
        Assert.Equal("yes", seen["env:FROM_ENV_SH"]);
    }

    private sealed class PidStopper(int pid) : IDisposable
    {
        public void Dispose() => Processes.Stop(pid, TimeSpan.FromSeconds(1));
    }
}
