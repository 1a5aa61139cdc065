using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

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
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TcpListener listener;
        try
        {
            var address = IPAddress.Parse(configuration["Kv:Address"] ?? "127.0.0.1");
            var port = configuration.GetValue("Kv:Port", 4040);
            listener = new TcpListener(address, port);
            listener.Start();
        }
        catch (Exception ex) // bad Kv:Address / Kv:Port, or the port is taken
        {
            logger.LogCritical("Cannot listen on {Address}:{Port}: {Reason}",
                configuration["Kv:Address"] ?? "127.0.0.1", configuration["Kv:Port"] ?? "4040", ex.Message);
            Environment.ExitCode = 1; // so a supervisor sees the failure
            lifetime.StopApplication();
            return;
        }

        using var _ = listener;
        var bound = (IPEndPoint)listener.LocalEndpoint; // the real port, also when Kv:Port is 0
        logger.LogInformation("Accepting connections on {Address}:{Port}", bound.Address, bound.Port);

        var clients = new List<Task>();
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(stoppingToken);
                clients.RemoveAll(t => t.IsCompleted);
                clients.Add(ServeAsync(client, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: stop accepting (below) and wait for clients, which see the same token.
        }
        listener.Stop();
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

                while (await reader.ReadLineAsync(stoppingToken) is { } line)
                {
                    await writer.WriteAsync(Command.Parse(line).Run(registry).AsMemory(), stoppingToken);
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
