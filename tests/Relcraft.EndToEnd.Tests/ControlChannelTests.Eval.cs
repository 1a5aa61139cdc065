using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>eval EXPR ARGS: a fresh process with the app's assemblies loadable, its Main never run.</summary>
public sealed partial class ControlChannelTests
{
    [Fact]
    public void Eval_RunsInAFreshProcess_WithArgs_AlsoWhileTheDaemonRuns()
    {
        var daemon = Daemon();

        var pid = int.Parse(Release.Run("eval", "Environment.ProcessId").ShouldSucceed().StdOut.Trim());
        Assert.NotEqual(daemon, pid);
        Assert.False(Processes.IsAlive(pid), $"the eval process {pid} is still running after eval returned");

        var result = Release.Run("eval", "args[0] + args.Length", "a", "b").ShouldSucceed();
        Assert.Equal("a2\n", result.StdOut);
        Assert.Equal("a2\n", Release.Run("eval", "string.Join(\"|\", args)", "a2").ShouldSucceed().StdOut);

        // The daemon is untouched.
        Assert.Equal($"{daemon}", RpcValue("Environment.ProcessId"));
    }

    [Fact]
    public void Eval_LoadsTheAppsAssemblies_ButNeverRunsMain()
    {
        var port = Processes.FreeTcpPort();
        var env = Env(("CTL_PORT", $"{port}"));

        var state = Release.Run(env, "eval", "$\"{Ctl.State.MainRan} {Ctl.State.MainPid} {Ctl.State.Counter}\"").ShouldSucceed();
        Assert.Equal("False 0 0\n", state.StdOut);
        Assert.DoesNotContain(Ctl.MainMarker, state.Output);
        Assert.DoesNotContain("listening=", state.Output);

        // Main would have bound CTL_PORT; inside eval that port is still free to take.
        var bind = Release.Run(env, "eval",
            "var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, int.Parse(args[0])); l.Start(); l.Stop(); \"port was free\"", $"{port}")
            .ShouldSucceed();
        Assert.Equal("port was free\n", bind.StdOut);
        Assert.DoesNotContain(Ctl.MainMarker, bind.Output);

        // The fast path resolves the app's types too.
        Assert.Equal("z:20\n", Release.Run("eval", "Ctl.State.Echo(2, args[0])", "z").ShouldSucceed().StdOut);
    }

    [Fact]
    public void Eval_Exception_Exits1WithTheMessage()
    {
        var result = Release.Run("eval", "throw new InvalidOperationException(\"kaboom from eval\")").ShouldFail(1);
        Assert.Contains("kaboom from eval", result.StdErr);
        Assert.Equal("", result.StdOut);

        var compile = Release.Run("eval", "nope(").ShouldFail(1);
        Assert.Matches(@"\(1,\d+\): error CS\d{4}", compile.StdErr);
    }

    [Fact]
    public void Eval_WithoutAnExpression_IsAUsageError_Exit2()
    {
        var result = Release.Run("eval");
        Assert.Contains("eval", result.StdErr);
        result.ShouldFail(2);
    }

    /// <summary>Names Assets/Control/State.cs uses, without compiling it into the tests.</summary>
    private static class Ctl
    {
        public const string MainMarker = "CTL-MAIN-RAN";
    }
}
