namespace Relcraft.Agent;

/// <summary>What a C# expression sees: `args` (eval's arguments; empty for rpc and remote).</summary>
public sealed class ScriptGlobals
{
    public ScriptGlobals(string[] args) => this.args = args;

    // Lower-case on purpose: scripts say `args[0]`, as in a top-level program.
#pragma warning disable IDE1006
    public string[] args { get; }
#pragma warning restore IDE1006
}

/// <summary>The outcome of one evaluation: how it ended and the text to show (value or error).</summary>
public sealed record EvalOutcome(Control.Protocol.Status Status, string? Text);

/// <summary>
/// Implemented by Relcraft.Scripting (Roslyn), which the agent loads into its own
/// AssemblyLoadContext on first use only — an app that is never evaluated against never loads it.
/// Dispose lets go of whatever the engine registered outside that context, so that the context
/// can be unloaded.
/// </summary>
public interface IScriptEngine : IDisposable
{
    /// <summary>A fresh session whose state (variables, usings) carries from one submission to the next.</summary>
    object NewSession(string[] args);

    /// <summary>Evaluates code in the session; the value of a final expression becomes the outcome's text.</summary>
    Task<EvalOutcome> EvaluateAsync(object session, string code, bool verbose);

    /// <summary>False while the code is an unfinished submission (an open brace, a trailing operator…).</summary>
    bool IsCompleteSubmission(string code);

    /// <summary>
    /// Compiles code as one stateless submission (an rpc), without running it: the image to run, or the
    /// failure exactly as <see cref="EvaluateAsync"/> would report it. Both null: nothing to run.
    /// </summary>
    (CompiledSubmission? Submission, EvalOutcome? Failure) Compile(string code);
}

/// <summary>A compiled submission: its assembly image and the entry point Roslyn gave it (Func&lt;object[], Task&lt;object&gt;&gt;).</summary>
public sealed record CompiledSubmission(byte[] Image, string TypeName, string MethodName);
