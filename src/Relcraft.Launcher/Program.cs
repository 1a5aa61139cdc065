namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME COMMAND: the shim found the release, sourced env.sh and execs this with the command
/// line. Everything with logic happens here, once for Unix and Windows.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            // The supervisor's step between fork and the app: fds to 3.., LISTEN_PID = this pid, exec.
            if (args.Length > 0 && args[0] == "__exec") return Sockets.ExecWithListeners(args[1..]);
            // The Windows service binary: started by the SCM, with no shim and so no RELEASE_* yet.
            if (args is ["service", var bat])
                return OperatingSystem.IsWindows() ? WindowsServiceHost.Run(bat) : throw new LauncherException("service: Windows only (on Linux, bin/NAME install writes systemd units)");
            var release = Release.FromProcess();
            if (args.Length == 0)
            {
                Usage.Print(release);
                return ExitCodes.Failed;
            }
            var rest = args[1..];
            switch (args[0])
            {
                case "start": return Foreground.Start(release, rest, console: false);
                case "console": return Foreground.Start(release, rest, console: true);
                case "daemon": return Daemon.Start(release, rest);
                case "supervise": return Supervisor.Run(release, rest);
                case "stop": return Stopper.Stop(release);
                case "restart": return Restarter.Run(release, rest);
                case "upgrade": return Upgrade.Run(release, rest, downgrade: false);
                case "downgrade": return Upgrade.Run(release, rest, downgrade: true);
                case "versions": return Upgrade.Versions(release, rest);
                case "__switch": return Upgrade.Switch(release, rest);
                case "pid":
                    if (PidFile.Running(release.PidFile) is not int pid) throw new LauncherException($"{release.Name} is not running");
                    Console.Out.WriteLine(pid);
                    return ExitCodes.Ok;
                case "status": return Status.Print(release);
                case "version":
                    Console.Out.WriteLine($"{release.Name} {release.Vsn}");
                    return ExitCodes.Ok;
                case "ping": return Commands.Ping(release);
                case "rpc": return Commands.Rpc(release, rest);
                case "remote": return Commands.Remote(release);
                case "eval": return Foreground.Eval(release, rest);
                case "verify": return Verify.Run(release, rest);
                case "install": return Install.Run(release, rest, uninstall: false);
                case "uninstall": return Install.Run(release, rest, uninstall: true);
                case "help" or "-h" or "--help":
                    Usage.Print(release);
                    return ExitCodes.Ok;
                default: return Foreground.Custom(release, args[0], rest);
            }
        }
        catch (LauncherException e)
        {
            Console.Error.WriteLine(e.Message);
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException or ArgumentException)
        {
            Console.Error.WriteLine($"relcraft: {e.Message}");
            return ExitCodes.Failed;
        }
    }
}

/// <summary>An expected failure: a one-line message and an exit code, never a stack trace.</summary>
internal sealed class LauncherException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
