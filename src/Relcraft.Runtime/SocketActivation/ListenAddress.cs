using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Relcraft.SocketActivation;

/// <summary>
/// A listen address in the forms a ReleaseSocket's Listen= takes, as systemd's ListenStream= does:
/// "127.0.0.1:4040", "[::1]:4040", "localhost:4040", "*:4040" or "4040" (every address, IPv4 and IPv6),
/// "unix:/path" or "/path" (a Unix domain socket), "@name" (an abstract one).
/// </summary>
internal static class ListenAddress
{
    public static EndPoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        if (value.StartsWith("unix:", StringComparison.Ordinal)) value = value["unix:".Length..];
        if (value.StartsWith('/')) return new UnixDomainSocketEndPoint(value);
        if (value.StartsWith('@') && value.Length > 1) return new UnixDomainSocketEndPoint("\0" + value[1..]);
        if (!text.StartsWith("unix:", StringComparison.Ordinal))
        {
            var colon = value.LastIndexOf(':');
            var host = colon < 0 ? "" : value[..colon];
            if (TryPort(colon < 0 ? value : value[(colon + 1)..], out var port) && TryHost(host, out var address))
                return new IPEndPoint(address, port);
        }
        throw new FormatException(
            $"'{text}' is not a listen address: use HOST:PORT (127.0.0.1:4040, [::1]:4040, *:4040), PORT, unix:/path, /path or @name");
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;

    private static bool TryHost(string host, out IPAddress address)
    {
        switch (host)
        {
            case "" or "*": address = IPAddress.IPv6Any; return true;
            case "localhost": address = IPAddress.Loopback; return true;
        }
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        else if (host.Contains(':')) { address = IPAddress.None; return false; } // IPv6 needs its brackets
        return IPAddress.TryParse(host, out address!);
    }
}
