using System.Net.Sockets;
using System.Text;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// samples/Kv as a user has it (copied with Kv.Storage, built with this run's packed SDK and Relcraft.Runtime):
/// its TCP port is a ReleaseSocket the supervisor holds, so restart and heart hand it over with no refused request.
/// </summary>
public sealed class KvSampleFixture : IDisposable
{
    public string Root { get; }
    public InstalledRelease Release { get; }

    public KvSampleFixture(PackedSdk sdk)
    {
        sdk.RequireRuntimePackage();
        Root = Path.Combine(sdk.WorkRoot, $"kv-sample-{Guid.NewGuid().ToString("N")[..8]}");
        var samples = Path.Combine(sdk.RepoRoot, "samples");
        try
        {
            foreach (var project in new[] { "Kv", "Kv.Storage" }) Copy(Path.Combine(samples, project), Path.Combine(Root, project));
            File.Copy(Path.Combine(samples, "Directory.Build.props"), Path.Combine(Root, "Directory.Build.props"));
            File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><add key="feed" value="{sdk.Feed}" /></packageSources></configuration>
                """);
            File.WriteAllText(Path.Combine(Root, "global.json"), $$"""
                { "sdk": { "version": "10.0.401", "rollForward": "latestFeature" }, "msbuild-sdks": { "Relcraft.Sdk": "{{sdk.Version}}" } }
                """);
            var csproj = Path.Combine(Root, "Kv", "Kv.csproj");
            var text = File.ReadAllText(csproj);
            const string runtime = "<PackageReference Include=\"Relcraft.Runtime\" Version=\"0.1.0\" />";
            Assert.Contains(runtime, text);
            File.WriteAllText(csproj, text.Replace(runtime, $"<PackageReference Include=\"Relcraft.Runtime\" Version=\"{sdk.Version}\" />"));
            ProcessRunner.Run("dotnet", ["publish", "Kv/Kv.csproj", "-p:Release=kv"], Root, timeout: TimeSpan.FromMinutes(5)).ShouldSucceed();
            Release = new InstalledRelease(Path.Combine(Root, "Kv", "bin", "rel", "kv"), "kv");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private static void Copy(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, file);
            if (rel.Split(Path.DirectorySeparatorChar)[0] is "bin" or "obj") continue;
            var target = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public void Dispose()
    {
        Processes.StopAllMentioning(Root);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[Collection(EndToEndCollection.Name)]
public sealed class KvSampleTests(KvSampleFixture fixture) : IClassFixture<KvSampleFixture>, IDisposable
{
    private InstalledRelease Release => fixture.Release;

    public void Dispose() => Release.StopEverything();

    [Fact]
    public void Restart_UnderLoad_RefusesNoRequest_AndHandsThePortToTheNewProcess()
    {
        var port = Processes.FreeTcpPort();
        var env = new Dictionary<string, string?> { ["PORT"] = $"{port}" };
        Release.Run(env, "daemon").ShouldSucceed();
        var before = Release.Pid()!.Value;
        Assert.True(Kv.Ask(port, "CREATE x"), "the daemon does not answer");

        using (var load = new KvLoad(port, clients: 3))
        {
            Assert.True(Poll.Until(() => load.Succeeded >= 50, TimeSpan.FromSeconds(30)), "the load never got going");
            Release.Run(env, "restart").ShouldSucceed();
            var atRestart = load.Succeeded;
            Assert.True(Poll.Until(() => load.Succeeded >= atRestart + 50, TimeSpan.FromSeconds(30)), "nothing answered after the restart");
            load.Stop();
            Assert.True(load.Failed == 0, $"{load.Failed} of {load.Succeeded + load.Failed} requests failed across the restart: {load.FirstError}");
        }
        var after = Release.Pid()!.Value;
        Assert.NotEqual(before, after);
        Assert.False(Processes.IsAlive(before), $"the old pid {before} still runs after restart returned");
        Assert.Contains("by restart", Release.Run("status").ShouldSucceed().StdOut);
        Assert.Contains($"holding socket kv on 127.0.0.1:{port}", Release.Log());
        Release.Run("stop").ShouldSucceed();
    }

    [Fact]
    public void KilledApp_IsBackOnTheSamePort()
    {
        var port = Processes.FreeTcpPort();
        var env = new Dictionary<string, string?> { ["PORT"] = $"{port}" };
        Release.Run(env, "daemon").ShouldSucceed();
        var before = Release.Pid()!.Value;
        using (var victim = System.Diagnostics.Process.GetProcessById(before)) victim.Kill();
        Assert.True(Poll.Until(() => Release.Pid() is int p && p != before && Kv.Ask(port, "CREATE x"), TimeSpan.FromSeconds(30)),
            $"no new process answered after kill -9 of {before}\n{Release.Log()}");
        Assert.Contains($"heart: pid {before} exited with code 137 (signal 9)", Release.Log());
        Release.Run("stop").ShouldSucceed();
    }

    /// <summary>What the systemd unit runs (ExecStart=bin/kv supervise, Type=notify, ExecReload=bin/kv restart), with the test as the service manager.</summary>
    [Fact]
    public void Supervise_AsSystemdRunsIt_SaysReadyWithItsOwnPid_ReloadingAroundRestart_StoppingOnSigterm()
    {
        var port = Processes.FreeTcpPort();
        using var manager = new ServiceManagerSocket();
        var env = new Dictionary<string, string?> { ["PORT"] = $"{port}", ["NOTIFY_SOCKET"] = manager.Path };
        using var supervisor = Release.Begin(env, "supervise");
        var ready = manager.Next();
        Assert.Contains("READY=1", ready.Split('\n'));
        Assert.Contains($"MAINPID={supervisor.Id}", ready.Split('\n'));
        Assert.True(Kv.Ask(port, "CREATE x"), "supervise is ready but the app does not answer");
        var app = Release.Pid()!.Value;
        Assert.Equal(supervisor.Id, Processes.Parent(app));

        Release.Run(env, "restart").ShouldSucceed();
        Assert.Equal("RELOADING=1", manager.Next().Trim());
        Assert.Contains("READY=1", manager.Next().Split('\n'));
        Assert.NotEqual(app, Release.Pid());
        Assert.True(Kv.Ask(port, "CREATE x"));

        ProcessRunner.Run("kill", ["-TERM", $"{supervisor.Id}"]).ShouldSucceed();
        Assert.Equal("STOPPING=1", manager.Next().Trim());
        Assert.True(supervisor.WaitForExit(TimeSpan.FromSeconds(60)), "supervise did not end after SIGTERM");
        Assert.False(Release.Pid() is int left && Processes.IsAlive(left), "the app outlived its supervisor");
    }

    /// <summary>WatchdogSec= in the unit: systemd sets WATCHDOG_USEC for the supervisor, the app's agent pings it, it passes the pings on.</summary>
    [Fact]
    public void Supervise_UnderAWatchdog_PassesTheAppsPingsOn()
    {
        var port = Processes.FreeTcpPort();
        using var manager = new ServiceManagerSocket();
        var env = new Dictionary<string, string?> { ["PORT"] = $"{port}", ["NOTIFY_SOCKET"] = manager.Path, ["WATCHDOG_USEC"] = "400000" };
        using var supervisor = Release.Begin(env, "supervise");
        var seen = new List<string>();
        while (!seen.Any(m => m.Split('\n').Contains("WATCHDOG=1")) && seen.Count < 20) seen.Add(manager.Next());
        Assert.Contains("READY=1", seen[0].Split('\n'));
        Assert.Contains(seen, m => m.Split('\n').Contains("WATCHDOG=1"));
        ProcessRunner.Run("kill", ["-TERM", $"{supervisor.Id}"]).ShouldSucceed();
        Assert.True(supervisor.WaitForExit(TimeSpan.FromSeconds(60)), "supervise did not end after SIGTERM");
    }
}

/// <summary>A NOTIFY_SOCKET listener, as systemd has for a Type=notify service: one datagram per Next().</summary>
internal sealed class ServiceManagerSocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"relcraft-notify-{Guid.NewGuid():N}.sock");

    public ServiceManagerSocket()
    {
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _socket.ReceiveTimeout = 60_000;
    }

    public string Next()
    {
        var buffer = new byte[4096];
        return Encoding.UTF8.GetString(buffer, 0, _socket.Receive(buffer));
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }
}

internal static class Kv
{
    /// <summary>One connection, one command, "OK" back.</summary>
    public static bool Ask(int port, string command)
    {
        try
        {
            using var client = new TcpClient();
            client.ReceiveTimeout = client.SendTimeout = 10_000;
            client.Connect("127.0.0.1", port);
            using var stream = client.GetStream();
            stream.Write(Encoding.ASCII.GetBytes(command + "\r\n"));
            var reply = new StringBuilder();
            var buffer = new byte[64];
            while (!reply.ToString().EndsWith("\r\n", StringComparison.Ordinal))
            {
                var n = stream.Read(buffer);
                if (n == 0) return false;
                reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            return reply.ToString() == "OK\r\n";
        }
        catch (Exception e) when (e is IOException or SocketException) { return false; }
    }
}

/// <summary>Bounded concurrent clients: a new connection per request, until stopped or 2 minutes have passed.</summary>
internal sealed class KvLoad : IDisposable
{
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
    private readonly Task[] _clients;
    private int _succeeded, _failed;

    public KvLoad(int port, int clients)
    {
        _clients = Enumerable.Range(0, clients).Select(_ => Task.Run(() =>
        {
            while (!_stop.IsCancellationRequested)
            {
                if (Kv.Ask(port, "CREATE x")) Interlocked.Increment(ref _succeeded);
                else { Interlocked.Increment(ref _failed); FirstError ??= $"request {_succeeded + _failed} got no OK"; }
            }
        })).ToArray();
    }

    public int Succeeded => Volatile.Read(ref _succeeded);
    public int Failed => Volatile.Read(ref _failed);
    public string? FirstError { get; private set; }

    public void Stop()
    {
        _stop.Cancel();
        Task.WaitAll(_clients, TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
    }
}
