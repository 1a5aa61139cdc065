using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using Relcraft.SocketActivation;

namespace Relcraft.Runtime;

/// <summary>
/// The listening sockets a release declares (<c>&lt;ReleaseSocket Include="kv" Listen="127.0.0.1:${PORT:-4040}" /&gt;</c>),
/// for apps that accept connections themselves rather than through Kestrel. The daemon supervisor binds them and
/// keeps them open across <c>restart</c> and <c>upgrade</c>, so taking the socket from here instead of binding the
/// port is what lets a new version take over without refusing a connection.
/// </summary>
/// <remarks>
/// The sockets come by systemd's socket-activation protocol (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), from the
/// Relcraft supervisor, systemd or systemd-socket-activate. Under bin/NAME the Relcraft agent has taken them before
/// Main; without it (systemd running the app directly) the first use here takes them: either way each is
/// close-on-exec (the app's children do not hold the listener) and LISTEN_* are gone from the environment.
/// Each name gives one <see cref="Socket"/>: every call for a name returns the same instance, so dispose it
/// only when the app is done listening. Disposing closes this process's descriptor only; the socket stays
/// open in the supervisor for the next version.
/// </remarks>
public static class ReleaseSockets
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, Socket> Handed = new(StringComparer.Ordinal);

    /// <summary>Names of the sockets this process inherited, in fd order ("unknown" for an unnamed one).</summary>
    public static IReadOnlyList<string> Names => Inherited().Select(f => f.Name).ToArray();

    /// <summary>The inherited listening socket named <paramref name="name"/>, if there is one.</summary>
    public static bool TryGet(string name, [NotNullWhen(true)] out Socket? socket)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (Gate)
        {
            if (!Handed.TryGetValue(name, out socket))
            {
                var fds = Inherited().Where(f => f.Name == name).Take(1).ToArray();
                if (fds.Length == 0) return false;
                socket = new Socket(new SafeSocketHandle(fds[0].Fd, ownsHandle: true));
                Handed[name] = socket;
            }
            return true;
        }
    }

    /// <summary>The inherited listening socket named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">This process inherited no socket of that name.</exception>
    public static Socket Listen(string name) =>
        TryGet(name, out var socket) ? socket : throw new InvalidOperationException(
            $"no inherited socket named '{name}' (inherited: {Describe(Names)}); declare <ReleaseSocket Include=\"{name}\" Listen=\"...\" /> " +
            "and start the app with bin/NAME, or give ReleaseSockets.Listen a fallback address for runs without one");

    /// <summary>
    /// The inherited listening socket named <paramref name="name"/>, or, when there is none (e.g. under
    /// <c>dotnet run</c>), a socket this call binds and listens on at <paramref name="fallbackListen"/>:
    /// "127.0.0.1:4040", "[::1]:4040", "*:4040" or "4040" (all addresses), "unix:/path" or "/path", "@name" (abstract).
    /// A Unix socket file left behind by a process that is gone is replaced.
    /// </summary>
    /// <exception cref="FormatException"><paramref name="fallbackListen"/> is not a listen address.</exception>
    /// <exception cref="SocketException">The fallback address cannot be bound (in use, not allowed).</exception>
    public static Socket Listen(string name, string fallbackListen)
    {
        ArgumentNullException.ThrowIfNull(fallbackListen);
        lock (Gate)
        {
            if (TryGet(name, out var inherited)) return inherited;
            var socket = Bind(ListenAddress.Parse(fallbackListen));
            Handed[name] = socket;
            return socket;
        }
    }

    private static IReadOnlyList<ListenFd> Inherited() => ListenFds.Current();

    private static Socket Bind(EndPoint endPoint)
    {
        var unix = endPoint is UnixDomainSocketEndPoint;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            if (endPoint is IPEndPoint { Address: var address } && address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            try { socket.Bind(endPoint); }
            catch (SocketException e) when (unix && e.SocketErrorCode == SocketError.AddressAlreadyInUse && IsStale(endPoint))
            {
                File.Delete(endPoint.ToString()!);
                socket.Bind(endPoint);
            }
            socket.Listen();
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A Unix socket file nobody accepts on any more.</summary>
    private static bool IsStale(EndPoint endPoint)
    {
        if (endPoint.ToString() is not { Length: > 0 } path || path[0] != '/') return false;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { probe.Connect(endPoint); return false; }
        catch (SocketException e) { return e.SocketErrorCode == SocketError.ConnectionRefused; }
    }

    private static string Describe(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);
}
