using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Relcraft.Launcher;

/// <summary>
/// Becomes another program: on Unix execve(2), so the pid stays (systemd's Type=notify,
/// SYSTEMD_EXEC_PID and LISTEN_PID keep working for `start`); on Windows, where nothing can exec,
/// runs it as a child and returns its exit code.
/// </summary>
internal static class Exec
{
    public static int Replace(string file, IReadOnlyList<string> args, IDictionary<string, string> env)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (OperatingSystem.IsWindows())
        {
            var start = new ProcessStartInfo(file) { UseShellExecute = false };
            foreach (var a in args) start.ArgumentList.Add(a);
            start.Environment.Clear();
            foreach (var (k, v) in env) start.Environment[k] = v;
            try
            {
                using var child = Process.Start(start)!;
                child.WaitForExit();
                return child.ExitCode;
            }
            catch (System.ComponentModel.Win32Exception e) { throw new LauncherException($"cannot run {file}: {e.Message}"); }
        }
        var errno = Native.Execve(file, [file, .. args], env.Select(kv => $"{kv.Key}={kv.Value}"));
        throw new LauncherException($"cannot run {file}: {Marshal.GetPInvokeErrorMessage(errno)}", 127);
    }
}
