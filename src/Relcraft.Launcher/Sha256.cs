using System.Buffers.Binary;
using System.Numerics;

namespace Relcraft.Launcher;

/// <summary>
/// SHA-256 (FIPS 180-4) in managed code, so the native launcher needs no OpenSSL: whole messages
/// (<see cref="Hash"/>, for the handshake's HMAC) or streamed (<see cref="Append"/>, then
/// <see cref="Finish"/>, for verify's files: the runtime alone is ~70 MB, never read whole).
/// </summary>
internal sealed class Sha256
{
    private static ReadOnlySpan<uint> K =>
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    private readonly byte[] _pending = new byte[64];
    private int _pendingLength;
    private ulong _length;

    public static byte[] Hash(ReadOnlySpan<byte> message)
    {
        var sha = new Sha256();
        sha.Append(message);
        return sha.Finish();
    }

    /// <summary>The SHA-256 of a file, read through <paramref name="buffer"/> (callers hashing many files reuse one).</summary>
    public static byte[] HashFile(string path, byte[]? buffer = null)
    {
        var sha = new Sha256();
        buffer ??= new byte[1 << 20];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        int read;
        while ((read = stream.Read(buffer)) > 0) sha.Append(buffer.AsSpan(0, read));
        return sha.Finish();
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _length += (ulong)data.Length;
        if (_pendingLength > 0)
        {
            var take = Math.Min(64 - _pendingLength, data.Length);
            data[..take].CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += take;
            data = data[take..];
            if (_pendingLength < 64) return;
            Compress(_pending);
            _pendingLength = 0;
        }
        var whole = data.Length & ~63;
        if (whole > 0) Compress(data[..whole]);
        data[whole..].CopyTo(_pending);
        _pendingLength = data.Length - whole;
    }

    /// <summary>Pads (0x80, zeros, the length in bits big-endian) and returns the digest; the instance is spent.</summary>
    public byte[] Finish()
    {
        Span<byte> tail = stackalloc byte[128];
        tail.Clear();
        _pending.AsSpan(0, _pendingLength).CopyTo(tail);
        tail[_pendingLength] = 0x80;
        var tailLength = _pendingLength + 9 <= 64 ? 64 : 128;
        BinaryPrimitives.WriteUInt64BigEndian(tail[(tailLength - 8)..], _length * 8);
        Compress(tail[..tailLength]);
        var digest = new byte[32];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(4 * i), _h[i]);
        return digest;
    }

    /// <summary>The compression function over whole 64-byte blocks.</summary>
    private void Compress(ReadOnlySpan<byte> blocks)
    {
        var k = K;
        Span<uint> w = stackalloc uint[64];
        uint h0 = _h[0], h1 = _h[1], h2 = _h[2], h3 = _h[3], h4 = _h[4], h5 = _h[5], h6 = _h[6], h7 = _h[7];
        for (var offset = 0; offset < blocks.Length; offset += 64)
        {
            var block = blocks.Slice(offset, 64);
            for (var t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(4 * t)..]);
            for (var t = 16; t < 64; t++)
            {
                var s0 = BitOperations.RotateRight(w[t - 15], 7) ^ BitOperations.RotateRight(w[t - 15], 18) ^ (w[t - 15] >> 3);
                var s1 = BitOperations.RotateRight(w[t - 2], 17) ^ BitOperations.RotateRight(w[t - 2], 19) ^ (w[t - 2] >> 10);
                w[t] = w[t - 16] + s0 + w[t - 7] + s1;
            }
            uint a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
            for (var t = 0; t < 64; t++)
            {
                var t1 = h + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25))
                    + ((e & f) ^ (~e & g)) + k[t] + w[t];
                var t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22))
                    + ((a & b) ^ (a & c) ^ (b & c));
                h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
            }
            h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
        }
        _h[0] = h0; _h[1] = h1; _h[2] = h2; _h[3] = h3; _h[4] = h4; _h[5] = h5; _h[6] = h6; _h[7] = h7;
    }
}
