using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Relcraft.Launcher;

/// <summary>
/// The supervisor's socket (RELEASE_TMP/control/NODE.supervisor.sock, 0600 in the 0700 control
/// directory; the peer's uid is checked too). A request is NUL-terminated fields — the command, the
/// number of arguments, the arguments, then the caller's environment as K=V, then an empty field —
/// so a restart boots the new process with the configuration of whoever asked, like stop + daemon
/// would. The reply is text: "ok PID" or "failed REASON", then lines of the new process's output.
/// </summary>
internal static class SupervisorWire
{
    private const int MaxRequest = 1 << 20;

    public sealed record Request(string Command, IReadOnlyList<string> Args, Dictionary<string, string> Environment);

    public static byte[] Encode(string command, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env)
    {
        var text = new StringBuilder();
        void Field(string s) => text.Append(s.Replace('\0', ' ')).Append('\0');
        Field(command);
        Field(args.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var a in args) Field(a);
        foreach (var (k, v) in env) Field($"{k}={v}");
        Field("");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public static async Task<Request> ReadRequest(Stream stream)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            if (bytes.Length >= 2 && bytes[^1] == 0 && bytes[^2] == 0 || bytes.Length == 1 && bytes[0] == 0) break;
            if (buffer.Length > MaxRequest) throw new FormatException("request too long");
            var n = await stream.ReadAsync(chunk);
            if (n == 0) throw new FormatException("request cut short");
            buffer.Write(chunk, 0, n);
        }
        var fields = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).Split('\0');
        var count = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        if (count < 0 || 2 + count > fields.Length) throw new FormatException("bad argument count");
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in fields.Skip(2 + count))
        {
            if (entry.Length == 0) break;
            var eq = entry.IndexOf('=');
            if (eq > 0) env[entry[..eq]] = entry[(eq + 1)..];
        }
        return new Request(fields[0], fields.Skip(2).Take(count).ToList(), env);
    }

    /// <summary>SO_PEERCRED: the connecting process runs as this user (or root).</summary>
    public static bool SameUser(Socket client)
    {
        Span<byte> credentials = stackalloc byte[12];
        try { client.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, credentials); }
        catch (SocketException) { return false; }
        var uid = BinaryPrimitives.ReadUInt32LittleEndian(credentials[4..8]);
        return uid == Native.geteuid() || uid == 0;
    }

    /// <summary>SO_PEERCRED: the pid of the connecting process (0 when unknown).</summary>
    public static int PeerPid(Socket client)
    {
        if (OperatingSystem.IsWindows()) return 0;
        Span<byte> credentials = stackalloc byte[12];
        try { client.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, credentials); }
        catch (SocketException) { return 0; }
        return BinaryPrimitives.ReadInt32LittleEndian(credentials[..4]);
    }

    /// <summary>Sends one request and reads the whole reply; null when no supervisor listens.</summary>
    public static string? Send(Release release, string command, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env, TimeSpan timeout)
    {
        var path = Supervisor.SocketOf(release);
        if (!File.Exists(path)) return null;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var endPoint = Relcraft.Agent.Control.Protocol.EndPoint(path, out var directory);
        try
        {
            using (directory) socket.Connect(endPoint);
        }
        catch (SocketException) { return null; }
        socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
        socket.Send(Encode(command, args, env));
        var reply = new MemoryStream();
        var chunk = new byte[8192];
        try
        {
            int n;
            while ((n = socket.Receive(chunk)) > 0) reply.Write(chunk, 0, n);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new LauncherException($"the supervisor of {release.Name} did not answer within {timeout.TotalSeconds:0}s", ExitCodes.TimedOut);
        }
        return Encoding.UTF8.GetString(reply.ToArray());
    }
}
