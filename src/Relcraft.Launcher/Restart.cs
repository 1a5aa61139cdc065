using System.Diagnostics;
using System.Globalization;

namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME restart: first checks, while the old system still serves, what the new boot needs — each
/// socket's Listen and runtime.json resolve in this environment — then asks the supervisor to replace
/// the app (on the held sockets the new process is ready before the old one drains). Without a
/// supervisor (start in the foreground, or nothing running) it is stop + daemon, after the same checks.
/// </summary>
internal static class Restarter
{
    public static int Run(Release release, IReadOnlyList<string> args)
    {
        var running = Supervisor.Running(release) is not null || PidFile.Running(release.PidFile) is not null;
        if (running) Preflight(release);
        if (Supervisor.Running(release) is not null)
        {
            var wait = TimeSpan.FromSeconds(release.GetLong("RELEASE_START_TIMEOUT", 60) + release.StopTimeout + 30);
            var reply = SupervisorWire.Send(release, "restart", args, release.Env, wait)
                ?? throw new LauncherException($"the supervisor of {release.Name} does not answer on {Supervisor.SocketOf(release)}");
            var lines = reply.Split('\n');
            if (lines[0].StartsWith("ok ", StringComparison.Ordinal)) return ExitCodes.Ok;
            Console.Error.WriteLine($"{release.Name} restart failed: {FailureReason(lines)}");
            if (PidFile.Running(release.PidFile) is int serving) Console.Error.WriteLine($"{release.Name} keeps running (pid {serving})");
            PrintTail(lines);
            return ExitCodes.Failed;
        }
        if (PidFile.Running(release.PidFile) is not null && Stopper.Stop(release) != ExitCodes.Ok) return ExitCodes.Failed;
        return Daemon.Start(release, args);
    }

    /// <summary>The supervisor's "failed REASON" line of a reply to restart or upgrade.</summary>
    public static string FailureReason(string[] replyLines) =>
        replyLines[0].StartsWith("failed ", StringComparison.Ordinal) ? replyLines[0]["failed ".Length..] : replyLines[0];

    /// <summary>The new process's last lines, which follow the supervisor's failure line.</summary>
    public static void PrintTail(string[] replyLines)
    {
        var tail = replyLines.Skip(1).Where(l => l.Length > 0).ToList();
        if (tail.Count == 0) return;
        Console.Error.WriteLine("Last lines of the new process:");
        foreach (var line in tail) Console.Error.WriteLine(line);
    }

    /// <summary>What would stop the new boot, found before anything is stopped; a one-line error otherwise.</summary>
    public static void Preflight(Release release, string verb = "restart", bool bootCheck = true)
    {
        try
        {
            Sockets.Check(release, release.Get);
            if (bootCheck) CheckBootConfig(release);
        }
        catch (LauncherException e)
        {
            var serving = PidFile.Running(release.PidFile);
            throw new LauncherException($"{release.Name} {verb} refused: {e.Message}" + (serving is int p ? $"; pid {p} keeps running" : ""));
        }
    }

    /// <summary>The agent resolves runtime.json and the config providers (RELCRAFT_CHECK=1) and exits before Main.</summary>
    private static void CheckBootConfig(Release release)
    {
        if (AppLaunch.HooksDisabled(release)) return;
        var env = AppLaunch.Environment(release);
        env.Remove("RELEASE_COOKIE");
        env["RELCRAFT_CHECK"] = "1";
        var (file, args) = AppLaunch.Command(release, env, []);
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Clear();
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var check = Process.Start(start) ?? throw new LauncherException($"cannot start {file}");
        check.StandardInput.Close();
        var output = check.StandardOutput.ReadToEndAsync();
        var errors = check.StandardError.ReadToEndAsync();
        // Its own bound: a short RELEASE_START_TIMEOUT is for the new process, and a busy machine should not turn it into a refusal.
        if (!check.WaitForExit(TimeSpan.FromSeconds(Math.Max(60, release.GetLong("RELEASE_START_TIMEOUT", 60)))))
        {
            check.Kill();
            throw new LauncherException("the boot configuration check did not finish");
        }
        check.WaitForExit();
        if (check.ExitCode == 0) return;
        var said = (errors.Result + output.Result).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var message = said.FirstOrDefault(l => l.StartsWith("ERROR:", StringComparison.Ordinal)) is { } error ? error["ERROR:".Length..].Trim()
            : said.LastOrDefault() ?? $"the boot configuration check exited with code {check.ExitCode}";
        throw new LauncherException(message);
    }
}

/// <summary>bin/NAME status: app pid, supervisor pid, version, uptime, restarts; LSB exit codes (0 running, 3 not).</summary>
internal static class Status
{
    public static int Print(Release release)
    {
        var app = PidFile.Running(release.PidFile);
        string? reply = null;
        if (Supervisor.Running(release) is not null)
        {
            try { reply = SupervisorWire.Send(release, "status", [], new Dictionary<string, string>(), TimeSpan.FromSeconds(5)); }
            catch (LauncherException) { }
        }
        if (reply is null)
        {
            Console.Out.WriteLine(app is int pid ? $"{release.Name} is running (pid {pid})" : $"{release.Name} is not running");
            return app is null ? ExitCodes.NotRunning : ExitCodes.Ok;
        }
        var facts = reply.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToList();
        string[]? Fact(string key) => facts.FirstOrDefault(f => f[0] == key);
        var appFact = Fact("app");
        var supervisorFact = Fact("supervisor");
        var version = Fact("version")?.ElementAtOrDefault(1) ?? release.Vsn;
        Console.Out.WriteLine(appFact is not null ? $"{release.Name} {version} is running (pid {appFact[1]})" : $"{release.Name} {version} is not running (its supervisor is restarting it)");
        if (appFact is not null) Console.Out.WriteLine($"  app pid         {appFact[1]} (up {Uptime(appFact[2])})");
        if (supervisorFact is not null) Console.Out.WriteLine($"  supervisor pid  {supervisorFact[1]} (up {Uptime(supervisorFact[2])})");
        Console.Out.WriteLine($"  restarts        {Fact("heart-restarts")?[1] ?? "0"} by heart (heart {Fact("heart")?[1] ?? "on"}), {Fact("restarts")?[1] ?? "0"} by restart");
        foreach (var socket in facts.Where(f => f[0] == "socket" && f.Length >= 3)) Console.Out.WriteLine($"  socket {socket[1],-8} {socket[2]}");
        return appFact is null ? ExitCodes.NotRunning : ExitCodes.Ok;
    }

    private static string Uptime(string seconds)
    {
        if (!long.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var s)) return seconds;
        var t = TimeSpan.FromSeconds(s);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:00}s" : $"{t.Seconds}s";
    }
}
