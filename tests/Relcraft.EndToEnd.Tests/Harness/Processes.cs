using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>Processes by pid, through /proc: PID 1 here does not reap orphans, so a zombie (state Z) counts as gone.</summary>
public static class Processes
{
    private const int SIGTERM = 15, SIGKILL = 9;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>Field N (counted from 1, as in proc(5)) of /proc/PID/stat, or null when there is no such process.</summary>
    private static string? StatField(int pid, int field)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[field - 3];
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>State letter from /proc/PID/stat, or null when there is no such process.</summary>
    public static string? State(int pid) => StatField(pid, 3);

    /// <summary>Field 22 of /proc/PID/stat: the start time the launcher writes into pid files.</summary>
    public static string? StartTime(int pid) => StatField(pid, 22);

    /// <summary>The parent's pid (a daemon's app: its supervisor).</summary>
    public static int Parent(int pid) => int.Parse(StatField(pid, 4) ?? throw new InvalidOperationException($"no process {pid}"));

    public static bool IsAlive(int pid) => State(pid) is { } s && s != "Z";

    /// <summary>Live processes whose parent is <paramref name="pid"/> (a supervisor's apps).</summary>
    public static IReadOnlyList<int> Children(int pid)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var child) && StatField(child, 4) == $"{pid}" && IsAlive(child)) children.Add(child);
        return children;
    }

    /// <summary>VmRSS from /proc/PID/status, in KiB (its own unit).</summary>
    public static long ResidentKiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
    }

    public static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    /// <summary>SIGTERM, up to <paramref name="grace"/> to go, then SIGKILL. Only ever called with pids our tests started.</summary>
    public static void Stop(int pid, TimeSpan? grace = null)
    {
        if (pid <= 1 || pid == Environment.ProcessId || !IsAlive(pid)) return;
        kill(pid, SIGTERM);
        if (Poll.Until(() => !IsAlive(pid), grace ?? TimeSpan.FromSeconds(5))) return;
        kill(pid, SIGKILL);
        Poll.Until(() => !IsAlive(pid), TimeSpan.FromSeconds(5));
    }

    /// <summary>SIGKILL, as a crash would end it; returns once it is gone. Only ever called with pids our tests started.</summary>
    public static void Kill(int pid)
    {
        if (pid <= 1 || pid == Environment.ProcessId) return;
        kill(pid, SIGKILL);
        Poll.Until(() => !IsAlive(pid), TimeSpan.FromSeconds(5));
    }

    /// <summary>Reads a launcher pid file ("PID STARTTIME") and stops that process if it is the one the file names.</summary>
    public static void StopFromPidFile(string pidFile)
    {
        if (ReadPidFile(pidFile) is not (var pid, var started)) return;
        if (started is not null && StartTime(pid) != started) return; // a reused pid: not ours
        Stop(pid);
    }

    public static (int Pid, string? Started)? ReadPidFile(string pidFile)
    {
        string text;
        try { text = File.ReadAllText(pidFile); }
        catch (IOException) { return null; }
        var parts = text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !int.TryParse(parts[0], out var pid)) return null;
        return (pid, parts.Length > 1 ? parts[1] : null);
    }

    /// <summary>
    /// Live processes whose command line mentions <paramref name="path"/>: with a unique temp folder per
    /// test run, exactly the ones our tests started from it (apps, supervisors, builds).
    /// </summary>
    public static IReadOnlyList<int> Mentioning(string path)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            if (IsAlive(pid) && CommandLine(pid).Contains(path, StringComparison.Ordinal)) pids.Add(pid);
        }
        return pids;
    }

    public static void StopAllMentioning(string path)
    {
        foreach (var pid in Mentioning(path)) Stop(pid, TimeSpan.FromSeconds(2));
    }

    public static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

public static class Poll
{
    /// <summary>Checks <paramref name="condition"/> every 50 ms until it holds (true) or the deadline passes (false).</summary>
    public static bool Until(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (condition()) return true;
            if (DateTime.UtcNow >= deadline) return false;
            Thread.Sleep(50);
        }
    }
}
