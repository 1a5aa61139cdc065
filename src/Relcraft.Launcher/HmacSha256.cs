namespace Relcraft.Launcher;

/// <summary>
/// HMAC-SHA256 (RFC 2104 over FIPS 180-4) for the control channel's handshake, so the native launcher
/// does not load OpenSSL for one MAC per command. Checked against the platform's HMACSHA256 by
/// LauncherLogicTests on many key and message lengths. Not for anything secret-bearing beyond that
/// handshake: the cookie is the key, the nonces are the message.
/// </summary>
internal static class HmacSha256
{
    private const int BlockSize = 64;

    public static byte[] Compute(byte[] key, ReadOnlySpan<byte> message)
    {
        Span<byte> block = stackalloc byte[BlockSize];
        block.Clear();
        if (key.Length > BlockSize) Sha256.Hash(key).CopyTo(block);
        else key.CopyTo(block);

        var inner = new byte[BlockSize + message.Length];
        var outer = new byte[BlockSize + 32];
        for (var i = 0; i < BlockSize; i++)
        {
            inner[i] = (byte)(block[i] ^ 0x36);
            outer[i] = (byte)(block[i] ^ 0x5c);
        }
        message.CopyTo(inner.AsSpan(BlockSize));
        Sha256.Hash(inner).CopyTo(outer, BlockSize);
        return Sha256.Hash(outer);
    }
}
