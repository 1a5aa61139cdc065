using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// RELEASE_SCRIPTING_IDLE: the daemon unloads Roslyn after that many seconds without an evaluation,
/// gives the memory back, says so in its log, and loads Roslyn again for the next evaluation —
/// unless a remote session keeps variables in it.
/// </summary>
public sealed partial class ControlChannelTests
{
    private const string Unloaded = "relcraft agent: scripting unloaded after";
    private const string RoslynLoaded = "Ctl.State.IsLoaded(\"Microsoft.CodeAnalysis\")"; // fast path: asking loads nothing
    private const long RssBudgetKiB = 25 * 1024;
    private static readonly TimeSpan UnloadDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public void ScriptingIdle_RoslynUnloads_RssComesBackWithin25MiB_AndTheNextEvaluationLoadsItAgain()
    {
        var pid = Daemon(env: Env(("RELEASE_SCRIPTING_IDLE", "2")));
        // The first control connection loads what every connection needs (sockets, the handshake, the
        // fast path) for good: "before" is the app with all of that and no Roslyn.
        Assert.Equal("False", RpcValue(RoslynLoaded));
        var before = Processes.ResidentKiB(pid);

        // rpc compiles outside the app (Rpc_NeedingRoslyn_IsCompiledOutsideTheApp); a remote session loads Roslyn here.
        Assert.Equal("3", RemoteValue("(1 + 2)"));
        var loaded = Processes.ResidentKiB(pid);

        var line = WaitForLogLines(Unloaded, 1)[0];
        var after = Processes.ResidentKiB(pid);
        var figures = $"VmRSS before Roslyn {before / 1024} MiB, after a remote session's evaluation {loaded / 1024} MiB, after the unload {after / 1024} MiB; log: {line}";
        output.WriteLine(figures);
        Assert.DoesNotContain("still referenced", line);
        Assert.True(loaded - before > RssBudgetKiB, $"Roslyn was not loaded, or took too little to tell: {figures}");
        Assert.True(after - before <= RssBudgetKiB, $"RSS did not come back within 25 MiB: {figures}");
        Assert.Equal("False", RpcValue(RoslynLoaded));

        // Loaded again on demand, right answer, and unloaded again when idle.
        Assert.Equal("42", RemoteValue("Enumerable.Range(1, 3).Sum() * 7"));
        WaitForLogLines(Unloaded, 2);
        Assert.Equal("False", RpcValue(RoslynLoaded));
    }

    [Fact]
    public void Rpc_NeedingRoslyn_IsCompiledOutsideTheApp_TheAppRunsItAndGrowsByLessThan25MiB_UnlessRoslynIsLoadedThere()
    {
        const string where = "System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(System.Reflection.Assembly.GetExecutingAssembly()).Name";
        var pid = Daemon(env: Env(("RELEASE_SCRIPTING_IDLE", "300")));
        Assert.Equal("False", RpcValue(RoslynLoaded));
        var before = Processes.ResidentKiB(pid);

        // Roslyn code, compiled by a process of its own: the app runs the image in a context of its own.
        Assert.Equal("relcraft-rpc", RpcValue(where));
        Assert.Equal("6", RpcValue("new[] { 1, 2, 3 }.Sum()"));
        Assert.Equal("False", RpcValue(RoslynLoaded));
        var after = Processes.ResidentKiB(pid);
        output.WriteLine($"VmRSS before {before / 1024} MiB, after two compiled rpcs {after / 1024} MiB");
        Assert.True(after - before <= RssBudgetKiB, $"the app grew by {(after - before) / 1024} MiB for two compiled rpcs");

        // With Roslyn loaded in the app (a remote session's), the app compiles rpc itself: no process to start.
        using var remote = Launch(null, "remote");
        remote.WriteLine("1 + 1");
        Assert.Equal("2", remote.WaitForStdOutLines(1, ShellDeadline)[0]);
        Assert.Equal("relcraft-scripting", RpcValue(where));
        remote.WriteLine("#exit");
        Assert.Equal(0, remote.WaitForExit(ShellDeadline));
    }

    /// <summary>The value of one expression in a fresh remote session (which loads Roslyn in the app), the session closed again.</summary>
    private string RemoteValue(string expression)
    {
        using var remote = Launch(null, "remote");
        remote.WriteLine(expression);
        var value = remote.WaitForStdOutLines(1, ShellDeadline)[0];
        remote.WriteLine("#exit");
        Assert.Equal(0, remote.WaitForExit(ShellDeadline));
        return value;
    }

    [Fact]
    public void ScriptingIdle_AnOpenRemoteSessionKeepsRoslynLoaded_UntilItCloses()
    {
        const int idleSeconds = 1;
        Daemon(env: Env(("RELEASE_SCRIPTING_IDLE", $"{idleSeconds}")));
        using var remote = Launch(null, "remote");
        remote.WriteLine("var kept = 41;");
        remote.WriteLine("kept + 1");
        Assert.Equal("42", remote.WaitForStdOutLines(1, ShellDeadline)[0]);

        // Proving that something does not happen takes waiting: several idle periods, with the session open.
        var unloadedWhileOpen = Poll.Until(() => Release.Log().Contains(Unloaded, StringComparison.Ordinal), TimeSpan.FromSeconds(4 * idleSeconds));
        Assert.False(unloadedWhileOpen, $"scripting was unloaded under an open remote session:\n{Release.Log()}");
        Assert.Equal("True", RpcValue(RoslynLoaded));
        remote.WriteLine("kept");
        Assert.Equal("41", remote.WaitForStdOutLines(2, ShellDeadline)[1]); // the session's variable is still there

        remote.WriteLine("#exit");
        Assert.Equal(0, remote.WaitForExit(ShellDeadline));
        WaitForLogLines(Unloaded, 1);
        Assert.Equal("False", RpcValue(RoslynLoaded));
    }

    /// <summary>Polls the daemon's log until it has <paramref name="count"/> lines containing <paramref name="text"/>; returns them.</summary>
    private List<string> WaitForLogLines(string text, int count)
    {
        List<string> Lines() => Release.Log().Split('\n').Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();
        Assert.True(Poll.Until(() => Lines().Count >= count, UnloadDeadline),
            $"no {count}. log line containing '{text}' within {UnloadDeadline.TotalSeconds} s; log:\n{Release.Log()}");
        return Lines();
    }
}
