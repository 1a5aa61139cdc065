using System.Text.RegularExpressions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>ping and rpc: C# evaluated inside the running daemon.</summary>
public sealed partial class ControlChannelTests
{
    [Fact]
    public void Ping_AnswersPongWhileTheDaemonRuns_AndExits3WhenItDoesNot()
    {
        var before = Release.Run("ping").ShouldFail(3);
        Assert.Contains("not running", before.StdErr);

        Daemon();
        var pong = Release.Run("ping").ShouldSucceed();
        Assert.Equal("pong\n", pong.StdOut);

        Release.Run("stop").ShouldSucceed();
        var after = Release.Run("ping").ShouldFail(3);
        Assert.Contains("not running", after.StdErr);
    }

    [Fact]
    public void Rpc_WhenNotRunning_Exits3()
    {
        var result = Rpc("1 + 1").ShouldFail(3);
        Assert.Contains("not running", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public void Rpc_WithoutAnExpression_IsAUsageError_Exit2()
    {
        Daemon();
        Release.Run("rpc").ShouldFail(2);
        Release.Run("rpc", "1", "2").ShouldFail(2);
    }

    [Fact]
    public void Rpc_SeesTheLiveStaticStateOfTheRunningApp()
    {
        var pid = Daemon();
        Assert.Equal($"{pid}", RpcValue("Ctl.State.MainPid"));
        Assert.Equal("True", RpcValue("Ctl.State.MainRan"));
        Assert.Equal($"{pid}", RpcValue("Environment.ProcessId"));

        // The counter the app increments every 20 ms: each rpc reads its value at that moment.
        var first = long.Parse(RpcValue("Ctl.State.Counter"));
        Assert.True(first > 0, $"counter {first}");
        Thread.Sleep(300);
        var second = long.Parse(RpcValue("Ctl.State.Counter"));
        Assert.True(second > first, $"the counter did not move between two rpc calls: {first} then {second}");
    }

    [Fact]
    public void Rpc_Exception_Exits1WithTheMessageOnStderr()
    {
        Daemon();
        var result = Rpc("throw new Exception(\"boom\")").ShouldFail(1);
        Assert.Contains("boom", result.StdErr);
        Assert.Equal("", result.StdOut);
        Release.Run("ping").ShouldSucceed(); // the app is unharmed
    }

    [Fact]
    public void Rpc_CompileError_Exits1WithLineAndColumn()
    {
        Daemon();
        var result = Rpc("1 + undefinedThing").ShouldFail(1);
        Assert.Matches(new Regex(@"\(1,\d+\): error CS\d{4}"), result.StdErr);
        Assert.Contains("undefinedThing", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public void Rpc_ConsoleOutputOfTheExpression_IsPrintedByTheCaller_NotInTheAppsLog()
    {
        Daemon();
        var marker = $"rpc-output-{Guid.NewGuid():N}";
        var result = Rpc($"Console.WriteLine(\"{marker}\"); 6 * 7").ShouldSucceed();
        Assert.Equal($"{marker}\n42\n", result.StdOut);

        Release.Run("ping").ShouldSucceed();
        Thread.Sleep(500); // the log is written through the supervisor: give a stray line time to arrive
        Assert.Contains("serving", Release.Log());
        Assert.DoesNotContain(marker, Release.Log());
    }

    [Fact]
    public void Rpc_LongerThanRELEASE_RPC_TIMEOUT_Exits5()
    {
        Daemon();
        // RELEASE_RPC_TIMEOUT counts the compile process too (a few seconds on a loaded machine): the budget is
        // well above that, and the expression far above the budget.
        var result = Rpc("System.Threading.Thread.Sleep(60_000)", Env(("RELEASE_RPC_TIMEOUT", "10"))).ShouldFail(5);
        Assert.Contains("timed out", result.StdErr);
        Release.Run("ping").ShouldSucceed();
    }

    [Fact]
    public void Rpc_FastPath_CallsAPublicStaticMethodWithLiterals_WithoutLoadingTheCompiler()
    {
        Daemon();
        Assert.Equal("a:10", RpcValue("Ctl.State.Echo(1, \"a\")"));
        // Both calls above and below are literal static calls: the agent must not have needed Roslyn yet.
        Assert.Equal("False", RpcValue("Ctl.State.IsLoaded(\"Microsoft.CodeAnalysis\")"));
        // A real expression does need it — compiled outside the app, so the app still has none loaded (the check can
        // tell: a remote session loads it, see Rpc_NeedingRoslyn_IsCompiledOutsideTheApp…).
        Assert.Equal("False", RpcValue("Ctl.State.IsLoaded(\"Microsoft.CodeAnalysis\") && true"));
    }

    /// <summary>Chains on static roots the fast path binds, values and failures alike.</summary>
    public static readonly string[] FastPathExpressions =
    [
        "Ctl.State.Default.Count",
        "Ctl.State.Default.Name.Length",
        "Ctl.State.Default.Lookup(\"milk\")",
        "Ctl.State.Default.Lookup(\"milk\").Length",
        "Ctl.State.Default.Lookup(\"bread\").Length", // NullReferenceException
        "Ctl.State.Default.Next.Name",                 // NullReferenceException
        "Ctl.State.Default.Capacity",
        "Ctl.State.Default.Keys",
        "Ctl.State.Default.Shelves.Count",              // IReadOnlyList<T> inherits Count
        "Ctl.State.Default.Fail()",
        "Ctl.State.Echo(2, \"b\").ToUpperInvariant()",
        "Environment.ProcessId",
        "System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture",
    ];

    [Fact]
    public void Rpc_FastPath_MemberChains_WithoutTheCompiler_AndExactlyAsRoslynWouldAnswer()
    {
        Daemon();
        var fast = FastPathExpressions.Select(e => Rpc(e)).ToList();
        RunResult Fast(string expression) => fast[Array.IndexOf(FastPathExpressions, expression)];
        Assert.Equal("False", RpcValue("Ctl.State.IsLoaded(\"Microsoft.CodeAnalysis\")"));
        Assert.Equal("2", Fast("Ctl.State.Default.Count").ShouldSucceed().StdOut.Trim());
        Assert.Equal("two litres", Fast("Ctl.State.Default.Lookup(\"milk\")").ShouldSucceed().StdOut.Trim());
        Assert.Equal("2", Fast("Ctl.State.Default.Shelves.Count").ShouldSucceed().StdOut.Trim());
        Assert.Contains("System.NullReferenceException", Fast("Ctl.State.Default.Next.Name").ShouldFail(1).StdErr);
        Assert.Contains("System.InvalidOperationException: the shelf says no", Fast("Ctl.State.Default.Fail()").ShouldFail(1).StdErr);

        // The same expressions in parentheses do not match the fast path: Roslyn evaluates them.
        for (var i = 0; i < FastPathExpressions.Length; i++)
        {
            var roslyn = Rpc($"({FastPathExpressions[i]})");
            Assert.True((fast[i].ExitCode, fast[i].StdOut, fast[i].StdErr) == (roslyn.ExitCode, roslyn.StdOut, roslyn.StdErr),
                $"fast path and Roslyn differ for {FastPathExpressions[i]}\nfast:\n{fast[i]}\nroslyn:\n{roslyn}");
        }
        // Roslyn compiled those in processes of their own; the app never loaded it.
        Assert.Equal("False", RpcValue("Ctl.State.IsLoaded(\"Microsoft.CodeAnalysis\")"));
    }

    [Fact]
    public void Ping_AfterTheDaemonWasKilled_SaysNotRunning_AndTheNextDaemonServesAgain()
    {
        var pid = Daemon();
        Release.Run("ping").ShouldSucceed();
        // The whole daemon, supervisor first (else heart starts the app again); no graceful exit: the socket files stay behind.
        var supervisor = Processes.Parent(pid);
        ProcessRunner.Run("kill", ["-KILL", $"{supervisor}", $"{pid}"]).ShouldSucceed();
        Assert.True(Poll.Until(() => !Processes.IsAlive(pid) && !Processes.IsAlive(supervisor), TimeSpan.FromSeconds(10)));

        Assert.Contains("not running", Release.Run("ping").ShouldFail(3).StdErr);
        Assert.Contains("not running", Rpc("1").ShouldFail(3).StdErr);

        var second = Daemon();
        Assert.NotEqual(pid, second);
        Assert.Equal("pong\n", Release.Run("ping").ShouldSucceed().StdOut);
        Assert.Equal($"{second}", RpcValue("Environment.ProcessId"));
    }

    /// <summary>
    /// RELEASE_TMP is the operator's to choose (README); a deep one makes RELEASE_TMP/control/NODE.sock
    /// longer than a Unix socket address may be (107 bytes on Linux). The system still runs: ping must
    /// still answer — or at the very least fail with a one-line message and a client exit code, never a crash.
    /// </summary>
    [Fact]
    public void Ping_WorksWhenRELEASE_TMPIsDeep()
    {
        var deep = Path.Combine(sdk.WorkRoot, "deep-tmp", new string('t', 60), new string('u', 20));
        Assert.True(Path.Combine(deep, "control", Name + ".sock").Length > 108, "the path is not long enough to test anything");
        var env = Env(("RELEASE_TMP", deep));
        _deleteAfter.Add(Path.Combine(sdk.WorkRoot, "deep-tmp"));
        Release.Run(env, "daemon").ShouldSucceed();

        var log = Path.Combine(deep, "log", Name + ".log");
        var result = Release.Run(env, "ping");
        var context = $"{result}\nlog {log}:\n{(File.Exists(log) ? File.ReadAllText(log) : "(none)")}";
        Assert.False(result.Output.Contains("   at ", StringComparison.Ordinal), $"ping crashed with a stack trace\n{context}");
        Assert.True(result.ExitCode is 0 or 3 or 6, $"ping's exit code is none of the client's\n{context}");
        Assert.True(result.ExitCode == 0 && result.StdOut == "pong\n", $"ping does not answer for a running system whose RELEASE_TMP is deep\n{context}");
    }
}
