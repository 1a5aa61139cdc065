using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Relcraft.Agent;
using Relcraft.Agent.Control;

namespace Relcraft.Scripting;

/// <summary>
/// Roslyn scripting against the live process: references are every assembly the app can load
/// (its trusted platform assemblies) plus the agent, with the usual usings, and `args` as a global.
/// </summary>
public sealed class RoslynEngine : IScriptEngine
{
    private static readonly string[] Imports =
        ["System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Text", "System.Threading", "System.Threading.Tasks"];

    private readonly ScriptOptions _options;

    public RoslynEngine()
    {
        var tpa = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase));
        var references = tpa.Append(typeof(ScriptGlobals).Assembly.Location)
            .Distinct(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
        _options = ScriptOptions.Default
            .WithReferences(references)
            .WithImports(Imports)
            .WithEmitDebugInformation(false)
            .WithOptimizationLevel(OptimizationLevel.Debug);
    }

    public object NewSession(string[] args) => new Session(new ScriptGlobals(args));

    public async Task<EvalOutcome> EvaluateAsync(object session, string code, bool verbose)
    {
        var s = (Session)session;
        try
        {
            s.State = s.State is null
                ? await CSharpScript.RunAsync(code, _options, s.Globals, typeof(ScriptGlobals)).ConfigureAwait(false)
                : await s.State.ContinueWithAsync(code, _options).ConfigureAwait(false);
            var value = s.State.ReturnValue;
            return new EvalOutcome(Protocol.Status.Ok, Evaluator.Format(value));
        }
        catch (CompilationErrorException e) when (!code.TrimEnd().EndsWith(';') && e.Diagnostics.Any(d => d.Id == "CS1002"))
        {
            // A statement typed as the last line without its ';' (throw …, x = 1): try it as written with one.
            return await EvaluateAsync(session, code.TrimEnd() + ";", verbose).ConfigureAwait(false);
        }
        catch (CompilationErrorException e)
        {
            return new EvalOutcome(Protocol.Status.CompileError, string.Join("\n", e.Diagnostics.Select(Describe)));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
            return new EvalOutcome(Protocol.Status.Exception, Evaluator.Describe(inner, verbose));
        }
    }

    public bool IsCompleteSubmission(string code) =>
        SyntaxFactory.IsCompleteSubmission(SyntaxFactory.ParseSyntaxTree(code, CSharpParseOptions.Default.WithKind(SourceCodeKind.Script)));

    /// <summary>"(line,column): error CS0103: …", counting from 1.</summary>
    private static string Describe(Diagnostic d)
    {
        var span = d.Location.GetLineSpan();
        var where = span.IsValid ? $"({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): " : "";
        return $"{where}{d.Severity.ToString().ToLowerInvariant()} {d.Id}: {d.GetMessage()}";
    }

    private sealed class Session(ScriptGlobals globals)
    {
        public ScriptGlobals Globals { get; } = globals;
        public ScriptState<object>? State { get; set; }
    }
}
