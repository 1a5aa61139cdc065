using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Relcraft.Hosting;

/// <summary>
/// Kestrel's socket transport with one change for a hand-over: after it stops accepting, connections it
/// accepted in the last <see cref="Grace"/> get that long to send their first request before Kestrel closes
/// idle connections. Without it, a connection accepted just before a graceful stop whose request bytes had
/// not been read yet is closed unanswered ("remote end closed connection without response") while the next
/// process is already serving — one failed request in a few thousand under load. Connections still waiting in
/// the shared accept queue are not affected either way: the next process accepts them.
/// </summary>
internal sealed class DrainingListenerFactory(IOptions<SocketTransportOptions> options, ILoggerFactory loggers)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);

    private readonly SocketTransportFactory _inner = new(options, loggers);

    public bool CanBind(EndPoint endpoint) => _inner.CanBind(endpoint);

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        new DrainingListener(await _inner.BindAsync(endpoint, cancellationToken));

    private sealed class DrainingListener(IConnectionListener inner) : IConnectionListener
    {
        /// <summary>Environment.TickCount64 of the last accept; 0 while nothing was accepted.</summary>
        private long _lastAccept;

        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            var connection = await inner.AcceptAsync(cancellationToken);
            if (connection is not null) Volatile.Write(ref _lastAccept, Environment.TickCount64);
            return connection;
        }

        public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            await inner.UnbindAsync(cancellationToken);
            var last = Volatile.Read(ref _lastAccept);
            if (last == 0) return;
            var wait = last + (long)Grace.TotalMilliseconds - Environment.TickCount64;
            if (wait <= 0 || wait > (long)Grace.TotalMilliseconds) return;
            try { await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken); }
            catch (OperationCanceledException) { }
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
