using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>The Kv sample of <see cref="KvSampleFixture"/> (0.1.0, state shape 1) plus a 0.2.0 tarball built with -p:KvStateVersion=2.</summary>
public sealed class KvUpgradeFixture : IDisposable
{
    public const string V1 = "0.1.0", V2 = "0.2.0";

    public KvSampleFixture Kv { get; }
    public string TarballV2 { get; }

    public KvUpgradeFixture(PackedSdk sdk)
    {
        Kv = new KvSampleFixture(sdk);
        try
        {
            ProcessRunner.Run("dotnet", ["publish", "Kv/Kv.csproj", "-p:Release=kv", $"-p:Version={V2}", "-p:KvStateVersion=2", $"-p:ReleasePath={Path.Combine(Kv.Root, "v2", "kv")}"],
                Kv.Root, timeout: TimeSpan.FromMinutes(5)).ShouldSucceed();
            TarballV2 = Path.Combine(Kv.Root, "v2", $"kv-{V2}.tar.gz");
            Assert.True(File.Exists(TarballV2), $"the 0.2.0 build wrote no {TarballV2}");
        }
        catch
        {
            Kv.Dispose();
            throw;
        }
    }

    public void Dispose() => Kv.Dispose();
}

/// <summary>bin/kv upgrade 0.2.0 and downgrade 0.1.0 under PUTs of distinct keys: every key PUT is still there, no request fails.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class KvUpgradeTests(KvUpgradeFixture fixture, ITestOutputHelper output) : IClassFixture<KvUpgradeFixture>, IDisposable
{
    private InstalledRelease Release => fixture.Kv.Release;

    public void Dispose()
    {
        if (Processes.ReadPidFile(Path.Combine(Release.Tmp, "kv.supervisor.pid"))?.Pid is int supervisor) Processes.Stop(supervisor);
        Release.StopEverything();
    }

    [Fact]
    public void UpgradeThenDowngrade_UnderPuts_EveryKeyPutIsThere_NoRequestFails()
    {
        var port = Processes.FreeTcpPort();
        var env = new Dictionary<string, string?> { ["PORT"] = $"{port}" };
        Release.Run(env, "daemon").ShouldSucceed();
        Assert.True(Kv.Ask(port, "CREATE load"), $"the daemon does not answer\n{Release.Log()}");

        using var load = new KvPutLoad(port, "load", clients: 3);
        foreach (var (args, said) in new[] { (new[] { "upgrade", fixture.TarballV2 }, $"kv upgraded from {KvUpgradeFixture.V1} to {KvUpgradeFixture.V2}"),
                                              (new[] { "downgrade", KvUpgradeFixture.V1 }, $"kv downgraded from {KvUpgradeFixture.V2} to {KvUpgradeFixture.V1}") })
        {
            load.Resume();
            Assert.True(Poll.Until(() => load.Succeeded >= 50, TimeSpan.FromSeconds(30)), $"the load never got going\n{Release.Log()}");
            var result = Release.Run(env, args);
            Assert.True(result.ExitCode == 0, $"{result}\n{Release.Log()}");
            Assert.Contains(said, result.StdOut);
            var atSwitch = load.Succeeded;
            Assert.True(Poll.Until(() => load.Succeeded >= atSwitch + 50, TimeSpan.FromSeconds(30)), $"nothing answered after {args[0]}\n{Release.Log()}");
            load.Pause();
            output.WriteLine($"after {args[0]}: {load.Succeeded} PUTs ok, {load.Failed} failed");
            Assert.True(load.Failed == 0, $"{load.Failed} PUTs failed across {args[0]}: {load.FirstError}\n{Release.Log()}");
            var missing = load.Keys.Where(k => KvGet(port, "load", k) != k).Take(5).ToList();
            Assert.True(missing.Count == 0, $"after {args[0]}, PUT keys are missing (or wrong), e.g. {string.Join(", ", missing)}\n{Release.Log()}");
        }
        Release.Run("stop").ShouldSucceed();
    }

    /// <summary>GET bucket key over the text protocol: the value, or null when it is not found or nothing answered.</summary>
    private static string? KvGet(int port, string bucket, string key)
    {
        try
        {
            using var client = new TcpClient();
            client.ReceiveTimeout = client.SendTimeout = 10_000;
            client.Connect("127.0.0.1", port);
            using var stream = client.GetStream();
            stream.Write(Encoding.ASCII.GetBytes($"GET {bucket} {key}\r\n"));
            var reply = new StringBuilder();
            var buffer = new byte[256];
            while (!reply.ToString().EndsWith("OK\r\n", StringComparison.Ordinal) && !reply.ToString().EndsWith("NOT FOUND\r\n", StringComparison.Ordinal))
            {
                var n = stream.Read(buffer);
                if (n == 0) return null;
                reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            var text = reply.ToString();
            return text.EndsWith("\r\nOK\r\n", StringComparison.Ordinal) ? text[..^"\r\nOK\r\n".Length] : null;
        }
        catch (Exception e) when (e is IOException or SocketException) { return null; }
    }
}

/// <summary>Concurrent clients PUTting distinct keys (value = key) until paused, 2 minutes or 20,000 PUTs per phase; keeps the keys that got OK.</summary>
internal sealed class KvPutLoad(int port, string bucket, int clients) : IDisposable
{
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
    private readonly ConcurrentBag<string> _keys = [];
    private Task[] _running = [];
    private CancellationTokenSource? _pause;
    private int _next, _succeeded, _failed;

    public int Succeeded => Volatile.Read(ref _succeeded);
    public int Failed => Volatile.Read(ref _failed);
    public string? FirstError { get; private set; }
    public IReadOnlyCollection<string> Keys => _keys;

    public void Resume()
    {
        _pause = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var token = _pause.Token;
        // Bounded per phase: a slow switch (the managed launcher) must not use up what the next phase needs.
        var limit = Volatile.Read(ref _next) + 20_000;
        _running = Enumerable.Range(0, clients).Select(_ => Task.Run(() =>
        {
            while (!token.IsCancellationRequested && Interlocked.Increment(ref _next) is var n && n <= limit)
            {
                var key = $"k{n}";
                if (Kv.Ask(port, $"PUT {bucket} {key} {key}")) { _keys.Add(key); Interlocked.Increment(ref _succeeded); }
                else { Interlocked.Increment(ref _failed); FirstError ??= $"PUT {key} got no OK"; }
            }
        })).ToArray();
    }

    /// <summary>Ends the clients once their PUT under way is answered.</summary>
    public void Pause()
    {
        _pause?.Cancel();
        Task.WaitAll(_running, TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        _stop.Cancel();
        Task.WaitAll(_running, TimeSpan.FromSeconds(30));
        _pause?.Dispose();
        _stop.Dispose();
    }
}
