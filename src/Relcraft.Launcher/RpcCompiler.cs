using System.Diagnostics;

namespace Relcraft.Launcher;

/// <summary>
/// Compiles an rpc outside the running system: a process of the release (its runtime and the app's
/// assemblies; no boot configuration, Main never run) with RELCRAFT_COMPILE_TO compiles the code with
/// Roslyn's ReadyToRun build and writes the image; the running system only loads and runs that
/// (Relcraft.Agent's CompiledRpc). So the first rpc that needs Roslyn costs one short process instead of
/// loading Roslyn into the app, where it would be collectible and so JIT-compiled, and held until idle.
/// </summary>
internal static class RpcCompiler
{
    /// <summary>The agent's exit code for code that does not compile (its errors on stderr).</summary>
    public const int CompileErrorExit = 65;

    /// <summary>Either the image, or the compile errors as rpc prints them; neither: the process could not compile (use the app).</summary>
    public sealed record Result(byte[]? Image, string? Errors);

    public static Result? Compile(Release release, string code, TimeSpan timeout)
    {
        if (!File.Exists(Path.Combine(release.ToolsDir, "Relcraft.Scripting.dll"))) return null;
        var env = AppLaunch.Environment(release);
        env["RELCRAFT_EVAL"] = code;
        var target = Path.Combine(release.ControlDir, $"rpc-{Environment.ProcessId}.image");
        env["RELCRAFT_COMPILE_TO"] = target;
        env.Remove("RELEASE_COOKIE");
        var (file, args) = AppLaunch.Command(release, env, []);
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Clear();
        foreach (var (k, v) in env) start.Environment[k] = v;
        try
        {
            using var process = Process.Start(start);
            if (process is null) return null;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync(); // drained, so a chatty static constructor cannot block it
            if (!process.WaitForExit(timeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new LauncherException($"rpc timed out after compiling for {timeout.TotalSeconds:0.#}s (RELEASE_RPC_TIMEOUT)", ExitCodes.TimedOut);
            }
            process.WaitForExit();
            if (process.ExitCode == CompileErrorExit) return new Result(null, stderr.Result.TrimEnd('\n', '\r'));
            if (process.ExitCode != 0) return null;
            return new Result(File.ReadAllBytes(target), null);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException) { return null; }
        finally
        {
            try { File.Delete(target); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
