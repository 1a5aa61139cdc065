using System.Reflection;
using System.Runtime.Loader;
using Relcraft.Agent.Control;

namespace Relcraft.Agent;

/// <summary>A compiled submission's entry point, as Roslyn's script runner calls it: slot 0 the globals, slot N submission N.</summary>
internal static class SubmissionEntry
{
    public static Func<object[], Task<object>> Factory(Assembly assembly, string typeName, string methodName) =>
        assembly.GetType(typeName, throwOnError: true)!
            .GetMethod(methodName, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)!
            .CreateDelegate<Func<object[], Task<object>>>();
}

/// <summary>
/// An rpc that needs Roslyn while the app has none loaded: the launcher compiles it in a process of its
/// own (an eval process in compile mode, <see cref="CompileCommand"/>), and the app only runs the image —
/// in a collectible context of its own, unloaded when the call returns — so Roslyn never comes into the
/// app for rpc: no load time, no memory to give back. The outcome is what the in-app engine would give.
/// </summary>
internal static class CompiledRpc
{
    public static async Task<EvalOutcome> RunAsync(ReadOnlyMemory<byte> payload, bool verbose)
    {
        if (Protocol.CompiledImage.Read(payload) is not { } image) throw new ProtocolException("malformed compiled image");
        if (image.Type.Length == 0) return new EvalOutcome(Protocol.Status.Ok, null);
        var context = new AssemblyLoadContext("relcraft-rpc", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(new MemoryStream(image.Image.ToArray(), writable: false));
            var factory = SubmissionEntry.Factory(assembly, image.Type, image.Method);
            var value = await factory([new ScriptGlobals([]), null!]).ConfigureAwait(false);
            return new EvalOutcome(Protocol.Status.Ok, Evaluator.Format(value));
        }
        catch (Exception e) when (e is not OutOfMemoryException) { return Evaluator.Thrown(e, verbose); }
        finally { context.Unload(); }
    }
}

/// <summary>
/// The compile process for <see cref="CompiledRpc"/>: a process of the app (its runtime and assemblies; no
/// boot configuration, Main never run) with RELCRAFT_COMPILE_TO set compiles RELCRAFT_EVAL as an rpc
/// submission and writes the image there; compile errors go to stderr as rpc would print them, exit 65.
/// Here scripting is not collectible, so Roslyn runs its ReadyToRun code.
/// </summary>
internal static class CompileCommand
{
    /// <summary>Code that does not compile (EX_DATAERR); anything else non-zero means this process could not compile at all.</summary>
    public const int CompileErrorExit = 65;

    public static int Run(string target)
    {
        var code = Environment.GetEnvironmentVariable("RELCRAFT_EVAL") ?? "";
        (CompiledSubmission? Submission, EvalOutcome? Failure) compiled;
        try
        {
            using var roslyn = ScriptingLifetime.Use();
            compiled = roslyn.Engine.Compile(code);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            compiled = (null, new EvalOutcome(Protocol.Status.Exception, Evaluator.Describe(e, verbose: false)));
        }
        if (compiled.Failure is { } failure)
        {
            Console.Error.WriteLine(failure.Text);
            Console.Error.Flush();
            return failure.Status == Protocol.Status.CompileError ? CompileErrorExit : 1;
        }
        var bytes = compiled.Submission is { } s
            ? Protocol.CompiledImage.Write(s.TypeName, s.MethodName, s.Image)
            : Protocol.CompiledImage.Write("", "", []);
        var temp = target + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, target, overwrite: true);
        return 0;
    }
}
