// Added to the `dotnet new worker` app by the end-to-end tests: the host is not "started" until this
// hosted service's StartAsync returns, two seconds in. It then leaves a marker in RELEASE_TMP, so a
// test can tell whether `bin/NAME daemon` returned before or after the host had started.
public sealed class SlowStart : Microsoft.Extensions.Hosting.IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var tmp = Environment.GetEnvironmentVariable("RELEASE_TMP") ?? Path.GetTempPath();
        File.WriteAllText(Path.Combine(tmp, "slow-start.done"), $"{Environment.ProcessId}\n");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
