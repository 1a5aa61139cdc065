using System.Collections;
using System.Reflection;
using System.Runtime.Loader;
using Relcraft.Agent.Control;

namespace Relcraft.Agent;

/// <summary>
/// Evaluates C# for eval, rpc, remote and console: a literal static call takes the reflection
/// fast path (no compiler loaded); anything else goes to Roslyn, loaded on first use from
/// lib/relcraft-VSN/ into a context of its own that shares the app's assemblies.
/// </summary>
internal static class Evaluator
{
    private static readonly Lazy<IScriptEngine> Engine = new(LoadEngine, LazyThreadSafetyMode.ExecutionAndPublication);

    public static IScriptEngine Roslyn => Engine.Value;

    /// <summary>One stateless evaluation (eval, rpc).</summary>
    public static async Task<EvalOutcome> EvaluateAsync(string code, string[] args, bool verbose)
    {
        if (StaticCall.TryParse(code, args, out var call))
        {
            var outcome = await call!.InvokeAsync(verbose).ConfigureAwait(false);
            if (outcome is not null) return outcome;
        }
        var engine = Roslyn;
        return await engine.EvaluateAsync(engine.NewSession(args), code, verbose).ConfigureAwait(false);
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

    public static string Describe(Exception e, bool verbose) =>
        verbose ? e.ToString() : $"{e.GetType().FullName}: {e.Message}";

    private static IScriptEngine LoadEngine()
    {
        var dir = Path.GetDirectoryName(typeof(Evaluator).Assembly.Location)!;
        var path = Path.Combine(dir, "Relcraft.Scripting.dll");
        if (!File.Exists(path)) throw new InvalidOperationException($"C# scripting is not part of this release ({path} is missing)");
        var context = new ScriptingLoadContext(dir);
        var assembly = context.LoadFromAssemblyPath(path);
        var type = assembly.GetType("Relcraft.Scripting.RoslynEngine", throwOnError: true)!;
        return (IScriptEngine)Activator.CreateInstance(type)!;
    }

    /// <summary>
    /// Roslyn and its dependencies from the tools folder; the agent, the app's assemblies and any
    /// framework assembly at least as new as asked for from the default context — so scripts see
    /// the live statics, and a newer runtime's System.Collections.Immutable wins over our copy.
    /// </summary>
    private sealed class ScriptingLoadContext(string directory) : AssemblyLoadContext("relcraft-scripting")
    {
        private static readonly Dictionary<string, string> Trusted = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);

        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is null || name.Name == "Relcraft.Agent") return null;
            if (Trusted.TryGetValue(name.Name, out var trusted) && (name.Version is null || AssemblyName.GetAssemblyName(trusted).Version >= name.Version))
                return null;
            var local = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(local) ? LoadFromAssemblyPath(local) : null;
        }
    }
}
