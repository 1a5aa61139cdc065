namespace Relcraft.Launcher;

/// <summary>Entry point for the commands bin/NAME hands to C#.</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "supervise" => Supervisor.Run(args[1..]),
                "ping" => Commands.Ping(),
                "rpc" => Commands.Rpc(args[1..]),
                "remote" => Commands.Remote(),
                _ => Usage(),
            };
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

    private static int Usage()
    {
        Console.Error.WriteLine("Relcraft.Launcher is run by bin/NAME; it is not meant to be called directly.");
        return 2;
    }
}

/// <summary>An expected failure: a one-line message and an exit code, never a stack trace.</summary>
internal sealed class LauncherException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
