using System.Diagnostics;
using System.Text;

namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>What a finished command printed and returned.</summary>
public sealed record RunResult(string Command, int ExitCode, string StdOut, string StdErr, string Output)
{
    /// <summary>Everything the command printed (stdout and stderr interleaved), for assertion messages.</summary>
    public override string ToString() => $"$ {Command}\n[exit {ExitCode}]\n{Output}";

    public RunResult ShouldSucceed()
    {
        Assert.True(ExitCode == 0, $"expected exit code 0\n{this}");
        return this;
    }

    public RunResult ShouldFail(int? exitCode = null)
    {
        if (exitCode is { } code) Assert.True(ExitCode == code, $"expected exit code {code}\n{this}");
        else Assert.True(ExitCode != 0, $"expected a non-zero exit code\n{this}");
        return this;
    }
}

/// <summary>
/// Runs a command to completion with a deadline; a command that outlives it is killed (with its
/// children) and fails the test instead of hanging the run.
/// </summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Variables the test host inherits from `dotnet test` that must not steer the commands we run.</summary>
    private static readonly string[] Scrubbed =
    [
        "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly",
        "DOTNET_ROOT", "DOTNET_STARTUP_HOOKS", "DOTNET_HOST_PATH", "VSTEST_HOST_DEBUG", "Release",
    ];

    public static RunResult Run(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var start = Start(fileName, arguments, workingDirectory, environment, redirect: true);
        var command = Describe(fileName, start.ArgumentList);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data, stdout);
        process.ErrorDataReceived += (_, e) => Append(e.Data, stderr);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        // WaitForExitAsync also waits for both output pipes to close.
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            process.WaitForExitAsync(cts.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            lock (output)
                Assert.Fail($"timed out after {(timeout ?? DefaultTimeout).TotalSeconds}s (killed): {command}\n" +
                    "(if the process had exited, something it started kept its stdout/stderr open)\n" + output);
        }
        lock (output) return new RunResult(command, process.ExitCode, stdout.ToString(), stderr.ToString(), output.ToString());

        void Append(string? line, StringBuilder own)
        {
            if (line is null) return;
            lock (output)
            {
                own.AppendLine(line);
                output.AppendLine(line);
            }
        }
    }

    /// <summary>A start description with the scrubbed environment, for callers that manage the process themselves.</summary>
    public static ProcessStartInfo Start(string fileName, IEnumerable<string> arguments, string? workingDirectory,
        IReadOnlyDictionary<string, string?>? environment, bool redirect)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirect,
            RedirectStandardError = redirect,
            RedirectStandardInput = redirect,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        foreach (var name in Scrubbed) start.Environment.Remove(name);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("RELEASE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        if (environment is not null)
            foreach (var (name, value) in environment)
                if (value is null) start.Environment.Remove(name);
                else start.Environment[name] = value;
        return start;
    }

    private static string Describe(string fileName, IEnumerable<string> arguments) =>
        string.Join(' ', new[] { fileName }.Concat(arguments).Select(a => a.Contains(' ') || a.Length == 0 ? $"'{a}'" : a));
}
