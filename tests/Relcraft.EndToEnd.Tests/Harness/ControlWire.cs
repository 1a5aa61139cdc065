using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// The control channel's wire format, written independently of the product (so a test can speak it
/// wrongly on purpose): frames are [u32 big-endian length = 1 + payload length][u8 type][payload];
/// the server sends Hello ("RELCRAFT" + version + 32-byte nonce) first, the client answers Auth
/// (32-byte nonce + HMAC-SHA256(cookie, "client" | server nonce | client nonce)).
/// </summary>
public static class ControlWire
{
    public const byte Hello = 0x01, Auth = 0x02, AuthOk = 0x03, Ping = 0x10, Pid = 0x11, Stop = 0x12, Rpc = 0x13, RemoteSubmit = 0x15,
        Pong = 0x20, Output = 0x22, Result = 0x23, Error = 0x7F;

    public const int NonceLength = 32;
    public static readonly byte[] Magic = "RELCRAFT"u8.ToArray();

    public static byte[] Frame(byte type, ReadOnlySpan<byte> payload) => Frame((uint)(payload.Length + 1), type, payload);

    /// <summary>A frame whose header claims <paramref name="length"/> whatever the payload really is.</summary>
    public static byte[] Frame(uint length, byte type, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, length);
        frame[4] = type;
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    /// <summary>An Rpc/RemoteSubmit payload: a flags byte (bit 0 verbose), then the UTF-8 code.</summary>
    public static byte[] EvalPayload(string code) => [0, .. Encoding.UTF8.GetBytes(code)];

    public static byte[] Proof(byte[] cookie, string role, byte[] first, byte[] second) =>
        HMACSHA256.HashData(cookie, (byte[])[.. Encoding.ASCII.GetBytes(role), .. first, .. second]);

    public static string SocketPath(InstalledRelease release, string? node = null) =>
        Path.Combine(release.Tmp, "control", $"{node ?? release.Name}.sock");

    public static string Cookie(InstalledRelease release) => File.ReadAllText(Path.Combine(release.Root, "releases", "COOKIE")).Trim();
}

/// <summary>A raw connection to a control socket, with a receive timeout so a test never hangs on it.</summary>
public sealed class RawControlConnection : IDisposable
{
    private readonly Socket _socket;

    public RawControlConnection(string socketPath, TimeSpan? receiveTimeout = null)
    {
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)(receiveTimeout ?? TimeSpan.FromSeconds(10)).TotalMilliseconds,
            SendTimeout = 10_000,
        };
        _socket.Connect(new UnixDomainSocketEndPoint(socketPath));
    }

    /// <summary>Sends bytes; false when the server has already closed the connection (EPIPE, reset).</summary>
    public bool TrySend(ReadOnlySpan<byte> bytes)
    {
        try
        {
            while (bytes.Length > 0)
            {
                var n = _socket.Send(bytes, SocketFlags.None);
                bytes = bytes[n..];
            }
            return true;
        }
        catch (SocketException) { return false; }
        catch (ObjectDisposedException) { return false; }
    }

    /// <summary>One frame, or null at end of stream / reset / timeout.</summary>
    public (byte Type, byte[] Payload)? TryRead()
    {
        var header = new byte[5];
        if (!ReadExactly(header)) return null;
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length < 1 || length > (1 << 20)) return null;
        var payload = new byte[length - 1];
        return ReadExactly(payload) ? (header[4], payload) : null;
    }

    private bool ReadExactly(byte[] buffer)
    {
        var total = 0;
        try
        {
            while (total < buffer.Length)
            {
                var n = _socket.Receive(buffer, total, buffer.Length - total, SocketFlags.None);
                if (n == 0) return false;
                total += n;
            }
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>Reads Hello, answers with a proof computed from <paramref name="cookie"/>; the server's answer frame.</summary>
    public (byte Type, byte[] Payload)? Authenticate(byte[] cookie)
    {
        var hello = TryRead();
        Assert.True(hello is { Type: ControlWire.Hello }, "the server did not open with a Hello frame");
        var payload = hello!.Value.Payload;
        Assert.Equal(ControlWire.Magic, payload[..ControlWire.Magic.Length]);
        var serverNonce = payload[(ControlWire.Magic.Length + 1)..];
        var clientNonce = RandomNumberGenerator.GetBytes(ControlWire.NonceLength);
        TrySend(ControlWire.Frame(ControlWire.Auth, [.. clientNonce, .. ControlWire.Proof(cookie, "client", serverNonce, clientNonce)]));
        return TryRead();
    }

    public void Dispose() => _socket.Dispose();
}
