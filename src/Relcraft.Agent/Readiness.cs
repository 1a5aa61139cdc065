using System.Diagnostics;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace Relcraft.Agent;

/// <summary>
/// Tells whoever started the app (the daemon supervisor, or systemd with Type=notify) that it is
/// ready, with the sd_notify protocol: a "READY=1" datagram to $NOTIFY_SOCKET.
/// A Generic Host app is ready when its host raises ApplicationStarted — found through the
/// "Microsoft.Extensions.Hosting" DiagnosticListener's HostBuilt event, so the app needs no code.
/// Any other app is ready once the runtime has booted and Main is about to run.
/// </summary>
internal static class Readiness
{
    private static string? _socket;
    private static int _sent;
    private static IDisposable? _subscription;

    public static void Watch(Assembly? entry)
    {
        _socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(_socket)) return;
        if (entry is null || !UsesGenericHost(entry)) { Notify(); return; }
        _subscription = DiagnosticListener.AllListeners.Subscribe(new Observer<DiagnosticListener>(listener =>
        {
            if (listener.Name != "Microsoft.Extensions.Hosting") return;
            listener.Subscribe(new Observer<KeyValuePair<string, object?>>(e =>
            {
                if (e.Key == "HostBuilt" && e.Value is not null) OnHostBuilt(e.Value);
            }));
        }));
    }

    internal static bool UsesGenericHost(Assembly entry) =>
        entry.GetReferencedAssemblies().Any(a => a.Name is { } n &&
            (n.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal) || n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)));

    private static void OnHostBuilt(object host)
    {
        try
        {
            var services = host.GetType().GetProperty("Services")?.GetValue(host) as IServiceProvider;
            var lifetimeType = Type.GetType("Microsoft.Extensions.Hosting.IHostApplicationLifetime, Microsoft.Extensions.Hosting.Abstractions");
            var lifetime = lifetimeType is null ? null : services?.GetService(lifetimeType);
            if (lifetimeType?.GetProperty("ApplicationStarted")?.GetValue(lifetime) is CancellationToken started)
                started.Register(Notify);
            else
                Notify();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft agent: cannot watch the host for readiness: {e.Message}");
            Notify();
        }
    }

    private static void Notify()
    {
        if (Interlocked.Exchange(ref _sent, 1) == 1 || _socket is null) return;
        try
        {
            var address = _socket[0] == '@' ? "\0" + _socket[1..] : _socket;
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.SendTo(Encoding.ASCII.GetBytes($"READY=1\nMAINPID={Environment.ProcessId}\n"), new UnixDomainSocketEndPoint(address));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft agent: cannot notify {_socket}: {e.Message}");
        }
        _subscription?.Dispose();
    }

    private sealed class Observer<T>(Action<T> onNext) : IObserver<T>
    {
        public void OnNext(T value) => onNext(value);
        public void OnError(Exception error) { }
        public void OnCompleted() { }
    }
}
