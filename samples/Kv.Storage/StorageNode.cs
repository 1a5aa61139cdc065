using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kv;

/// <summary>Keeps <see cref="Registry.Default"/> alive for the lifetime of a storage-only node.</summary>
public sealed class StorageNode(ILogger<StorageNode> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Kv.Storage node started");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Kv.Storage node stopping ({Count} buckets)", Registry.Default.Count);
        return Task.CompletedTask;
    }
}
