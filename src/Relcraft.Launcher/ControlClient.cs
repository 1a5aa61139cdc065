using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Relcraft.Agent.Control;

namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME ping | rpc | remote: connects to the running system's control socket, proves it
/// knows the cookie (and checks the system does too), then sends requests.
/// </summary>
internal sealed class ControlClient : IDisposable
{
    private readonly Socket? _socket;
    private readonly Stream _stream;
    private bool _timedOut;

    private ControlClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    private ControlClient(UnixClientStream stream) => _stream = stream;

    public static ControlClient Connect()
    {
        var root = Required("RELEASE_ROOT");
        var tmp = Required("RELEASE_TMP");
        var node = Required("RELEASE_NODE");
        var name = Environment.GetEnvironmentVariable("RELEASE_NAME") ?? node;
        var path = Protocol.SocketPath(tmp, node);
        var client = OperatingSystem.IsLinux() ? ConnectLinux(path, name) : ConnectSocket(path, name);
        try
        {
            client.Authenticate(Protocol.ReadCookie(root, Environment.GetEnvironmentVariable("RELEASE_COOKIE")));
        }
        catch
        {
            client.Dispose();
            throw;
        }
        return client;
    }

    private static ControlClient ConnectLinux(string path, string name)
    {
        var stream = UnixClientStream.Connect(path, out var failure, out _);
        return failure switch
        {
            UnixClientStream.Failure.None => new ControlClient(stream!),
            UnixClientStream.Failure.AccessDenied => throw new LauncherException($"permission denied on {path}: run as the user that started {name}", ExitCodes.AuthenticationFailed),
            _ => throw new LauncherException($"{name} is not running (no control socket at {path})", ExitCodes.NotRunning),
        };
    }

    private static ControlClient ConnectSocket(string path, string name)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            var endpoint = Protocol.EndPoint(path, out var directory);
            using (directory) socket.Connect(endpoint);
        }
        catch (IOException)
        {
            socket.Dispose();
            throw new LauncherException($"{name} is not running (no control socket at {path})", ExitCodes.NotRunning);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            socket.Dispose();
            throw new LauncherException($"permission denied on {path}: run as the user that started {name}", ExitCodes.AuthenticationFailed);
        }
        catch (SocketException)
        {
            // Refused, no such address, no AF_UNIX: nothing is listening there.
            socket.Dispose();
            throw new LauncherException($"{name} is not running (no control socket at {path})", ExitCodes.NotRunning);
        }
        return new ControlClient(socket);
    }
    private void Authenticate(byte[] cookie)
    {
        var hello = Read();
        if (hello.Type != Protocol.Frame.Hello || hello.Payload.Length != Protocol.Magic.Length + 1 + Protocol.NonceLength ||
            !hello.Payload.AsSpan(0, Protocol.Magic.Length).SequenceEqual(Protocol.Magic))
            throw new LauncherException("the control socket does not speak the Relcraft protocol", ExitCodes.ProtocolError);
        if (hello.Payload[Protocol.Magic.Length] != Protocol.Version)
            throw new LauncherException($"the running system speaks control protocol {hello.Payload[Protocol.Magic.Length]}, this launcher {Protocol.Version}", ExitCodes.ProtocolError);
        var serverNonce = hello.Payload[(Protocol.Magic.Length + 1)..];
        var clientNonce = Nonce();
        Send(Protocol.Frame.Auth, [.. clientNonce, .. Protocol.Proof(cookie, "client", serverNonce, clientNonce)]);
        var answer = Read();
        if (answer.Type == Protocol.Frame.Error || answer.Type != Protocol.Frame.AuthOk ||
            !CryptographicOperations.FixedTimeEquals(answer.Payload, Protocol.Proof(cookie, "server", clientNonce, serverNonce)))
            throw new LauncherException("authentication failed: the cookie does not match the running system's (releases/COOKIE or RELEASE_COOKIE)", ExitCodes.AuthenticationFailed);
    }

    /// <summary>
    /// The client's nonce from the kernel's CSPRNG: on Linux .NET's RandomNumberGenerator goes through
    /// OpenSSL, which costs the native launcher more to load than the rest of a ping.
    /// </summary>
    private static byte[] Nonce()
    {
        if (OperatingSystem.IsWindows()) return RandomNumberGenerator.GetBytes(Protocol.NonceLength);
        var nonce = new byte[Protocol.NonceLength];
        using (var random = new FileStream("/dev/urandom", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
            random.ReadExactly(nonce);
        return nonce;
    }

    public string Ping()
    {
        Send(Protocol.Frame.Ping, []);
        var pong = Read();
        return Encoding.UTF8.GetString(pong.Payload);
    }

    /// <summary>Asks the system to stop gracefully (the host's StopApplication, else SIGTERM to itself).</summary>
    public void Stop()
    {
        Send(Protocol.Frame.Stop, []);
        Read();
    }

    /// <summary>
    /// Sends code for evaluation and waits for its result, at most <paramref name="timeout"/>. With
    /// <paramref name="canCompile"/>, an rpc that needs Roslyn may be answered <see cref="Protocol.Status.Compile"/>
    /// (see <see cref="RpcCompiler"/>).
    /// </summary>
    public (Protocol.Status Status, string? Text) Evaluate(Protocol.Frame kind, string code, bool verbose, TimeSpan timeout, bool canCompile = false) =>
        Request(kind, [(byte)((verbose ? Protocol.Verbose : 0) | (canCompile ? Protocol.CanCompile : 0)), .. Encoding.UTF8.GetBytes(code)], timeout);

    /// <summary>Runs an rpc compiled by <see cref="RpcCompiler"/> in the running system.</summary>
    public (Protocol.Status Status, string? Text) RunCompiled(byte[] image, bool verbose, TimeSpan timeout)
    {
        if (image.Length + 2 > Protocol.MaxFrame)
            throw new LauncherException($"the compiled rpc is {image.Length} bytes, more than the control channel carries ({Protocol.MaxFrame})");
        return Request(Protocol.Frame.RpcImage, [(byte)(verbose ? Protocol.Verbose : 0), .. image], timeout);
    }

    private (Protocol.Status Status, string? Text) Request(Protocol.Frame kind, byte[] payload, TimeSpan timeout)
    {
        Send(kind, payload);
        var timedOut = new LauncherException($"rpc timed out after {timeout.TotalSeconds:0.#}s (RELEASE_RPC_TIMEOUT); the expression may still be running", ExitCodes.TimedOut);
        (Protocol.Frame Type, byte[] Payload) frame;
        if (_stream is UnixClientStream unix)
        {
            if (!unix.WaitReadable(timeout)) throw timedOut;
            frame = Read();
        }
        else
        {
            _socket!.ReceiveTimeout = timeout == Timeout.InfiniteTimeSpan ? 0 : (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
            try { frame = Read(); }
            catch (LauncherException) when (_timedOut) { throw timedOut; }
            finally { _socket.ReceiveTimeout = 0; }
        }
        if (frame.Type != Protocol.Frame.Result || frame.Payload.Length < 1)
            throw new LauncherException("unexpected answer from the running system", ExitCodes.ProtocolError);
        return ((Protocol.Status)frame.Payload[0], Encoding.UTF8.GetString(frame.Payload, 1, frame.Payload.Length - 1) is { Length: > 0 } t ? t : null);
    }

    private void Send(Protocol.Frame type, byte[] payload)
    {
        try { Protocol.Write(_stream, type, payload); }
        catch (IOException) { throw new LauncherException("the running system closed the connection", ExitCodes.ProtocolError); }
    }

    private (Protocol.Frame Type, byte[] Payload) Read()
    {
        try
        {
            return Protocol.Read(_stream)
                ?? throw new LauncherException("the running system closed the connection", ExitCodes.ProtocolError);
        }
        catch (ProtocolException e) { throw new LauncherException($"protocol error: {e.Message}", ExitCodes.ProtocolError); }
        catch (IOException e)
        {
            // A receive timeout (Evaluate's RELEASE_RPC_TIMEOUT) surfaces as an IOException around EAGAIN.
            _timedOut = e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock };
            throw new LauncherException("the running system closed the connection", ExitCodes.ProtocolError);
        }
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : throw new LauncherException($"{name} is not set: run this through bin/NAME", ExitCodes.Usage);

    public void Dispose()
    {
        _stream.Dispose();
        _socket?.Dispose();
    }
}

/// <summary>The launcher's exit codes (documented in the README).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int NotRunning = 3;
    public const int AuthenticationFailed = 4;
    public const int TimedOut = 5;
    public const int ProtocolError = 6;
}
