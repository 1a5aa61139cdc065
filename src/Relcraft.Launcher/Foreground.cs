namespace Relcraft.Launcher;

/// <summary>start, console, eval and custom commands: this process becomes the app (or a script).</summary>
internal static class Foreground
{
    /// <summary>Kept reachable until exec: a collected Socket would close its descriptor.</summary>
    private static List<HeldSocket> Held = [];

    public static int Start(Release release, IReadOnlyList<string> args, bool console)
    {
        if (console) AppLaunch.RequireAgent(release, "console");
        if (PidFile.Running(release.PidFile) is int pid) throw new LauncherException($"{release.Name} is already running (pid {pid})");
        release.PrepareTmp();
        Cookie.Ensure(release);
        if (!Hooks.Run(release, "pre_start")) return ExitCodes.Failed;
        // Declared sockets: systemd's (socket activation) or bound here; exec keeps this pid, so LISTEN_PID is the app's.
        Held = OperatingSystem.IsWindows() ? [] : Sockets.Open(release, release.Get);
        var env = AppLaunch.Environment(release);
        Cookie.HandOver(release, env);
        var (file, appArgs) = AppLaunch.Command(release, env, args);
        if (Held.Count > 0)
        {
            Sockets.Describe(Held, env);
            Sockets.PlaceForExec(env);
        }
        // exec keeps this pid, so it is the app's; cmd.exe cannot exec, so there the agent writes it.
        if (OperatingSystem.IsWindows()) env["RELCRAFT_PID_FILE"] = release.PidFile;
        else PidFile.Write(release.PidFile, Environment.ProcessId);
        return Exec.Replace(file, appArgs, env);
    }

    /// <summary>A fresh app process; the agent evaluates EXPR before Main and exits.</summary>
    public static int Eval(Release release, IReadOnlyList<string> args)
    {
        if (args.Count < 1)
        {
            Usage.Print(release);
            Console.Error.WriteLine("eval needs an expression");
            return ExitCodes.Usage;
        }
        AppLaunch.RequireAgent(release, "eval");
        var env = AppLaunch.Environment(release);
        env["RELCRAFT_EVAL"] = args[0];
        env.Remove("RELEASE_COOKIE");
        var (file, appArgs) = AppLaunch.Command(release, env, args.Skip(1));
        return Exec.Replace(file, appArgs, env);
    }

    /// <summary>ReleaseCommand items: releases/VSN/commands/NAME.eval (eval), .rpc (rpc) or .sh (a script).</summary>
    public static int Custom(Release release, string command, IReadOnlyList<string> args)
    {
        var custom = command.Length == 0 || command.StartsWith('.') || command.IndexOfAny(['/', '\\']) >= 0
            ? null
            : Path.Combine(release.VsnDir, "commands", command);
        if (custom is not null && File.Exists(custom + ".eval"))
            return Eval(release, [Script(custom + ".eval"), .. args]);
        if (custom is not null && File.Exists(custom + ".rpc"))
            return Commands.Rpc(release, [Script(custom + ".rpc")]);
        if (custom is not null && File.Exists(custom + ".sh"))
        {
            return Exec.Replace(OperatingSystem.IsWindows() ? "sh.exe" : "/bin/sh", [custom + ".sh", .. args], release.ChildEnvironment());
        }
        Usage.Print(release);
        Console.Error.WriteLine($"Unknown command: {command}");
        return ExitCodes.Failed;
    }

    private static string Script(string path) => File.ReadAllText(path).TrimEnd('\n', '\r');
}
