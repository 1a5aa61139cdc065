using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>remote (a C# shell inside the daemon) and console (the app in the foreground with a shell), stdin piped.</summary>
public sealed partial class ControlChannelTests
{
    private static readonly TimeSpan ShellDeadline = TimeSpan.FromSeconds(90);

    [Fact]
    public void Remote_WithPipedInput_PrintsOnlyValues_KeepsState_AndTakesMultiLineInput()
    {
        var pid = Daemon();
        using var remote = Launch(null, "remote");
        var result = remote.Complete(string.Join("\n",
            "var n = 20;",
            "n + 1",
            "if (n > 10) {",
            "    n = n * 2;",
            "}",
            "n",
            "Ctl.State.MainPid",
            "#exit",
            "n + 1000", // after #exit: never evaluated
            ""), ShellDeadline);

        result.ShouldSucceed();
        Assert.Equal($"21\n40\n{pid}\n", result.StdOut);
        Assert.Equal("", result.StdErr);
        Release.Run("ping").ShouldSucceed(); // leaving the shell leaves the system running
    }

    [Fact]
    public void Remote_WhenNotRunning_Exits3()
    {
        using var remote = Launch(null, "remote");
        var result = remote.Complete("1 + 1\n", ShellDeadline).ShouldFail(3);
        Assert.Contains("not running", result.StdErr);
    }

    [Fact]
    public void Remote_TwoConcurrentSessions_HaveSeparateVariables_AndBothWork()
    {
        Daemon();
        using var a = Launch(null, "remote");
        using var b = Launch(null, "remote");

        a.WriteLine("var x = 100; var onlyInA = 1; x");
        b.WriteLine("var x = 200; var onlyInB = 2; x");
        Assert.Equal("100", a.WaitForStdOutLines(1, ShellDeadline)[0]);
        Assert.Equal("200", b.WaitForStdOutLines(1, ShellDeadline)[0]);

        a.WriteLine("onlyInB");
        b.WriteLine("onlyInA");
        Assert.Contains("error CS0103", a.WaitForStdErr("onlyInB", ShellDeadline));
        Assert.Contains("error CS0103", b.WaitForStdErr("onlyInA", ShellDeadline));

        a.WriteLine("x + onlyInA");
        b.WriteLine("x + onlyInB");
        Assert.Equal("101", a.WaitForStdOutLines(2, ShellDeadline)[1]);
        Assert.Equal("202", b.WaitForStdOutLines(2, ShellDeadline)[1]);

        a.WriteLine("#exit");
        b.WriteLine("#exit");
        Assert.Equal(1, a.WaitForExit(ShellDeadline)); // a submission failed: exit 1
        Assert.Equal(1, b.WaitForExit(ShellDeadline));
        Assert.Equal(["100", "101"], a.StdOut);
        Assert.Equal(["200", "202"], b.StdOut);
    }

    [Fact]
    public void Console_EvaluatesStdinInTheForegroundApp_AndExitEndsTheApp()
    {
        using var console = Launch(null, "console");
        var result = console.Complete("40 + 2\nCtl.State.MainPid == Environment.ProcessId\n#exit\n", ShellDeadline);

        var lines = result.StdOut.Split('\n');
        Assert.Contains("42", lines);
        Assert.Contains(Ctl.MainMarker, lines); // the app itself ran
        Assert.Equal(0, result.ExitCode);
        Assert.True(Poll.Until(() => !Processes.IsAlive(console.Id), TimeSpan.FromSeconds(10)), $"the console app {console.Id} still runs after #exit");
        Assert.False(Processes.IsAlive(console.Id));
        Release.Run("status").ShouldFail(3);
        // Values print in submission order; the second shows the shell ran inside the app's own process.
        Assert.Contains("True", lines);
        Assert.True(Array.IndexOf(lines, "42") < Array.IndexOf(lines, "True"), result.ToString());
    }
}
