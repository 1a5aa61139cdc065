using System.Collections.Concurrent;

namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// Bounded load on one URL: <c>clients</c> concurrent clients (each its own HttpClient, one keep-alive
/// connection, as separate callers would be), each GETting in a loop until <see cref="StopAsync"/>,
/// or until <c>maxRequests</c> have been sent in all or <c>maxDuration</c> has passed. Counts answers
/// and failures, and keeps every distinct body (the test apps answer their pid).
/// </summary>
public sealed class LoadLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task[] _clients;
    private readonly ConcurrentDictionary<string, int> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly int _maxRequests;
    private int _sent, _ok, _failed;

    private LoadLoop(Uri url, int clients, int maxRequests, TimeSpan maxDuration)
    {
        _maxRequests = maxRequests;
        _stop = new CancellationTokenSource(maxDuration);
        _clients = Enumerable.Range(0, clients).Select(_ => Task.Run(() => Client(url))).ToArray();
    }

    public static LoadLoop Start(Uri url, int clients = 4, int maxRequests = 100_000, TimeSpan? maxDuration = null) =>
        new(url, clients, maxRequests, maxDuration ?? TimeSpan.FromSeconds(120));

    public int Ok => Volatile.Read(ref _ok);
    public int Failed => Volatile.Read(ref _failed);
    /// <summary>True once every client has ended (stopped, or a bound was reached).</summary>
    public bool Ended => _clients.All(c => c.IsCompleted);
    public bool HasAnswered(string body) => _answers.ContainsKey(body);
    public IReadOnlyCollection<string> Answers => _answers.Keys.Order(StringComparer.Ordinal).ToList();

    public override string ToString() =>
        $"{Ok} ok, {Failed} failed of {Volatile.Read(ref _sent)} sent; answers: {string.Join(", ", _answers.Select(a => $"{a.Key} ×{a.Value}"))}" +
        (_failures.IsEmpty ? "" : $"\nfirst failures:\n  {string.Join("\n  ", _failures.Take(5))}");

    private async Task Client(Uri url)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
        while (!_stop.IsCancellationRequested && Interlocked.Increment(ref _sent) <= _maxRequests)
        {
            try
            {
                var body = (await http.GetStringAsync(url, _stop.Token)).Trim();
                _answers.AddOrUpdate(body, 1, (_, n) => n + 1);
                Interlocked.Increment(ref _ok);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { return; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _failed);
                if (_failures.Count < 20) _failures.Enqueue($"{e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>Ends the clients (a request under way is abandoned, not counted) and waits for them.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_clients);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
