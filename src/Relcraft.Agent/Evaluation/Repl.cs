using System.Text;
using Relcraft.Agent.Control;

namespace Relcraft.Agent;

/// <summary>
/// One REPL's state (remote or console): lines accumulate until they form a complete submission,
/// which is then evaluated in a session that keeps variables from one submission to the next.
/// From its first submission until it is disposed, the session keeps scripting loaded.
/// </summary>
internal sealed class ReplSession : IDisposable
{
    private readonly StringBuilder _pending = new();
    private object? _session;
    private IDisposable? _hold;

    public bool HasPending => _pending.Length > 0;

    public async Task<EvalOutcome> SubmitAsync(string line, bool verbose)
    {
        if (_pending.Length > 0) _pending.Append('\n');
        _pending.Append(line);
        var code = _pending.ToString();
        if (string.IsNullOrWhiteSpace(code)) { _pending.Clear(); return new EvalOutcome(Protocol.Status.Ok, null); }
        using var roslyn = ScriptingLifetime.Use();
        var engine = roslyn.Engine;
        if (!engine.IsCompleteSubmission(code)) return new EvalOutcome(Protocol.Status.Incomplete, null);
        _pending.Clear();
        if (_session is null)
        {
            _session = engine.NewSession([]);
            _hold = ScriptingLifetime.Hold();
        }
        using (OutputRouter.Capture(out var output))
        {
            var outcome = await engine.EvaluateAsync(_session, code, verbose).ConfigureAwait(false);
            return outcome with { Text = Join(output.ToString(), outcome) };
        }
    }

    /// <summary>The session's variables are dropped, and scripting may be unloaded when idle.</summary>
    public void Dispose()
    {
        _session = null;
        _hold?.Dispose();
        _hold = null;
    }

    /// <summary>Console output produced by the submission, then its value.</summary>
    internal static string? Join(string printed, EvalOutcome outcome)
    {
        if (printed.Length == 0) return outcome.Text;
        if (outcome.Text is null) return printed.TrimEnd('\n');
        return printed + outcome.Text;
    }
}

/// <summary>
/// Console.Out/Console.Error replaced once by writers that send a caller's output to that caller:
/// the evaluation's async flow carries its own target, every other thread writes where it always did.
/// </summary>
internal sealed class OutputRouter : TextWriter
{
    private static readonly AsyncLocal<StringWriter?> Target = new();
    private static int _installed;
    private readonly TextWriter _original;

    private OutputRouter(TextWriter original) => _original = original;

    public override Encoding Encoding => _original.Encoding;

    private TextWriter Current => Target.Value ?? _original;
    public override void Write(char value) => Current.Write(value);
    public override void Write(string? value) => Current.Write(value);
    public override void Write(char[] buffer, int index, int count) => Current.Write(buffer, index, count);
    public override void WriteLine(string? value) => Current.WriteLine(value);
    public override void Flush() => Current.Flush();

    /// <summary>Routes this async flow's Console output into a buffer until disposed.</summary>
    public static IDisposable Capture(out StringWriter buffer)
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            Console.SetOut(new OutputRouter(Console.Out));
            Console.SetError(new OutputRouter(Console.Error));
        }
        var previous = Target.Value;
        buffer = new StringWriter { NewLine = "\n" };
        Target.Value = buffer;
        return new Restore(previous);
    }

    private sealed class Restore(StringWriter? previous) : IDisposable
    {
        public void Dispose() => Target.Value = previous;
    }
}

/// <summary>bin/NAME eval EXPR ARGS: a fresh process with the app's assemblies and boot configuration, Main never run.</summary>
internal static class EvalCommand
{
    public static int Run()
    {
        var code = Environment.GetEnvironmentVariable("RELCRAFT_EVAL") ?? "";
        var verbose = Environment.GetEnvironmentVariable("RELCRAFT_VERBOSE") == "1";
        var args = Environment.GetCommandLineArgs().Skip(1).ToArray();
        EvalOutcome outcome;
        try { outcome = Evaluator.EvaluateAsync(code, args, verbose).GetAwaiter().GetResult(); }
        catch (Exception e) { outcome = new EvalOutcome(Protocol.Status.Exception, Evaluator.Describe(e, verbose)); }
        Console.Out.Flush();
        if (outcome.Status == Protocol.Status.Ok)
        {
            if (outcome.Text is not null) Console.Out.WriteLine(outcome.Text);
            Console.Out.Flush();
            return 0;
        }
        Console.Error.WriteLine(outcome.Text);
        Console.Error.Flush();
        return 1;
    }
}

/// <summary>bin/NAME console: the app runs as with start, and a C# shell reads the terminal in the same process.</summary>
internal static class ConsoleShell
{
    public static void Start()
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = "relcraft console" };
        thread.Start();
    }

    private static void Loop()
    {
        var interactive = !Console.IsInputRedirected;
        var repl = new ReplSession();
        var stdout = Console.Out;
        while (true)
        {
            if (interactive) { stdout.Write(repl.HasPending ? "... " : "> "); stdout.Flush(); }
            var line = Console.In.ReadLine();
            if (line is null || (line.Trim() == "#exit" && !repl.HasPending)) break;
            EvalOutcome outcome;
            try { outcome = repl.SubmitAsync(line, verbose: false).GetAwaiter().GetResult(); }
            catch (Exception e) { outcome = new EvalOutcome(Protocol.Status.Exception, Evaluator.Describe(e, false)); }
            if (outcome.Status == Protocol.Status.Incomplete) continue;
            if (outcome.Text is null) continue;
            if (outcome.Status == Protocol.Status.Ok) stdout.WriteLine(outcome.Text);
            else Console.Error.WriteLine(outcome.Text);
        }
        if (!Readiness.TryStopApplication()) Environment.Exit(0);
    }
}
