using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// bin/up-web upgrade / downgrade / versions (<see cref="UpgradeFixture"/>): the daemon switches between 1.0.0 and
/// 2.0.0 on its held socket under load with no failed request and the counter handed over in the other shape;
/// a switch that fails leaves the old version serving with its counter and start.data as it was.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class UpgradeTests(UpgradeFixture fixture, ITestOutputHelper output) : IClassFixture<UpgradeFixture>, IDisposable
{
    private const string Name = UpgradeFixture.Name, V1 = UpgradeFixture.V1, V2 = UpgradeFixture.V2;
    private readonly int _port = Processes.FreeTcpPort();
    private readonly List<InstalledRelease> _releases = [];

    public void Dispose()
    {
        foreach (var release in _releases) Up.StopAll(release);
    }

    private InstalledRelease Install()
    {
        var release = fixture.Install();
        _releases.Add(release);
        return release;
    }

    private Dictionary<string, string?> Env(params (string Name, string? Value)[] values)
    {
        var env = new Dictionary<string, string?> { ["PORT"] = $"{_port}" };
        foreach (var (name, value) in values) env[name] = value;
        return env;
    }

    private int Daemon(InstalledRelease release, string vsn)
    {
        release.Run(Env(), "daemon").ShouldSucceed();
        var pid = release.Pid() ?? throw new InvalidOperationException($"daemon wrote no pid file\n{release.Log()}");
        Assert.Equal((vsn, pid), Up.Root(_port) is { } r ? (r.Vsn, r.Pid) : default);
        return pid;
    }

    [Fact]
    public async Task UpgradeThenDowngrade_UnderLoad_NoRequestFails_AndTheCounterCrossesBothWays()
    {
        var release = Install();
        var first = Daemon(release, V1);
        Up.AssertCurrent(release, V1, _port, first);
        await using var load = CounterLoad.Start(_port, clients: 3);
        Assert.True(Poll.Until(() => load.Incremented >= 30, TimeSpan.FromSeconds(30)), $"the load never got going: {load}");

        var (second, up) = await SwitchUnderLoad(release, load, first, V2, $"{Name} upgraded from {V1} to {V2}", "upgrade", fixture.TarballV2);
        Assert.Matches($@"(?m)^\* installing {Name} {V2} \(\d+ files checked\)$", up.StdOut);
        Assert.Equal($"{V2}  current, running\n{V1}  installed", Up.Versions(release));

        load.Resume();
        await SwitchUnderLoad(release, load, second, V1, $"{Name} downgraded from {V2} to {V1}", "downgrade", V1);
        Assert.Equal($"{V2}  installed\n{V1}  current, running", Up.Versions(release));
    }

    /// <summary>
    /// Runs the switch while <paramref name="load"/> runs, waits for 30 more increments, pauses the load; then no request
    /// failed, /count is every increment that succeeded, and <paramref name="vsn"/> is current as a new pid.
    /// </summary>
    private async Task<(int Pid, RunResult Result)> SwitchUnderLoad(InstalledRelease release, CounterLoad load, int before, string vsn, string said, params string[] args)
    {
        var result = release.Run(Env(), args).ShouldSucceed();
        var pid = release.Pid()!.Value;
        Assert.Contains($"{said} (pid {pid})", result.StdOut);
        Assert.NotEqual(before, pid);
        Assert.False(Processes.IsAlive(before), $"pid {before} still runs after {args[0]} returned\n{release.Log()}");
        var atSwitch = load.Incremented;
        Assert.True(Poll.Until(() => load.Incremented >= atSwitch + 30, TimeSpan.FromSeconds(30)), $"nothing answered after {args[0]}: {load}");
        await load.PauseAsync();
        output.WriteLine($"load up to the end of {args[0]} {vsn}: {load}");
        Assert.True(load.Failed == 0, $"requests failed across {args[0]} {vsn}: {load}\n{release.Log()}");
        Assert.Equal(load.Incremented, Up.Count(_port));
        Up.AssertCurrent(release, vsn, _port, pid);
        return (pid, result);
    }
    // ---- failed switches ----------------------------------------------------------------------

    [Theory]
    // Fails on ping: the new process's agent renamed its control socket over the old one's before Main crashed, and
    // deleted it at exit, so the 1.0.0 that keeps serving is out of reach of rpc/ping/remote (ControlServer.Start).
    [InlineData("UP_CRASH_AT_START", "", @"the new process \(pid \d+\) exited with code 1 before it was ready$")]
    [InlineData("UP_HANG_AFTER_REGISTER", "5", @"the new process \(pid \d+\) was not ready within 5s and was killed; up-web 1\.0\.0 runs again \(pid \d+\) with the state it handed over$")]
    [InlineData("UP_IMPORT_THROWS", "", @"the new process \(pid \d+\) exited with code 134 \(signal 6\) before it was ready; up-web 1\.0\.0 runs again \(pid \d+\) with the state it handed over$")]
    public async Task FailedUpgrade_OldVersionServesWithItsCounter_StartDataUnchanged_AndTheNextUpgradeWorks(string misbehaviour, string startTimeout, string reason)
    {
        var release = Install();
        Daemon(release, V1);
        for (var i = 0; i < 5; i++) Up.Increment(_port);

        long incremented;
        RunResult failed;
        await using (var load = CounterLoad.Start(_port, clients: 2))
        {
            Assert.True(Poll.Until(() => load.Incremented >= 20, TimeSpan.FromSeconds(30)), $"the load never got going: {load}");
            failed = release.Run(Env((misbehaviour, "1"), ("RELEASE_START_TIMEOUT", startTimeout.Length > 0 ? startTimeout : null)), "upgrade", fixture.TarballV2).ShouldFail(1);
            var atFailure = load.Incremented;
            Assert.True(Poll.Until(() => load.Incremented >= atFailure + 20, TimeSpan.FromSeconds(30)), $"nothing answered after the failed upgrade: {load}\n{release.Log()}");
            await load.PauseAsync();
            output.WriteLine($"load across the failed upgrade: {load}");
            Assert.True(load.Failed == 0, $"requests failed across the failed upgrade: {load}\n{failed}\n{release.Log()}");
            incremented = 5 + load.Incremented;
        }
        output.WriteLine(failed.ToString());
        var stderr = failed.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches($@"^{Name} upgrade to {V2} failed: {reason}", stderr[0]);
        var serving = release.Pid()!.Value;
        Assert.Contains($"{Name} {V1} keeps running (pid {serving}); releases/start.data is unchanged", stderr);
        // The launcher's own lines carry no stack trace (the new process's last lines may: its crash is quoted).
        Assert.DoesNotContain(stderr.TakeWhile(l => l != "Last lines of the new process:"), l => l.StartsWith("   at ", StringComparison.Ordinal));
        Assert.Equal(incremented, Up.Count(_port));
        Up.AssertCurrent(release, V1, _port, serving);
        Assert.Equal($"{V2}  installed\n{V1}  current, running", Up.Versions(release));

        // Nothing of the failure sticks: the same version, without the misbehaviour, goes in (now as `upgrade VSN`).
        var again = release.Run(Env(), "upgrade", V2).ShouldSucceed();
        Assert.Contains($"{Name} upgraded from {V1} to {V2}", again.StdOut);
        Assert.Equal(incremented, Up.Count(_port));
        Up.AssertCurrent(release, V2, _port, release.Pid()!.Value);
    }

    // ---- refused tarballs and versions --------------------------------------------------------

    public static TheoryData<string> Refusals => ["corrupt, with its sha256", "corrupt, without a sha256", "truncated", "foreign", "upgrade 9.9.9", "downgrade 9.9.9"];

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Refused_OneLine_ExitOne_NothingChanged(string kind)
    {
        var release = Install();
        var pid = Daemon(release, V1);
        var bad = Path.Combine(fixture.App.Root, $"bad-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(bad);
        var copy = Path.Combine(bad, Path.GetFileName(fixture.TarballV2));
        string[] args;
        string expected;
        switch (kind)
        {
            case "corrupt, with its sha256" or "corrupt, without a sha256":
                File.Copy(fixture.TarballV2, copy);
                if (kind.EndsWith("with its sha256", StringComparison.Ordinal)) File.Copy(fixture.TarballV2 + ".sha256", copy + ".sha256");
                using (var file = File.Open(copy, FileMode.Open))
                {
                    file.Position = file.Length / 2;
                    var b = file.ReadByte();
                    file.Position = file.Length / 2;
                    file.WriteByte((byte)(b ^ 0xFF));
                }
                args = ["upgrade", copy];
                expected = kind.EndsWith("with its sha256", StringComparison.Ordinal)
                    ? $"^{Regex.Escape(copy)} is corrupt: its sha256 is not the one in {Regex.Escape(Path.GetFileName(copy))}.sha256; nothing was installed$"
                    : $"^({Name} upgrade: )?{Regex.Escape(copy)} (is not a release tarball \\(.+\\)|does not match its own release.json .+); nothing was installed$";
                break;
            case "truncated":
                var bytes = File.ReadAllBytes(fixture.TarballV2);
                File.WriteAllBytes(copy, bytes[..(bytes.Length / 2)]);
                args = ["upgrade", copy];
                expected = $"^{Regex.Escape(copy)} is not a release tarball \\(.+\\); nothing was installed$";
                break;
            case "foreign":
                args = ["upgrade", fixture.ForeignTarball];
                expected = $"^{Regex.Escape(fixture.ForeignTarball)} is a release of {UpgradeFixture.Other}, not {Name}; nothing was installed$";
                break;
            case "upgrade 9.9.9":
                args = ["upgrade", "9.9.9"];
                expected = $"^{Name}: version 9.9.9 is not installed and .+ is not there$";
                break;
            default:
                args = ["downgrade", "9.9.9"];
                expected = $"^{Name}: version 9.9.9 is not installed \\(installed: {V1}\\)$";
                break;
        }
        var before = Up.Entries(release);

        var result = release.Run(Env(), args).ShouldFail(1);

        output.WriteLine(result.ToString());
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr\n{result}");
        Assert.Matches(expected, lines[0]);
        Assert.DoesNotContain("   at ", result.Output);
        Assert.Equal(before, Up.Entries(release));
        Up.AssertCurrent(release, V1, _port, pid);
        Assert.Equal($"{V1}  current, running", Up.Versions(release));
    }

    // ---- kill -9 in the middle of an upgrade --------------------------------------------------

    public static readonly string[] Phases = ["installed", "started", "exported", "ready", "committed"];

    [Theory]
    [InlineData("installed", "launcher")]
    [InlineData("started", "supervisor")]
    [InlineData("started", "new")]
    [InlineData("started", "old")]
    [InlineData("exported", "supervisor")]
    [InlineData("exported", "new")]
    [InlineData("ready", "supervisor")]
    [InlineData("committed", "supervisor")]
    public void KilledMidUpgrade_TheNextDaemonRunsWhatStartDataSays_AndSwitchingStillWorks(string phase, string victim)
    {
        var release = Install();
        var old = Daemon(release, V1);
        var supervisor = Up.SupervisorPid(release)!.Value;
        for (var i = 0; i < 5; i++) Up.Increment(_port);
        var hold = Path.Combine(fixture.App.Root, $"hold-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(hold);
        var seen = new HashSet<int> { old, supervisor };
        foreach (var earlier in Phases.TakeWhile(p => p != phase)) File.WriteAllText(Path.Combine(hold, earlier + ".go"), "");

        var upgrading = release.Begin(Env(("RELCRAFT_TEST_HOLD", hold)), "upgrade", fixture.TarballV2);
        int holder = 0;
        Assert.True(Poll.Until(() => int.TryParse(File.Exists(Path.Combine(hold, phase)) ? File.ReadAllText(Path.Combine(hold, phase)) : "", out holder), TimeSpan.FromSeconds(60)),
            $"the upgrade never reached phase {phase}; phases reached: {string.Join(", ", Directory.GetFiles(hold).Select(Path.GetFileName))}\n{upgrading.Output}\n{release.Log()}");
        seen.Add(holder);
        var children = Processes.Children(supervisor);
        seen.UnionWith(children);
        var target = victim switch
        {
            "launcher" or "supervisor" => holder,
            "old" => old,
            _ => Assert.Single(children, c => c != old),
        };
        if (victim == "supervisor") Assert.Equal(supervisor, holder);
        output.WriteLine($"at {phase}: supervisor {supervisor}, old {old}, children [{string.Join(", ", children)}], holder {holder}; killing the {victim}, pid {target}");

        Processes.Kill(target);
        foreach (var p in Phases) File.WriteAllText(Path.Combine(hold, p + ".go"), "");
        Assert.True(upgrading.WaitForExit(TimeSpan.FromSeconds(90)), $"the upgrade did not end after pid {target} was killed\n{upgrading.Output}\n{release.Log()}");
        output.WriteLine($"upgrade's output:\n{upgrading.Output}");
        if (Up.SupervisorPid(release) is int now) seen.Add(now);
        if (release.Pid() is int app) seen.Add(app);
        foreach (var s in seen.Where(Processes.IsAlive).ToList()) seen.UnionWith(Processes.Children(s));
        Up.StopAll(release);
        foreach (var pid in seen) Processes.Stop(pid);
        Assert.Empty(Processes.Mentioning(release.Root));
        var handoff = Path.Combine(release.Tmp, "state", $"{Name}.handoff");
        var handoffLeft = File.Exists(handoff);
        output.WriteLine($"start.data: {Up.StartData(release)}; hand-off file left: {handoffLeft}; releases/: {string.Join(" ", Directory.GetFileSystemEntries(Path.Combine(release.Root, "releases")).Select(Path.GetFileName))}");

        var daemon = release.Run(Env(), "daemon");
        Assert.True(daemon.ExitCode == 0, $"daemon after the kill failed\n{daemon}\n{release.Log()}");
        var current = Up.StartData(release);
        var running = Up.Root(_port);
        Assert.True(running is not null, $"nothing answers after daemon\n{release.Log()}");
        Assert.Equal(current, running.Value.Vsn);
        Assert.Contains($"{current}  current, running", Up.Versions(release));
        release.Run(Env(("RELEASE_VSN", current)), "verify").ShouldSucceed();
        var count = Up.Count(_port);
        output.WriteLine($"after daemon: {current} runs, count {count}");
        if (phase == "exported" && victim == "supervisor")
            Assert.True(count == 5, $"the hand-off file (left: {handoffLeft}) was not imported by the next daemon: count {count}, not 5\n{release.Log()}");

        var other = current == V1 ? V2 : V1;
        var next = current == V1 ? release.Run(Env(), "upgrade", fixture.TarballV2) : release.Run(Env(), "downgrade", V1);
        Assert.True(next.ExitCode == 0, $"switching from {current} to {other} after the kill failed\n{next}\n{release.Log()}");
        Up.AssertCurrent(release, other, _port, release.Pid()!.Value);
        Assert.Equal(count, Up.Count(_port));
    }
}


/// <summary>What the upgrade tests ask of an up-web release.</summary>
internal static class Up
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>GET /: the version, the framework description and the pid that answered; null when nothing answered.</summary>
    public static (string Vsn, string Framework, int Pid)? Root(int port)
    {
        try
        {
            var parts = Http.GetStringAsync($"http://127.0.0.1:{port}/").GetAwaiter().GetResult().Trim().Split('|');
            return (parts[0], parts[1], int.Parse(parts[2]));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
    }

    public static long Count(int port) => long.Parse(Http.GetStringAsync($"http://127.0.0.1:{port}/count").GetAwaiter().GetResult());

    public static long Increment(int port)
    {
        using var response = Http.PostAsync($"http://127.0.0.1:{port}/inc", null).GetAwaiter().GetResult();
        response.EnsureSuccessStatusCode();
        return long.Parse(response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
    }

    public static string? StartData(InstalledRelease release)
    {
        var path = Path.Combine(release.Root, "releases", "start.data");
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>bin/NAME versions, its lines with their padding collapsed to two spaces.</summary>
    public static string Versions(InstalledRelease release) =>
        string.Join("\n", release.Run("versions").ShouldSucceed().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Regex.Replace(l.TrimEnd(), @" {2,}", "  ")));

    /// <summary>The entries of releases/, lib/ and runtime/shared/*/, for "nothing changed".</summary>
    public static string Entries(InstalledRelease release)
    {
        var dirs = new[] { "releases", "lib" }.Select(d => Path.Combine(release.Root, d))
            .Concat(Directory.GetDirectories(Path.Combine(release.Root, "runtime", "shared")));
        return string.Join("\n", dirs.SelectMany(d => Directory.GetFileSystemEntries(d)).Select(e => Path.GetRelativePath(release.Root, e)).Order(StringComparer.Ordinal));
    }

    public static int? SupervisorPid(InstalledRelease release) =>
        Processes.ReadPidFile(Path.Combine(release.Tmp, $"{release.Name}.supervisor.pid"))?.Pid;

    /// <summary><paramref name="vsn"/> serves as pid <paramref name="pid"/>, is in start.data, its launcher is bin/NAME, verify passes, rpc and ping reach it.</summary>
    public static void AssertCurrent(InstalledRelease release, string vsn, int port, int pid)
    {
        Assert.Equal(pid, release.Pid());
        Assert.Equal((vsn, pid), Root(port) is { } r ? (r.Vsn, r.Pid) : default);
        Assert.Equal(vsn, StartData(release));
        Assert.True(File.ReadAllBytes(release.Launcher).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(release.Root, "releases", vsn, "bin", release.Name))),
            $"bin/{release.Name} is not releases/{vsn}/bin/{release.Name}");
        release.Run("verify").ShouldSucceed();
        Assert.Equal("pong", release.Run("ping").ShouldSucceed().StdOut.Trim());
        Assert.Equal($"{pid}", release.Run("rpc", "System.Environment.ProcessId").ShouldSucceed().StdOut.Trim());
        Assert.Equal(SupervisorPid(release), Processes.Parent(pid));
        Assert.Empty(Directory.GetDirectories(Path.Combine(release.Root, "releases"), ".install-*"));
    }

    /// <summary>The supervisor first (else heart starts the app again), then every process of the release, orphans included.</summary>
    public static void StopAll(InstalledRelease release)
    {
        if (SupervisorPid(release) is int supervisor) Processes.Stop(supervisor);
        release.StopEverything();
    }
}

/// <summary>
/// Bounded load on up-web: <c>clients</c> concurrent clients POSTing /inc (and a GET /count every tenth request),
/// each its own HttpClient, until paused, stopped, 2 minutes or 20,000 requests. Counts the increments that succeeded.
/// </summary>
internal sealed class CounterLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
    private readonly Uri _base;
    private readonly int _clients;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _failures = new();
    private Task[] _running = [];
    private CancellationTokenSource _pause = new();
    private int _sent, _incremented, _reads, _failed;

    private CounterLoad(int port, int clients)
    {
        _base = new Uri($"http://127.0.0.1:{port}/");
        _clients = clients;
        Resume();
    }

    public static CounterLoad Start(int port, int clients = 3) => new(port, clients);

    public int Incremented => Volatile.Read(ref _incremented);
    public int Failed => Volatile.Read(ref _failed);

    public override string ToString() =>
        $"{Incremented} increments and {Volatile.Read(ref _reads)} reads ok, {Failed} failed of {Volatile.Read(ref _sent)} sent" +
        (_failures.IsEmpty ? "" : $"\nfirst failures:\n  {string.Join("\n  ", _failures.Take(5))}");

    /// <summary>Starts the clients again after <see cref="PauseAsync"/>.</summary>
    public void Resume()
    {
        _pause = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var token = _pause.Token;
        _running = Enumerable.Range(0, _clients).Select(_ => Task.Run(() => Client(token))).ToArray();
    }

    /// <summary>Ends the clients, each after its request under way has been answered (so every increment sent is counted).</summary>
    public async Task PauseAsync()
    {
        _pause.Cancel();
        await Task.WhenAll(_running);
    }

    private async Task Client(CancellationToken token)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var http = new HttpClient(handler) { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(20) };
        var n = 0;
        while (!token.IsCancellationRequested && Interlocked.Increment(ref _sent) <= 20_000)
        {
            var read = ++n % 10 == 0;
            try
            {
                // Not cancelled by the token: a request sent is waited for, so /count can be compared with the increments.
                using var response = read ? await http.GetAsync("count", CancellationToken.None) : await http.PostAsync("inc", null, CancellationToken.None);
                if (response.StatusCode != HttpStatusCode.OK) throw new HttpRequestException($"status {(int)response.StatusCode}");
                Interlocked.Increment(ref read ? ref _reads : ref _incremented);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _failed);
                if (_failures.Count < 20) _failures.Enqueue($"{(read ? "GET /count" : "POST /inc")}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_running);
        _pause.Dispose();
        _stop.Dispose();
    }
}
