using System.Diagnostics;
using System.Reflection;

namespace Relcraft.Agent;

/// <summary>
/// Runs inside the app before Main. Whatever happens here must never take the app down:
/// every failure is reported on stderr and ignored.
/// </summary>
internal static class Boot
{
    public static void Initialize()
    {
        try
        {
            PidFile.WriteIfRequested();
            Readiness.Watch(Assembly.GetEntryAssembly());
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft agent: {e.GetType().Name}: {e.Message}");
        }
    }
}

/// <summary>Where a shell cannot exec (cmd.exe), the app writes its own pid file: "PID STARTTIME".</summary>
internal static class PidFile
{
    public static void WriteIfRequested()
    {
        var path = Environment.GetEnvironmentVariable("RELCRAFT_PID_FILE");
        if (string.IsNullOrEmpty(path)) return;
        Environment.SetEnvironmentVariable("RELCRAFT_PID_FILE", null);
        var started = ProcessInfo.StartTicks(Environment.ProcessId);
        File.WriteAllText(path, started is null ? $"{Environment.ProcessId}\n" : $"{Environment.ProcessId} {started}\n");
    }
}

/// <summary>Shared with Relcraft.Launcher: how a pid file names one process for good.</summary>
public static class ProcessInfo
{
    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks), or null where there is no /proc.</summary>
    public static string? StartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
