using System.Globalization;
using System.Net;

namespace Relcraft.Launcher;

/// <summary>
/// A ReleaseSocket's Listen: HOST:PORT (an IPv4 literal, or * for every address), [IPV6]:PORT, a bare
/// PORT (every address), unix:/path or /path — with runtime.json's ${VAR}, ${VAR:-default} and
/// ${VAR:?message} references (<see cref="Relcraft.Agent.EnvReferences"/>), resolved at boot. Compiled into
/// the build tasks too, so what can be checked at build time is checked with the same rules.
/// </summary>
internal sealed record ListenAddress(IPAddress? Ip, int Port, string? UnixPath)
{
    /// <summary>sun_path holds 108 bytes with the terminating NUL.</summary>
    public const int MaxUnixPath = 107;

    public bool IsUnix => UnixPath is not null;

    public override string ToString() =>
        UnixPath is not null ? "unix:" + UnixPath
        : Ip!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Ip}]:{Port}"
        : $"{Ip}:{Port}";

    /// <summary>Parses a resolved Listen; null with <paramref name="error"/> saying what is wrong.</summary>
    public static ListenAddress? Parse(string listen, out string? error)
    {
        error = null;
        var text = listen.Trim();
        if (text.Length == 0) { error = "it is empty"; return null; }
        if (text.StartsWith("unix:", StringComparison.Ordinal) || text.StartsWith('/'))
        {
            var path = text.StartsWith('/') ? text : text["unix:".Length..];
            if (!path.StartsWith('/')) { error = $"the Unix socket path '{path}' is not absolute"; return null; }
            if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxUnixPath) { error = $"the Unix socket path is longer than {MaxUnixPath} bytes"; return null; }
            return new ListenAddress(null, 0, path);
        }
        string host, port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':') { error = "an IPv6 address is written [ADDRESS]:PORT"; return null; }
            host = text[1..close];
            port = text[(close + 2)..];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) { error = $"'{host}' is not an IPv6 address"; return null; }
            return WithPort(v6, port, out error);
        }
        var colon = text.LastIndexOf(':');
        if (colon < 0) return WithPort(IPAddress.Any, text, out error);
        host = text[..colon];
        port = text[(colon + 1)..];
        if (host.Contains(':')) { error = "an IPv6 address is written [ADDRESS]:PORT"; return null; }
        if (host == "*") return WithPort(IPAddress.Any, port, out error);
        if (!IPAddress.TryParse(host, out var v4) || v4.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || host.Count(c => c == '.') != 3)
        {
            error = $"'{host}' is not an IP address (use 127.0.0.1, 0.0.0.0, * or [::1]; host names are not resolved)";
            return null;
        }
        return WithPort(v4, port, out error);
    }

    private static ListenAddress? WithPort(IPAddress ip, string port, out string? error)
    {
        error = null;
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 65535)
        {
            error = $"the port '{port}' is not a number from 1 to 65535";
            return null;
        }
        return new ListenAddress(ip, n, null);
    }
}
