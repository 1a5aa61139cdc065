using System.Collections.Immutable;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.CodeAnalysis.Scripting.Hosting;
using Relcraft.Agent;
using Relcraft.Agent.Control;

namespace Relcraft.Scripting;

/// <summary>
/// Roslyn scripting against the live process: references are every assembly the app can load
/// (its trusted platform assemblies) plus the agent, with the usual usings, and `args` as a global.
/// Roslyn compiles each submission; the engine emits it and loads it itself, into the context the
/// engine was loaded into, so that unloading that context takes the submissions with it (RunAsync).
/// </summary>
public sealed class RoslynEngine : IScriptEngine
{
    private static readonly string[] Imports =
        ["System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Text", "System.Threading", "System.Threading.Tasks"];

    private readonly ScriptOptions _options;
    private readonly List<AssemblyMetadata> _metadata;
    private readonly AssemblyLoadContext _context;
    // Script.Create wants a loader; this one never loads anything, but it registers itself in
    // AppDomain.AssemblyResolve until disposed, which would keep this whole context alive.
    private readonly InteractiveAssemblyLoader _loader = new();

    public RoslynEngine()
    {
        var tpa = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase));
        var paths = tpa.Append(typeof(ScriptGlobals).Assembly.Location).Distinct(StringComparer.Ordinal).ToList();
        // Mapped, not read: MetadataReference.CreateFromFile reads each file whole into native memory
        // (the shared framework alone is ~60 MiB); mapped, only the pages Roslyn reads are resident,
        // and Dispose unmaps them at once instead of whenever finalizers get to them.
        _metadata = paths.Select(AssemblyMetadata.CreateFromFile).ToList();
        _options = ScriptOptions.Default
            .WithReferences(_metadata.Select((m, i) => m.GetReference(filePath: paths[i])))
            .WithImports(Imports)
            .WithEmitDebugInformation(false)
            .WithOptimizationLevel(OptimizationLevel.Debug);
        _context = AssemblyLoadContext.GetLoadContext(typeof(RoslynEngine).Assembly) ?? AssemblyLoadContext.Default;
    }

    public void Dispose()
    {
        _loader.Dispose();
        foreach (var metadata in _metadata) metadata.Dispose();
    }

    public object NewSession(string[] args) => new Session(new ScriptGlobals(args));

    public async Task<EvalOutcome> EvaluateAsync(object session, string code, bool verbose)
    {
        var s = (Session)session;
        try
        {
            var script = s.Script is null
                ? CSharpScript.Create(code, _options, typeof(ScriptGlobals), _loader)
                : s.Script.ContinueWith(code, _options);
            var value = await RunAsync(script, s).ConfigureAwait(false);
            s.Script = script;
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
        catch (Exception e) when (e is not OutOfMemoryException) { return Evaluator.Thrown(e, verbose); }
    }

    public (CompiledSubmission? Submission, EvalOutcome? Failure) Compile(string code)
    {
        try { return (Emit(CSharpScript.Create(code, _options, typeof(ScriptGlobals), _loader)), null); }
        catch (CompilationErrorException e) when (!code.TrimEnd().EndsWith(';') && e.Diagnostics.Any(d => d.Id == "CS1002"))
        {
            return Compile(code.TrimEnd() + ";"); // as EvaluateAsync does
        }
        catch (CompilationErrorException e)
        {
            return (null, new EvalOutcome(Protocol.Status.CompileError, string.Join("\n", e.Diagnostics.Select(Describe))));
        }
    }

    public bool IsCompleteSubmission(string code) =>
        SyntaxFactory.IsCompleteSubmission(SyntaxFactory.ParseSyntaxTree(code, CSharpParseOptions.Default.WithKind(SourceCodeKind.Script)));

    /// <summary>
    /// What Script.RunAsync does, but loading the submission into this engine's context: Roslyn's
    /// own loader (InteractiveAssemblyLoader) loads every submission with Assembly.Load(byte[]),
    /// into a context of its own that can never be unloaded. Errors are thrown as Roslyn throws them:
    /// parse errors first, then those of the whole compilation.
    /// </summary>
    private async Task<object?> RunAsync(Script<object> script, Session s)
    {
        // Without errors, no image means nothing to run (only usings or comments): Roslyn returns null too.
        if (Emit(script) is not { } compiled) return null;
        var assembly = _context.LoadFromStream(new MemoryStream(compiled.Image, writable: false));
        var factory = SubmissionEntry.Factory(assembly, compiled.TypeName, compiled.MethodName);
        // Slot 0 holds the globals, slot N submission N of the chain (each stores itself there as it starts).
        s.Submissions++;
        if (s.States.Length <= s.Submissions) Array.Resize(ref s.States, s.Submissions * 2);
        try { return await factory(s.States).ConfigureAwait(false); }
        catch { s.Submissions--; throw; }
    }

    /// <summary>The submission's image and entry point; null when there is nothing to run. Throws Roslyn's errors: parse errors first, then the whole compilation's.</summary>
    private static CompiledSubmission? Emit(Script<object> script)
    {
        var compilation = script.GetCompilation();
        ThrowIfErrors(compilation.GetParseDiagnostics());
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        ThrowIfErrors(emitted.Diagnostics);
        if (!emitted.Success || compilation.GetEntryPoint(CancellationToken.None) is not { } entryPoint) return null;
        return new CompiledSubmission(image.ToArray(), entryPoint.ContainingType.MetadataName, entryPoint.MetadataName);
    }

    private static void ThrowIfErrors(ImmutableArray<Diagnostic> diagnostics)
    {
        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        if (errors.Length > 0) throw new CompilationErrorException(errors[0].ToString(), errors);
    }

    /// <summary>"(line,column): error CS0103: …", counting from 1.</summary>
    private static string Describe(Diagnostic d)
    {
        var span = d.Location.GetLineSpan();
        var where = span.IsValid ? $"({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): " : "";
        return $"{where}{d.Severity.ToString().ToLowerInvariant()} {d.Id}: {d.GetMessage()}";
    }

    /// <summary>A REPL's chain of submissions: the last one that ran to completion, and the objects they created.</summary>
    private sealed class Session(ScriptGlobals globals)
    {
        public Script<object>? Script { get; set; }
        public int Submissions;
        public object[] States = [globals, null!];
    }
}
