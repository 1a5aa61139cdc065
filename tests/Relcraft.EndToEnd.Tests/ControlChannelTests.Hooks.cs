using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>ReleaseHook scripts around daemon/stop, and ReleaseCommand items as launcher commands.</summary>
public sealed partial class ControlChannelTests
{
    private string HookLogPath => Path.Combine(Release.Tmp, ControlAppFixture.HookLog);
    private string[] HookLog() => File.Exists(HookLogPath) ? File.ReadAllLines(HookLogPath) : [];

    [Fact]
    public void Hooks_RunAroundDaemonAndStop_InOrder_WithTheirCommand()
    {
        var pid = Daemon();
        Assert.Equal(["pre_start daemon", "post_start daemon"], HookLog());
        Release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid));
        Assert.Equal(["pre_start daemon", "post_start daemon", "pre_stop stop", "post_stop stop"], HookLog());
    }

    [Fact]
    public void FailingPreStartHook_AbortsDaemon_BeforeTheAppStarts()
    {
        var result = Release.Run(Env(("CTL_FAIL_PRE_START", "1")), "daemon").ShouldFail(1);
        Assert.Contains("pre_start", result.StdErr);
        Assert.Contains("pre.sh", result.StdErr);

        Assert.Equal(["pre_start daemon"], HookLog()); // nothing after it
        Release.Run("status").ShouldFail(3);
        Assert.Null(Release.Pid());
        Assert.DoesNotContain(Ctl.MainMarker, Release.Log());
        var running = Processes.Mentioning(Release.Root);
        Assert.True(running.Count == 0, $"still running for {Release.Root}: {string.Join(", ", running.Select(p => $"{p} {Processes.CommandLine(p)}"))}");
    }

    [Fact]
    public void ExpressionCommand_RunsInAFreshProcess_WithItsArguments()
    {
        var daemon = Daemon();
        var result = Release.Run("hello", "world").ShouldSucceed();
        Assert.Matches(@"^hello world from pid \d+, main ran: False\n$", result.StdOut);
        var pid = int.Parse(result.StdOut.Split("pid ")[1].Split(',')[0]);
        Assert.NotEqual(daemon, pid);
        Assert.DoesNotContain(Ctl.MainMarker, result.Output);
    }

    [Fact]
    public void RpcCommand_AsksTheRunningDaemon()
    {
        Assert.Contains("not running", Release.Run("count").ShouldFail(3).StdErr);

        Daemon();
        Thread.Sleep(200);
        var first = long.Parse(Release.Run("count").ShouldSucceed().StdOut.Trim());
        Assert.True(first > 0, $"count printed {first}: not the daemon's counter");
        Thread.Sleep(300);
        var second = long.Parse(Release.Run("count").ShouldSucceed().StdOut.Trim());
        Assert.True(second > first, $"count did not read the live counter: {first} then {second}");
    }

    [Fact]
    public void ScriptCommand_RunsTheScriptWithArgumentsAndTheReleaseEnvironment()
    {
        var result = Release.Run("script", "one", "two words").ShouldSucceed();
        var lines = result.StdOut.Split('\n');
        Assert.Equal("script argc=2 args=one|two words", lines[0]);
        Assert.Contains($"root={Release.Root}", lines);
        Assert.Contains($"name={Name}", lines);
        Assert.Contains($"vsn={ControlAppFixture.Version}", lines);
        Assert.Contains("command=script", lines);
    }

    [Fact]
    public void Usage_ListsTheCustomCommands()
    {
        var result = Release.Run().ShouldFail(1);
        Assert.Equal("", result.StdOut);
        foreach (var command in new[] { "hello", "count", "script" })
            Assert.Matches($@"(?m)^\s+{command}\s", result.StdErr);
        foreach (var builtIn in new[] { "ping", "rpc", "remote", "eval", "console" })
            Assert.Matches($@"(?m)^\s+{builtIn}\s", result.StdErr);
    }
}
