using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME daemon: runs detached in its own session, starts the app with stdout/stderr into a
/// size-rotated log, writes the pid file, and prints exactly one line for the launcher —
/// "ready PID" once the app says READY=1 on NOTIFY_SOCKET, "exited CODE" if it died first,
/// "timeout PID" if it said neither within RELEASE_START_TIMEOUT — on fd 3, then lets go of the
/// launcher's pipe and stays until the app exits, passing SIGTERM/SIGINT on to it.
/// </summary>
internal static class Supervisor
{
    public static int Run(string[] args)
    {
        var separator = Array.IndexOf(args, "--");
        if (separator != 2 || args.Length < 4) throw new LauncherException("usage: supervise PID_FILE LOG_FILE -- COMMAND [ARGS]", 2);
        var pidFile = args[0];
        var logFile = args[1];
        var command = args[(separator + 1)..];

        Native.setsid();
        Native.KeepReportFromChildren();
        using var log = new RotatingLog(logFile,
            EnvLong("RELEASE_LOG_MAX_BYTES", 10 * 1024 * 1024),
            (int)EnvLong("RELEASE_LOG_FILES", 5));
        var timeout = TimeSpan.FromSeconds(EnvLong("RELEASE_START_TIMEOUT", 60));

        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        var notifyName = $"relcraft/{Environment.ProcessId}/{Guid.NewGuid():N}";
        notify.Bind(new UnixDomainSocketEndPoint("\0" + notifyName));

        var start = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in command[1..]) start.ArgumentList.Add(a);
        start.Environment["NOTIFY_SOCKET"] = "@" + notifyName;

        Process app;
        try { app = Process.Start(start) ?? throw new LauncherException($"cannot start {command[0]}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new LauncherException($"cannot start {command[0]}: {e.Message}"); }

        log.Line($"started pid {app.Id}: {string.Join(' ', command)}");
        WritePidFile(pidFile, app.Id);
        var pumps = new[] { Pump(app.StandardOutput.BaseStream, log), Pump(app.StandardError.BaseStream, log) };

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Forward(app); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Forward(app); });
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);

        // An app that disables startup hooks has no agent to say READY=1: alive after the grace period will do.
        var ready = Environment.GetEnvironmentVariable("RELCRAFT_NO_AGENT") == "1"
            ? Task.Delay(TimeSpan.FromMilliseconds(EnvLong("RELEASE_READY_GRACE_MS", 500))).ContinueWith(_ => !app.HasExited)
            : WaitForReady(notify);
        var exited = app.WaitForExitAsync();
        var first = Task.WaitAny([ready, exited], timeout);
        string report;
        if (first == 0 && ready.Result) report = $"ready {app.Id}";
        else if (app.HasExited) report = $"exited {app.ExitCode}";
        else report = $"timeout {app.Id}";
        log.Line(report);
        // Console would dup the descriptors and keep the launcher's pipe open: write the raw fd.
        Native.Report(report);

        app.WaitForExit();
        Task.WaitAll(pumps, TimeSpan.FromSeconds(5));
        log.Line($"pid {app.Id} exited with code {app.ExitCode}");
        RemovePidFile(pidFile, app.Id);
        return app.ExitCode;
    }

    private static void Forward(Process app)
    {
        if (!app.HasExited) Native.kill(app.Id, Native.SIGTERM);
    }

    private static async Task<bool> WaitForReady(Socket notify)
    {
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try { n = await notify.ReceiveAsync(buffer, SocketFlags.None); }
            catch (SocketException) { return false; }
            catch (ObjectDisposedException) { return false; }
            var message = Encoding.UTF8.GetString(buffer, 0, n);
            if (message.Split('\n').Contains("READY=1")) return true;
        }
    }

    private static async Task Pump(Stream from, RotatingLog log)
    {
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer)) > 0) log.Write(buffer.AsSpan(0, n));
    }

    private static void WritePidFile(string pidFile, int pid)
    {
        var started = Relcraft.Agent.ProcessInfo.StartTicks(pid);
        var temp = $"{pidFile}.tmp.{Environment.ProcessId}";
        File.WriteAllText(temp, started is null ? $"{pid}\n" : $"{pid} {started}\n");
        File.Move(temp, pidFile, overwrite: true);
    }

    private static void RemovePidFile(string pidFile, int pid)
    {
        try
        {
            if (File.Exists(pidFile) && File.ReadAllText(pidFile).Split(' ', '\n')[0] == pid.ToString()) File.Delete(pidFile);
        }
        catch (IOException) { /* the launcher's stop removes it too */ }
    }

    private static long EnvLong(string name, long fallback) =>
        long.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;
}
