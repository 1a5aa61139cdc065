using System.Diagnostics;
using System.Text.Json;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>`dotnet new web`: the release carries ASP.NET Core, and daemon returns once Kestrel listens.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WebReleaseTests(WebReleaseFixture fixture) : IClassFixture<WebReleaseFixture>, IDisposable
{
    private InstalledRelease Release => fixture.Release;

    public void Dispose() => Release.StopEverything();

    [Fact]
    public void Runtime_CarriesAspNetCoreForAWebApp()
    {
        var shared = Path.Combine(Release.Root, "runtime", "shared");
        Assert.Equal(["Microsoft.AspNetCore.App", "Microsoft.NETCore.App"],
            Directory.GetDirectories(shared).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Release.Root, "releases", "1.0.0", "release.json")));
        Assert.Equal(["Microsoft.AspNetCore.App", "Microsoft.NETCore.App"],
            manifest.RootElement.GetProperty("frameworks").EnumerateArray().Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Daemon_ReturnsOnceListening_AndStopIsGraceful()
    {
        var port = Processes.FreeTcpPort();
        var env = new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" };
        Release.Run(env, "daemon").ShouldSucceed();

        // No retry: when daemon has returned, the app must already answer.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("Hello World!", await http.GetStringAsync($"http://127.0.0.1:{port}/"));

        var pid = Release.Pid();
        Assert.NotNull(pid);
        Assert.Equal($"{pid}", Release.Run("pid").ShouldSucceed().StdOut.Trim());
        Release.Run("status").ShouldSucceed();

        Release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid!.Value), $"pid {pid} still running after stop returned");
        Assert.True(Poll.Until(() => Release.Log().Contains("Application is shutting down"), TimeSpan.FromSeconds(5)),
            $"the log shows no graceful shutdown:\n{Release.Log()}");
    }
}

/// <summary>`dotnet new worker` (+ a hosted service that takes 2 s to start): daemon waits for the host, stop is graceful.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WorkerReleaseTests(WorkerReleaseFixture fixture) : IClassFixture<WorkerReleaseFixture>, IDisposable
{
    private InstalledRelease Release => fixture.Release;
    private string Marker => Path.Combine(Release.Tmp, "slow-start.done");

    public void Dispose() => Release.StopEverything();

    [Fact]
    public void Runtime_HasNoAspNetCoreForAWorker() =>
        Assert.Equal(["Microsoft.NETCore.App"], Directory.GetDirectories(Path.Combine(Release.Root, "runtime", "shared")).Select(Path.GetFileName));

    [Fact]
    public void Daemon_ReturnsOnlyOnceTheHostHasStarted_AndStopIsGraceful()
    {
        if (File.Exists(Marker)) File.Delete(Marker);
        var clock = Stopwatch.StartNew();
        Release.Run("daemon").ShouldSucceed();
        clock.Stop();

        Assert.True(File.Exists(Marker), $"daemon returned after {clock.Elapsed} but the host had not started yet (no {Marker})\n{Release.Log()}");
        var pid = Release.Pid();
        Assert.NotNull(pid);
        Assert.Equal($"{pid}", File.ReadAllText(Marker).Trim());
        Release.Run("status").ShouldSucceed();
        Assert.True(Poll.Until(() => Release.Log().Contains("Worker running at"), TimeSpan.FromSeconds(10)), Release.Log());

        Release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid!.Value), $"pid {pid} still running after stop returned");
        Assert.True(Poll.Until(() => Release.Log().Contains("Application is shutting down"), TimeSpan.FromSeconds(5)),
            $"the log shows no graceful shutdown:\n{Release.Log()}");
    }
}
