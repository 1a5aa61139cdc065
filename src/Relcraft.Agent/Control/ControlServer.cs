using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Relcraft.Agent.Control;

/// <summary>
/// The control channel inside the running app: a Unix domain socket RELEASE_TMP/control/NODE.sock
/// (directory 0700, socket 0600), authenticated by challenge–response keyed by the cookie.
/// It waits in an async accept — no thread, no cost — until someone connects.
/// </summary>
internal static class ControlServer
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);
    private static byte[] _cookie = [];
    private static string? _path;
    private static Socket? _listener;
    private static string? _pending; // bound beside the socket of the process this one replaces, until Publish
    private static readonly object Gate = new();
    private static IDisposable? _directory; // keeps /proc/self/fd/N valid for a long socket path

    public static void StartIfConfigured(string root)
    {
        var command = Environment.GetEnvironmentVariable("RELEASE_COMMAND");
        if (command is not ("start" or "daemon" or "console" or "restart")) return;
        var tmp = Environment.GetEnvironmentVariable("RELEASE_TMP");
        var node = Environment.GetEnvironmentVariable("RELEASE_NODE");
        if (string.IsNullOrEmpty(tmp) || string.IsNullOrEmpty(node) || !OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;

        _cookie = LoadCookie(root);
        var path = Protocol.SocketPath(tmp, node);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // Under a supervisor a new process replaces the one it takes over from (restart, upgrade): it binds its socket
        // beside the old one's and renames it over that path once it is ready (Readiness calls Publish), so rpc reaches
        // whichever process serves, and a new one that never gets ready leaves the old one reachable.
        var supervised = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("RELCRAFT_SUPERVISOR_SOCKET"));
        var taken = File.Exists(path) && IsServed(path);
        if (taken && !supervised)
        {
            Console.Error.WriteLine($"relcraft agent: {path} is served by another process; this one has no control channel");
            return;
        }
        var bound = taken ? $"{path}.{Environment.ProcessId}" : path;
        if (File.Exists(bound)) File.Delete(bound);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(Protocol.EndPoint(bound, out _directory));
        File.SetUnixFileMode(bound, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        listener.Listen(16);
        lock (Gate)
        {
            _path = path;
            _pending = taken ? bound : null;
            _listener = listener;
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Cleanup();
        _ = AcceptLoop(listener);
    }

    /// <summary>The process is ready: a socket bound beside the one it replaces now takes that path.</summary>
    public static void Publish()
    {
        lock (Gate)
        {
            if (_pending is null || _path is null) return;
            try { File.Move(_pending, _path, overwrite: true); }
            catch (IOException e) { Console.Error.WriteLine($"relcraft agent: cannot take over {_path}: {e.Message}"); }
            _pending = null;
        }
    }

    /// <summary>RELCRAFT_COOKIE_FILE (RELEASE_COOKIE handed over by the launcher, read once and deleted) or releases/COOKIE.</summary>
    private static byte[] LoadCookie(string root)
    {
        var handed = Environment.GetEnvironmentVariable("RELCRAFT_COOKIE_FILE");
        Environment.SetEnvironmentVariable("RELCRAFT_COOKIE_FILE", null);
        if (!string.IsNullOrEmpty(handed) && File.Exists(handed))
        {
            var text = File.ReadAllText(handed);
            File.Delete(handed);
            return Encoding.UTF8.GetBytes(text.Trim());
        }
        return Protocol.ReadCookie(root, null);
    }

    private static bool IsServed(string path)
    {
        try
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            var endpoint = Protocol.EndPoint(path, out var directory);
            using (directory) probe.Connect(endpoint);
            return true;
        }
        catch (SocketException) { return false; }
    }

    private static void Cleanup()
    {
        // The socket file may be a newer process's by now (it renamed its own over it): delete it only if nobody answers there.
        string? pending;
        lock (Gate) { pending = _pending; _pending = null; }
        _listener?.Dispose();
        try { if (pending is not null && File.Exists(pending)) File.Delete(pending); }
        catch (IOException) { }
        if (pending is not null) return;
        try { if (_path is not null && File.Exists(_path) && !IsServed(_path)) File.Delete(_path); }
        catch (IOException) { }
    }

    private static async Task AcceptLoop(Socket listener)
    {
        while (true)
        {
            Socket client;
            try { client = await listener.AcceptAsync().ConfigureAwait(false); }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private static async Task Serve(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        try
        {
            using (var timeout = new CancellationTokenSource(HandshakeTimeout))
            {
                if (!await Handshake(stream, timeout.Token).ConfigureAwait(false)) return;
            }
            using var repl = new ReplSession();
            while (await Protocol.ReadAsync(stream).ConfigureAwait(false) is { } frame)
                await Handle(stream, frame.Type, frame.Payload, repl).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ProtocolException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A malformed, oversized, slow or vanished peer costs its own connection and nothing else.
        }
    }

    private static async Task<bool> Handshake(Stream stream, CancellationToken token)
    {
        var serverNonce = RandomNumberGenerator.GetBytes(Protocol.NonceLength);
        var hello = new byte[Protocol.Magic.Length + 1 + serverNonce.Length];
        Protocol.Magic.CopyTo(hello, 0);
        hello[Protocol.Magic.Length] = Protocol.Version;
        serverNonce.CopyTo(hello, Protocol.Magic.Length + 1);
        await Protocol.WriteAsync(stream, Protocol.Frame.Hello, hello, token).ConfigureAwait(false);

        var auth = await Protocol.ReadAsync(stream, token).ConfigureAwait(false);
        if (auth is not { Type: Protocol.Frame.Auth } a || a.Payload.Length != Protocol.NonceLength * 2)
            throw new ProtocolException("expected an authentication frame");
        var clientNonce = a.Payload[..Protocol.NonceLength];
        var proof = a.Payload[Protocol.NonceLength..];
        var expected = Protocol.Proof(_cookie, "client", serverNonce, clientNonce);
        if (!CryptographicOperations.FixedTimeEquals(proof, expected))
        {
            Console.Error.WriteLine("relcraft agent: refused a control connection: authentication failed (wrong cookie)");
            await Protocol.WriteAsync(stream, Protocol.Frame.Error, "authentication failed", token).ConfigureAwait(false);
            return false;
        }
        await Protocol.WriteAsync(stream, Protocol.Frame.AuthOk, Protocol.Proof(_cookie, "server", clientNonce, serverNonce), token).ConfigureAwait(false);
        return true;
    }

    private static async Task Handle(Stream stream, Protocol.Frame type, byte[] payload, ReplSession repl)
    {
        switch (type)
        {
            case Protocol.Frame.Ping:
                await Protocol.WriteAsync(stream, Protocol.Frame.Pong, "pong").ConfigureAwait(false);
                break;
            case Protocol.Frame.Pid:
                await Protocol.WriteAsync(stream, Protocol.Frame.Result, Protocol.ResultPayload(Protocol.Status.Ok, Environment.ProcessId.ToString())).ConfigureAwait(false);
                break;
            case Protocol.Frame.Stop:
                await Protocol.WriteAsync(stream, Protocol.Frame.Result, Protocol.ResultPayload(Protocol.Status.Ok, null)).ConfigureAwait(false);
                if (!Readiness.TryStopApplication()) _ = kill(Environment.ProcessId, 15);
                break;
            case Protocol.Frame.Rpc:
            case Protocol.Frame.RpcImage:
            case Protocol.Frame.RemoteSubmit:
                if (payload.Length < 1) throw new ProtocolException("empty evaluation request");
                var verbose = (payload[0] & Protocol.Verbose) != 0;
                var canCompile = (payload[0] & Protocol.CanCompile) != 0;
                EvalOutcome outcome;
                try
                {
                    if (type == Protocol.Frame.RpcImage)
                    {
                        using (OutputRouter.Capture(out var output))
                        {
                            var result = await CompiledRpc.RunAsync(payload.AsMemory(1), verbose).ConfigureAwait(false);
                            outcome = result with { Text = ReplSession.Join(output.ToString(), result) };
                        }
                    }
                    else if (type == Protocol.Frame.Rpc)
                    {
                        var code = Encoding.UTF8.GetString(payload, 1, payload.Length - 1);
                        using (OutputRouter.Capture(out var output))
                        {
                            var result = await Evaluator.EvaluateAsync(code, [], verbose, compileElsewhere: canCompile).ConfigureAwait(false);
                            outcome = result with { Text = ReplSession.Join(output.ToString(), result) };
                        }
                    }
                    else
                    {
                        outcome = await repl.SubmitAsync(Encoding.UTF8.GetString(payload, 1, payload.Length - 1), verbose).ConfigureAwait(false);
                    }
                }
                catch (Exception e) { outcome = new EvalOutcome(Protocol.Status.Exception, Evaluator.Describe(e, verbose)); }
                await Protocol.WriteAsync(stream, Protocol.Frame.Result, Protocol.ResultPayload(outcome.Status, outcome.Text)).ConfigureAwait(false);
                break;
            default:
                throw new ProtocolException($"unexpected frame type {(byte)type}");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
