using System.Diagnostics;
using System.Globalization;

namespace Relcraft.Launcher;

/// <summary>
/// RELEASE_TMP/NODE.pid: "PID STARTTICKS". A pid file counts only while it names a live process
/// that is still the one it was written for: a zombie counts as gone (PID 1 may not reap), and a
/// pid reused by another program (another start time) counts as gone.
/// </summary>
internal static class PidFile
{
    /// <summary>The pid of the running system, or null.</summary>
    public static int? Running(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var parts = text.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0) return null;
        return IsSame(pid, parts.Length > 1 ? parts[1] : null) ? pid : null;
    }

    /// <summary>True while <paramref name="pid"/> is alive and, when known, started at <paramref name="started"/>.</summary>
    public static bool IsSame(int pid, string? started)
    {
        var stat = ProcFs.Stat(pid);
        if (stat is null || stat.Value.State == 'Z') return false;
        return started is null || stat.Value.Started is null || stat.Value.Started == started;
    }

    /// <summary>Written whole or not at all (temp file, then rename).</summary>
    public static void Write(string path, int pid)
    {
        var started = ProcFs.Stat(pid)?.Started;
        var temp = $"{path}.tmp.{Environment.ProcessId}";
        File.WriteAllText(temp, started is null ? $"{pid}\n" : $"{pid} {started}\n");
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Removes the pid file if it still names <paramref name="pid"/> (a newer one is left alone).</summary>
    public static void RemoveIfOwned(string path, int pid)
    {
        try
        {
            if (File.Exists(path) && File.ReadAllText(path).Split(' ', '\n')[0] == pid.ToString(CultureInfo.InvariantCulture)) File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

internal static class ProcFs
{
    /// <summary>State letter and start time (clock ticks, field 22 of /proc/PID/stat) of a process, or null if there is none.</summary>
    public static (char State, string? Started)? Stat(int pid)
    {
        if (!OperatingSystem.IsLinux())
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                return p.HasExited ? null : ('R', null);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return null; }
        }
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            if (close < 0 || close + 2 >= stat.Length) return null;
            var fields = stat[(close + 2)..].Split(' ');
            return (fields[0][0], fields.Length > 19 ? fields[19] : null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
