using Relcraft.Agent.Control;

namespace Relcraft.Launcher;

/// <summary>ping, rpc and remote: the commands that talk to the running system.</summary>
internal static class Commands
{
    public static int Ping(Release release)
    {
        using var client = Connect(release, "ping");
        Console.Out.WriteLine(client.Ping());
        return ExitCodes.Ok;
    }

    public static int Rpc(Release release, string[] args)
    {
        var verbose = args.Contains("--verbose");
        var code = args.Where(a => a != "--verbose").ToArray();
        if (code.Length != 1) throw new LauncherException("usage: rpc EXPR [--verbose]   (quote EXPR as one argument)", ExitCodes.Usage);
        using var client = Connect(release, "rpc");
        var timeout = RpcTimeout();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (status, text) = client.Evaluate(Protocol.Frame.Rpc, code[0], verbose, timeout, canCompile: true);
        if (status == Protocol.Status.Compile)
        {
            switch (RpcCompiler.Compile(release, code[0], Left(timeout, started)))
            {
                case RpcCompiler.Result { Image: { } image }:
                    (status, text) = client.RunCompiled(image, verbose, Left(timeout, started));
                    break;
                case RpcCompiler.Result { Errors: { } errors }:
                    (status, text) = (Protocol.Status.CompileError, errors);
                    break;
                default:
                    // No compile process (no scripting in this release's tools, a boot that fails without the app's
                    // own environment…): the running system compiles it, as it did before there was one.
                    (status, text) = client.Evaluate(Protocol.Frame.Rpc, code[0], verbose, Left(timeout, started));
                    break;
            }
        }
        return Print(status, text);
    }

    /// <summary>
    /// A C# shell inside the running system: lines go to the system, which keeps state between
    /// submissions and says when one is incomplete. Prompts only on a terminal; scripted input
    /// gets each submission's value on its own line.
    /// </summary>
    public static int Remote(Release release)
    {
        using var client = Connect(release, "remote");
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

    /// <summary>
    /// Connects; only when nothing answers does it read the runtimeconfig to say why (an app that
    /// disables startup hooks runs no agent), which keeps that file off every ping's path.
    /// </summary>
    private static ControlClient Connect(Release release, string command)
    {
        try { return ControlClient.Connect(); }
        catch (LauncherException e) when (e.ExitCode == ExitCodes.NotRunning)
        {
            AppLaunch.RequireAgent(release, command);
            throw;
        }
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

    private static TimeSpan Left(TimeSpan timeout, long started)
    {
        var left = timeout - System.Diagnostics.Stopwatch.GetElapsedTime(started);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    private static TimeSpan RpcTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable("RELEASE_RPC_TIMEOUT"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.FromSeconds(60);
}
