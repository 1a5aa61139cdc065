using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME supervise (started by daemon): runs detached in its own session, starts the app with
/// stdout/stderr into a size-rotated log, writes the pid file, and prints exactly one line for daemon —
/// "ready PID" once the app says READY=1 on NOTIFY_SOCKET, "exited CODE" if it died first,
/// "timeout PID" if it said neither within RELEASE_START_TIMEOUT — on its stdout, then lets go of the
/// launcher's pipe and stays until the app exits, passing SIGTERM/SIGINT on to it.
/// </summary>
internal static class Supervisor
{
    /// <summary>The pipe bin/NAME daemon reads the report from.</summary>
    private const int ReportFd = 1;

    public static int Run(Release release, IReadOnlyList<string> args)
    {
        if (!OperatingSystem.IsWindows())
        {
            Native.setsid();
            // No terminal: stdin from /dev/null, the supervisor's own complaints into the log.
            Native.Redirect(0, "/dev/null", append: false);
            Directory.CreateDirectory(Path.GetDirectoryName(release.LogFile)!);
            Native.Redirect(2, release.LogFile, append: true);
        }
        using var log = new RotatingLog(release.LogFile,
            release.GetLong("RELEASE_LOG_MAX_BYTES", 10 * 1024 * 1024),
            (int)release.GetLong("RELEASE_LOG_FILES", 5));
        var timeout = TimeSpan.FromSeconds(release.GetLong("RELEASE_START_TIMEOUT", 60));

        var env = AppLaunch.Environment(release);
        var (file, appArgs) = AppLaunch.Command(release, env, args);
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var a in appArgs) start.ArgumentList.Add(a);
        start.Environment.Clear();
        foreach (var (k, v) in env) start.Environment[k] = v;

        // Readiness: READY=1 on NOTIFY_SOCKET (an abstract datagram socket of ours), as systemd's protocol.
        // Windows has no datagram Unix sockets: there, and for an app without agent, alive after a grace period.
        using var notify = OperatingSystem.IsWindows() ? null : new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        if (notify is not null)
        {
            var notifyName = $"relcraft/{Environment.ProcessId}/{Guid.NewGuid():N}";
            notify.Bind(new UnixDomainSocketEndPoint("\0" + notifyName));
            start.Environment["NOTIFY_SOCKET"] = "@" + notifyName;
        }

        Process app;
        try { app = Process.Start(start) ?? throw new LauncherException($"cannot start {file}"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            Report($"exited 127");
            throw new LauncherException($"cannot start {file}: {e.Message}");
        }

        log.Line($"started pid {app.Id}: {file} {string.Join(' ', appArgs)}");
        PidFile.Write(release.PidFile, app.Id);
        var pumps = new[] { Pump(app.StandardOutput.BaseStream, log), Pump(app.StandardError.BaseStream, log) };

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Forward(app); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Forward(app); });
        using var hangup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);

        var ready = notify is null || env.ContainsKey("RELCRAFT_NO_AGENT")
            ? Task.Delay(TimeSpan.FromMilliseconds(release.GetLong("RELEASE_READY_GRACE_MS", 500))).ContinueWith(_ => !app.HasExited)
            : WaitForReady(notify);
        var exited = app.WaitForExitAsync();
        var first = Task.WaitAny([ready, exited], timeout);
        string report;
        if (first == 0 && ready.Result) report = $"ready {app.Id}";
        else if (app.HasExited) report = $"exited {app.ExitCode}";
        else report = $"timeout {app.Id}";
        log.Line(report);
        Report(report);

        app.WaitForExit();
        Task.WaitAll(pumps, TimeSpan.FromSeconds(5));
        log.Line($"pid {app.Id} exited with code {app.ExitCode}");
        PidFile.RemoveIfOwned(release.PidFile, app.Id);
        return app.ExitCode;
    }

    /// <summary>The one line for bin/NAME daemon, then the pipe is let go so the launcher can return.</summary>
    private static void Report(string line)
    {
        if (OperatingSystem.IsWindows()) { Console.Out.WriteLine(line); Console.Out.Flush(); Console.Out.Close(); return; }
        Native.WriteLine(ReportFd, line);
        Native.Redirect(ReportFd, "/dev/null", append: false);
    }

    private static void Forward(Process app)
    {
        if (app.HasExited) return;
        if (OperatingSystem.IsWindows()) app.Kill();
        else Native.kill(app.Id, Native.SIGTERM);
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
}
