namespace Crashy.Service;

/// <summary>Replaces the template's Worker: fails once the host has started, which stops the host (StopHost).</summary>
public sealed class Worker(ILogger<Worker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Worker about to fail");
        await Task.Yield();
        throw new InvalidOperationException("the queue is gone");
    }
}
