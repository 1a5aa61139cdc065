using System.Diagnostics;
using System.Globalization;

namespace Relcraft.Sdk.Tests.Infrastructure;

/// <summary>What `find` says about every entry under a folder: inode, mtime (ns), mode, type — the identity a rewrite would change.</summary>
internal sealed record FileStamp(long Inode, string MTime, string Mode, char Type);

internal static class Posix
{
    /// <summary>inode, nanosecond mtime, octal mode and type of every entry under <paramref name="root"/> (not following links), keyed by relative path.</summary>
    public static Dictionary<string, FileStamp> Snapshot(string root)
    {
        var output = Run("find", [root, "-mindepth", "1", "-printf", "%P\t%i\t%T@\t%m\t%y\n"]);
        var result = new Dictionary<string, FileStamp>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            result[f[0]] = new FileStamp(long.Parse(f[1], CultureInfo.InvariantCulture), f[2], f[3], f[4][0]);
        }
        return result;
    }

    public static string OctalMode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);

    /// <summary>Runs a program without a shell and returns its stdout; a non-zero exit fails the test with stderr.</summary>
    public static string Run(string program, IEnumerable<string> args, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var (exit, stdout, stderr) = TryRun(program, args, environment, workingDirectory);
        if (exit != 0) throw new Xunit.Sdk.XunitException($"{program} {string.Join(' ', args)} exited {exit}: {stderr}");
        return stdout;
    }

    public static (int Exit, string Stdout, string Stderr) TryRun(string program, IEnumerable<string> args, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        if (environment is not null)
            foreach (var (k, v) in environment)
                if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stderrTask = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{program} did not exit within 30 s"); }
        return (p.ExitCode, stdout, stderrTask.Result);
    }
}
