using System.Net.Sockets;
using System.Text;

namespace Relcraft.Agent;

/// <summary>
/// The sd_notify protocol on $NOTIFY_SOCKET (the daemon supervisor's, or systemd's with Type=notify): "READY=1"
/// with MAINPID, "STOPPING=1", and with systemd's WatchdogSec= (WATCHDOG_USEC, for this pid when WATCHDOG_PID is
/// set) "WATCHDOG=1" every half interval from readiness on. One datagram socket, reused.
/// </summary>
internal static class ServiceNotify
{
    private static readonly object Gate = new();
    private static string? _address;
    private static Socket? _socket;
    private static Timer? _watchdog;
    private static bool _failing;

    public static bool Enabled => _address is not null;

    public static void Configure()
    {
        var name = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        _address = string.IsNullOrEmpty(name) ? null : name[0] == '@' ? "\0" + name[1..] : name;
    }

    public static void Ready()
    {
        Send($"READY=1\nMAINPID={Environment.ProcessId}\n");
        if (WatchdogInterval(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"),
                Environment.ProcessId) is { } interval)
            _watchdog = new Timer(_ => Send("WATCHDOG=1\n"), null, TimeSpan.Zero, interval);
    }

    public static void Stopping() => Send("STOPPING=1\n");

    /// <summary>Half of WATCHDOG_USEC, when the watchdog is this process's; null otherwise.</summary>
    internal static TimeSpan? WatchdogInterval(string? usec, string? pid, int self)
    {
        if (!long.TryParse(usec, out var microseconds) || microseconds <= 0) return null;
        if (!string.IsNullOrEmpty(pid) && pid != self.ToString(System.Globalization.CultureInfo.InvariantCulture)) return null;
        return TimeSpan.FromMilliseconds(Math.Max(1, microseconds / 2000));
    }

    private static void Send(string message)
    {
        if (_address is null) return;
        lock (Gate)
        {
            try
            {
                _socket ??= new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                _socket.SendTo(Encoding.ASCII.GetBytes(message), new UnixDomainSocketEndPoint(_address));
                _failing = false;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Once per outage: a watchdog tick must not fill the log.
                if (!_failing) Console.Error.WriteLine($"relcraft agent: cannot notify {_address.Replace('\0', '@')}: {e.Message}");
                _failing = true;
            }
        }
    }
}
