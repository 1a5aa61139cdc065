using Relcraft.Agent.Control;

namespace Relcraft.Launcher;

/// <summary>ping, rpc and remote: the commands that talk to the running system.</summary>
internal static class Commands
{
    public static int Ping()
    {
        using var client = ControlClient.Connect();
        Console.Out.WriteLine(client.Ping());
        return ExitCodes.Ok;
    }

    public static int Rpc(string[] args)
    {
        var verbose = args.Contains("--verbose");
        var code = args.Where(a => a != "--verbose").ToArray();
        if (code.Length != 1) throw new LauncherException("usage: rpc EXPR [--verbose]   (quote EXPR as one argument)", ExitCodes.Usage);
        using var client = ControlClient.Connect();
        var (status, text) = client.Evaluate(Protocol.Frame.Rpc, code[0], verbose, RpcTimeout());
        return Print(status, text);
    }

    /// <summary>
    /// A C# shell inside the running system: lines go to the system, which keeps state between
    /// submissions and says when one is incomplete. Prompts only on a terminal; scripted input
    /// gets each submission's value on its own line.
    /// </summary>
    public static int Remote()
    {
        using var client = ControlClient.Connect();
        var interactive = !Console.IsInputRedirected;
        var pending = false;
        var failed = false;
        if (interactive) Console.Out.WriteLine($"Connected to {Environment.GetEnvironmentVariable("RELEASE_NODE")}. #exit (or Ctrl-D) leaves; the system keeps running.");
        while (true)
        {
            if (interactive) { Console.Out.Write(pending ? "... " : "> "); Console.Out.Flush(); }
            var line = Console.In.ReadLine();
            if (line is null || (!pending && line.Trim() == "#exit")) break;
            var (status, text) = client.Evaluate(Protocol.Frame.RemoteSubmit, line, verbose: false, Timeout.InfiniteTimeSpan);
            pending = status == Protocol.Status.Incomplete;
            if (pending) continue;
            if (status != Protocol.Status.Ok) failed = true;
            Print(status, text);
        }
        return failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private static int Print(Protocol.Status status, string? text)
    {
        if (status == Protocol.Status.Ok)
        {
            if (text is not null) Console.Out.WriteLine(text);
            return ExitCodes.Ok;
        }
        if (text is not null) Console.Error.WriteLine(text);
        return ExitCodes.Failed;
    }

    private static TimeSpan RpcTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable("RELEASE_RPC_TIMEOUT"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.FromSeconds(60);
}
