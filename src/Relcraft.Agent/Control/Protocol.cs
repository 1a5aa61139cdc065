using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Relcraft.Agent.Control;

/// <summary>
/// The control channel's wire format, shared by the agent (server, inside the app) and
/// Relcraft.Launcher (client). Frames are [u32 big-endian length][u8 type][payload], the length
/// counting type + payload and capped, so a malformed or hostile peer costs one closed connection.
///
/// Handshake (the cookie never crosses the socket):
///   server → Hello    magic "RELCRAFT" + version byte + 32-byte server nonce
///   client → Auth     32-byte client nonce + HMAC-SHA256(cookie, "client" | server nonce | client nonce)
///   server → AuthOk   HMAC-SHA256(cookie, "server" | client nonce | server nonce)   (or Error, then close)
/// </summary>
#if RELCRAFT_LAUNCHER
internal
#else
public
#endif
static class Protocol
{
    public const byte Version = 1;
    public const int MaxFrame = 1 << 20;
    public const int NonceLength = 32;
    public static readonly byte[] Magic = "RELCRAFT"u8.ToArray();

    public enum Frame : byte
    {
        Hello = 0x01, Auth = 0x02, AuthOk = 0x03,
        Ping = 0x10, Pid = 0x11, Stop = 0x12, Rpc = 0x13, RpcImage = 0x14, RemoteSubmit = 0x15,
        Pong = 0x20, Output = 0x22, Result = 0x23,
        Error = 0x7F,
    }

    /// <summary>How an evaluation ended; also the client's exit code family.</summary>
    public enum Status : byte { Ok = 0, Exception = 1, CompileError = 2, Incomplete = 3, Refused = 4, Compile = 5 }

    /// <summary>
    /// Bits of an Rpc or RemoteSubmit request's first byte. <see cref="CanCompile"/>: the client can compile
    /// the code itself (in a separate process, <see cref="CompiledImage"/>), so an rpc that needs Roslyn while
    /// the app has none loaded is answered <see cref="Status.Compile"/> and comes back as an RpcImage frame.
    /// </summary>
    public const byte Verbose = 1, CanCompile = 2;

    public static async Task WriteAsync(Stream stream, Frame type, ReadOnlyMemory<byte> payload, CancellationToken token = default)
    {
        var header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)(payload.Length + 1));
        header[4] = (byte)type;
        await stream.WriteAsync(header, token).ConfigureAwait(false);
        if (payload.Length > 0) await stream.WriteAsync(payload, token).ConfigureAwait(false);
        await stream.FlushAsync(token).ConfigureAwait(false);
    }

    public static Task WriteAsync(Stream stream, Frame type, string text, CancellationToken token = default) =>
        WriteAsync(stream, type, Encoding.UTF8.GetBytes(text), token);

    /// <summary>Reads one frame; null at a clean end of stream. Throws <see cref="ProtocolException"/> on anything malformed.</summary>
    public static async Task<(Frame Type, byte[] Payload)?> ReadAsync(Stream stream, CancellationToken token = default)
    {
        var header = new byte[5];
        var got = await ReadExactlyOrEndAsync(stream, header, token).ConfigureAwait(false);
        if (got == 0) return null;
        var payload = new byte[PayloadLength(header, got)];
        if (await ReadExactlyOrEndAsync(stream, payload, token).ConfigureAwait(false) < payload.Length) throw new ProtocolException("truncated frame");
        return ((Frame)header[4], payload);
    }

    /// <summary>The payload length a frame header announces (<paramref name="got"/> of its 5 bytes read); throws on anything malformed.</summary>
    private static int PayloadLength(byte[] header, int got)
    {
        if (got < header.Length) throw new ProtocolException("truncated frame header");
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length < 1 || length > MaxFrame) throw new ProtocolException($"frame length {length} out of range");
        return (int)length - 1;
    }

    private static async Task<int> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, CancellationToken token)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), token).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

#if RELCRAFT_LAUNCHER
    /// <summary>
    /// Blocking forms for the launcher, a one-connection client: a blocking socket's read is one
    /// recv, where the async forms start the runtime's epoll thread and thread pool for a ping.
    /// </summary>
    public static void Write(Stream stream, Frame type, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)(payload.Length + 1));
        header[4] = (byte)type;
        stream.Write(header);
        if (payload.Length > 0) stream.Write(payload);
        stream.Flush();
    }

    /// <summary>Reads one frame; null at a clean end of stream (see <see cref="ReadAsync"/>).</summary>
    public static (Frame Type, byte[] Payload)? Read(Stream stream)
    {
        var header = new byte[5];
        var got = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (got == 0) return null;
        var payload = new byte[PayloadLength(header, got)];
        if (stream.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false) < payload.Length) throw new ProtocolException("truncated frame");
        return ((Frame)header[4], payload);
    }
#endif

    public static byte[] Proof(byte[] cookie, string role, byte[] first, byte[] second)
    {
        var role8 = Encoding.ASCII.GetBytes(role);
        var data = new byte[role8.Length + first.Length + second.Length];
        role8.CopyTo(data, 0);
        first.CopyTo(data, role8.Length);
        second.CopyTo(data, role8.Length + first.Length);
#if RELCRAFT_LAUNCHER
        // The launcher is a short-lived native process: loading and initialising OpenSSL for one HMAC
        // was a third of a ping. The same function in managed code (tested against HMACSHA256).
        return Relcraft.Launcher.HmacSha256.Compute(cookie, data);
#else
        using var hmac = new HMACSHA256(cookie);
        return hmac.ComputeHash(data);
#endif
    }

    /// <summary>The cookie as bytes: RELEASE_COOKIE if set, else releases/COOKIE (trimmed).</summary>
    public static byte[] ReadCookie(string releaseRoot, string? fromEnvironment)
    {
        var text = !string.IsNullOrEmpty(fromEnvironment) ? fromEnvironment : File.ReadAllText(Path.Combine(releaseRoot, "releases", "COOKIE"));
        return Encoding.UTF8.GetBytes(text.Trim());
    }

    /// <summary>RELEASE_TMP/control/NODE.sock: the directory is 0700, the socket 0600.</summary>
    public static string SocketPath(string releaseTmp, string node) => Path.Combine(releaseTmp, "control", node + ".sock");

    /// <summary>The endpoint for a socket path, however deep (see <see cref="Relcraft.SocketActivation.UnixSocketPath"/>).</summary>
    public static System.Net.Sockets.UnixDomainSocketEndPoint EndPoint(string path, out IDisposable? directoryHandle) =>
        Relcraft.SocketActivation.UnixSocketPath.EndPoint(path, out directoryHandle);

    /// <summary>An Output frame: one byte for the stream (1 stdout, 2 stderr), then UTF-8 text.</summary>
    public static byte[] OutputPayload(int stream, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var payload = new byte[bytes.Length + 1];
        payload[0] = (byte)stream;
        bytes.CopyTo(payload, 1);
        return payload;
    }

    /// <summary>A Result frame: one status byte, then UTF-8 text (the value, or the error).</summary>
    /// <summary>
    /// A compiled rpc as the compile process writes it and an RpcImage frame carries it (after the request's
    /// flags byte): the magic, the entry point's type and method (UTF-8, one line each) and the assembly image.
    /// An empty type name means there is nothing to run (the code held only usings or comments).
    /// </summary>
    public static class CompiledImage
    {
        public static readonly byte[] Magic = "RCIMAGE1\n"u8.ToArray();

        public static byte[] Write(string type, string method, ReadOnlySpan<byte> image)
        {
            var head = Encoding.UTF8.GetBytes($"{type}\n{method}\n");
            var bytes = new byte[Magic.Length + head.Length + image.Length];
            Magic.CopyTo(bytes, 0);
            head.CopyTo(bytes, Magic.Length);
            image.CopyTo(bytes.AsSpan(Magic.Length + head.Length));
            return bytes;
        }

        /// <summary>Null unless <paramref name="bytes"/> is a whole compiled image.</summary>
        public static (string Type, string Method, ReadOnlyMemory<byte> Image)? Read(ReadOnlyMemory<byte> bytes)
        {
            var span = bytes.Span;
            if (!span.StartsWith(Magic)) return null;
            var rest = span[Magic.Length..];
            var first = rest.IndexOf((byte)'\n');
            if (first < 0) return null;
            var second = rest[(first + 1)..].IndexOf((byte)'\n');
            if (second < 0) return null;
            var type = Encoding.UTF8.GetString(rest[..first]);
            var method = Encoding.UTF8.GetString(rest.Slice(first + 1, second));
            return (type, method, bytes[(Magic.Length + first + 1 + second + 1)..]);
        }
    }

    public static byte[] ResultPayload(Status status, string? text)
    {
        var bytes = Encoding.UTF8.GetBytes(text ?? "");
        var payload = new byte[bytes.Length + 1];
        payload[0] = (byte)status;
        bytes.CopyTo(payload, 1);
        return payload;
    }
}

#if RELCRAFT_LAUNCHER
internal
#else
public
#endif
sealed class ProtocolException(string message) : Exception(message);
