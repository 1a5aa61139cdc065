using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relcraft.Runtime;

namespace Kv;

/// <summary>
/// The TCP accept loop (the guide's <c>KVServer</c>). Each client gets its own task;
/// a failing client is logged and dropped, never taking the server down.
/// </summary>
public sealed class KvServer(
    IConfiguration configuration,
    Registry registry,
    IHostApplicationLifetime lifetime,
    ILogger<KvServer> logger) : BackgroundService
{
    /// <summary>After a stop, a client gets this long to send the request it is in the middle of.</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Socket listener;
        var address = configuration["Kv:Address"] ?? "127.0.0.1";
        var port = configuration["Kv:Port"] ?? "4040";
        try
        {
            // Under bin/kv the supervisor holds the socket (ReleaseSocket "kv" in Kv.csproj) across restarts;
            // under dotnet run nothing was handed over and this binds Kv:Address:Kv:Port itself.
            listener = ReleaseSockets.Listen("kv", address.Contains(':') ? $"[{address}]:{port}" : $"{address}:{port}");
        }
        catch (Exception ex) when (ex is SocketException or FormatException) // bad Kv:Address / Kv:Port, or the port is taken
        {
            logger.LogCritical("Cannot listen on {Address}:{Port}: {Reason}", address, port, ex.Message);
            Environment.ExitCode = 1; // so a supervisor sees the failure
            lifetime.StopApplication();
            return;
        }

        logger.LogInformation("Accepting connections on {Endpoint}", listener.LocalEndPoint);

        var clients = new List<Task>();
        try
        {
            while (true)
            {
                var client = new TcpClient { Client = await listener.AcceptAsync(stoppingToken) };
                clients.RemoveAll(t => t.IsCompleted);
                clients.Add(ServeAsync(client, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: stop accepting (below) and let clients finish, which see the same token.
        }
        // Closes this process's descriptor only: the supervisor's copy keeps the port for the next process.
        listener.Dispose();
        await Task.WhenAll(clients);
        logger.LogInformation("Stopped accepting connections");
    }

    private async Task ServeAsync(TcpClient client, CancellationToken stoppingToken)
    {
        var peer = client.Client.RemoteEndPoint;
        try
        {
            using (client)
            await using (var stream = client.GetStream())
            {
                using var reader = new StreamReader(stream, Encoding.UTF8);
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
                // Draining: a request already on its way is still answered, then the connection closes.
                using var drain = new CancellationTokenSource();
                await using var _ = stoppingToken.Register(() => drain.CancelAfter(DrainGrace));

                while (await reader.ReadLineAsync(drain.Token) is { } line)
                {
                    await writer.WriteAsync(Command.Parse(line).Run(registry).AsMemory(), CancellationToken.None);
                    if (stoppingToken.IsCancellationRequested) break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Server is stopping; the using blocks close the connection.
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            logger.LogDebug(ex, "Client {Peer} dropped", peer);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Client {Peer} failed", peer);
        }
    }
}
