using System.Reflection;
using System.Collections;
using Relcraft.Agent.Control;

namespace Relcraft.Agent;

/// <summary>
/// Evaluates C# for eval, rpc, remote and console: a literal static call takes the reflection
/// fast path (no compiler loaded); anything else goes to Roslyn, loaded on first use from
/// lib/relcraft-VSN/ into a context of its own that shares the app's assemblies, and unloaded
/// again when idle (<see cref="ScriptingLifetime"/>).
/// </summary>
internal static class Evaluator
{
    /// <summary>
    /// One stateless evaluation (eval, rpc). With <paramref name="compileElsewhere"/> (an rpc client that
    /// can compile, see <see cref="CompiledRpc"/>), code that needs Roslyn while none is loaded here is
    /// answered <see cref="Protocol.Status.Compile"/> instead of loading it; a loaded engine (a remote
    /// session's, or one not yet idle) compiles here, which is faster than a process.
    /// </summary>
    public static async Task<EvalOutcome> EvaluateAsync(string code, string[] args, bool verbose, bool compileElsewhere = false)
    {
        if (StaticCall.TryParse(code, args, out var call))
        {
            var outcome = await call!.InvokeAsync(verbose).ConfigureAwait(false);
            if (outcome is not null) return outcome;
        }
        if (compileElsewhere && !ScriptingLifetime.IsLoaded) return new EvalOutcome(Protocol.Status.Compile, null);
        using var roslyn = ScriptingLifetime.Use();
        return await roslyn.Engine.EvaluateAsync(roslyn.Engine.NewSession(args), code, verbose).ConfigureAwait(false);
    }

    /// <summary>How values print: strings as they are, sequences as [a, b], null not at all.</summary>
    public static string? Format(object? value)
    {
        switch (value)
        {
            case null: return null;
            case string s: return s;
            case IDictionary map:
                return "{" + string.Join(", ", map.Cast<DictionaryEntry>().Take(100).Select(e => $"{Format(e.Key)}: {Format(e.Value)}")) + "}";
            case IEnumerable items:
                return "[" + string.Join(", ", items.Cast<object?>().Take(100).Select(i => Format(i) ?? "null")) + "]";
            default: return value.ToString();
        }
    }

    /// <summary>What an evaluation that threw reports: the exception itself, not reflection's wrapper around it.</summary>
    public static EvalOutcome Thrown(Exception e, bool verbose) =>
        new(Protocol.Status.Exception, Describe(e is TargetInvocationException { InnerException: { } inner } ? inner : e, verbose));

    public static string Describe(Exception e, bool verbose) =>
        verbose ? e.ToString() : $"{e.GetType().FullName}: {e.Message}";
}
