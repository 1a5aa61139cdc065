using System.Diagnostics;

namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME daemon: starts the supervisor (this launcher again, `supervise`) detached in its own
/// session and waits for its one-line report on a pipe — the supervisor sends it once the app is
/// ready or has died — then runs post_start hooks. Logs are the supervisor's business.
/// </summary>
internal static class Daemon
{
    public static int Start(Release release, IReadOnlyList<string> args)
    {
        if (PidFile.Running(release.PidFile) is int pid) throw new LauncherException($"{release.Name} is already running (pid {pid})");
        if (Supervisor.Running(release) is int supervising) throw new LauncherException($"{release.Name} is already running (supervisor pid {supervising})");
        release.PrepareTmp();
        Directory.CreateDirectory(Path.GetDirectoryName(release.LogFile)!);
        Cookie.Ensure(release);
        if (!Hooks.Run(release, "pre_start")) return ExitCodes.Failed;

        var env = new Dictionary<string, string>(release.Env);
        Cookie.HandOver(release, env);
        // Nothing of ours but stdio reaches the supervisor: an inherited descriptor (the runtime keeps a
        // dup of stderr) would hold the operator's pipe open for as long as the daemon lives.
        if (!OperatingSystem.IsWindows()) Native.KeepDescriptorsFromChildren();
        var (file, selfArgs) = Self();
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            // Not the operator's stderr either: a runtime keeps a dup of the stderr it started with, which
            // would hold the operator's pipe open for as long as the daemon lives. The supervisor moves its
            // own stderr to the log at once; what a runtime says before that is shown below if it dies.
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var a in selfArgs) start.ArgumentList.Add(a);
        start.ArgumentList.Add("supervise");
        start.ArgumentList.Add("--detached");
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Clear();
        foreach (var (k, v) in env) start.Environment[k] = v;

        var timeout = release.GetLong("RELEASE_START_TIMEOUT", 60);
        string report;
        using (var supervisor = Process.Start(start) ?? throw new LauncherException($"cannot start {file}"))
        {
            supervisor.StandardInput.Close();
            // The supervisor keeps its own RELEASE_START_TIMEOUT; this bound only guards against a supervisor that hangs itself.
            var errors = supervisor.StandardError.ReadToEndAsync();
            var line = supervisor.StandardOutput.ReadLineAsync();
            report = line.Wait(TimeSpan.FromSeconds(timeout + 30)) ? line.Result ?? "" : $"no report from the supervisor (pid {supervisor.Id}) within {timeout + 30}s";
            if (report.Length == 0 && errors.Wait(TimeSpan.FromSeconds(5)) && errors.Result.Trim() is { Length: > 0 } said)
                Console.Error.WriteLine(said);
        }
        var (code, message) = Interpret(report, release.Name, timeout);
        if (code == ExitCodes.Ok)
        {
            Hooks.Run(release, "post_start");
            return code;
        }
        Console.Error.WriteLine(message);
        LogTail(release);
        return code;
    }

    /// <summary>What the supervisor's report means to the operator: exit code and the line to print.</summary>
    public static (int Code, string? Message) Interpret(string report, string name, long timeoutSeconds)
    {
        var (word, rest) = report.IndexOf(' ') is var i and > 0 ? (report[..i], report[(i + 1)..]) : (report, "");
        return word switch
        {
            "ready" => (ExitCodes.Ok, null),
            "timeout" => (ExitCodes.Failed, $"{name} did not report ready within {timeoutSeconds}s (pid {rest}); it keeps running"),
            "exited" => (ExitCodes.Failed, $"{name} failed to start (exit code {rest})"),
            "error" => (ExitCodes.Failed, $"{name} failed to start: {rest}"),
            _ => (ExitCodes.Failed, $"{name} failed to start: {report}"),
        };
    }

    public static void LogTail(Release release)
    {
        if (!File.Exists(release.LogFile)) return;
        var count = (int)release.GetLong("RELEASE_LOG_TAIL", 20);
        Console.Error.WriteLine($"Last lines of {release.LogFile}:");
        try
        {
            using var stream = new FileStream(release.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var lines = new Queue<string>();
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                lines.Enqueue(line);
                if (lines.Count > count) lines.Dequeue();
            }
            foreach (var line in lines) Console.Error.WriteLine(line);
        }
        catch (IOException) { }
    }

    /// <summary>This launcher's own command line: the native executable, or dotnet exec Relcraft.Launcher.dll.</summary>
    public static (string File, string[] Args) Self()
    {
        var path = Environment.ProcessPath ?? throw new LauncherException("cannot tell where the launcher runs from");
        if (Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            return (path, ["exec", Path.Combine(AppContext.BaseDirectory, "Relcraft.Launcher.dll")]);
        return (path, []);
    }
}

/// <summary>bin/NAME stop: graceful, waits until the system is gone, kills it after RELEASE_STOP_TIMEOUT.</summary>
internal static class Stopper
{
    public static int Stop(Release release)
    {
        var supervisor = Supervisor.Running(release);
        var app = PidFile.Running(release.PidFile);
        if (supervisor is null && app is null)
        {
            Console.Error.WriteLine($"{release.Name} is not running");
            return ExitCodes.Failed;
        }
        var appStarted = app is int a ? ProcFs.Stat(a)?.Started : null;
        var supervisorStarted = supervisor is int s ? ProcFs.Stat(s)?.Started : null;
        Hooks.Run(release, "pre_stop");
        // Under a supervisor, it is the one told: it stops the app and supervision ends (heart brings nothing back).
        if (supervisor is int sup) Terminate(sup);
        else Terminate(app!.Value);
        bool Alive() => (app is int ap && PidFile.IsSame(ap, appStarted)) || (supervisor is int sp && PidFile.IsSame(sp, supervisorStarted));
        var deadline = Stopwatch.StartNew();
        var appKilled = false;
        while (Alive())
        {
            var elapsed = deadline.Elapsed.TotalSeconds;
            if (!appKilled && elapsed >= release.StopTimeout && app is int ap2 && PidFile.IsSame(ap2, appStarted))
            {
                Console.Error.WriteLine($"{release.Name} did not stop within {release.StopTimeout}s; killing pid {ap2}");
                Kill(ap2);
                appKilled = true;
            }
            // The supervisor ends once its app has: one that is still there well after that hangs itself.
            if (elapsed >= release.StopTimeout + 10 && supervisor is int sp2 && PidFile.IsSame(sp2, supervisorStarted))
            {
                Console.Error.WriteLine($"the supervisor of {release.Name} (pid {sp2}) did not end; killing it");
                Kill(sp2);
                if (app is int orphan) Kill(orphan);
                while (Alive()) Thread.Sleep(20);
                break;
            }
            Thread.Sleep(20);
        }
        try { File.Delete(release.PidFile); } catch (IOException) { }
        Hooks.Run(release, "post_stop");
        return ExitCodes.Ok;
    }

    private static void Terminate(int pid)
    {
        if (!OperatingSystem.IsWindows()) { Native.kill(pid, Native.SIGTERM); return; }
        // No SIGTERM on Windows: the agent stops the host gracefully when asked on the control channel.
        try
        {
            using var client = ControlClient.Connect();
            client.Stop();
        }
        catch (LauncherException) { Kill(pid); }
    }

    private static void Kill(int pid)
    {
        if (!OperatingSystem.IsWindows()) { Native.kill(pid, Native.SIGKILL); return; }
        try { using var p = Process.GetProcessById(pid); p.Kill(entireProcessTree: true); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }
}
