using System.Text.RegularExpressions;
using Xunit.Abstractions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// bin/NAME daemon under its supervisor (<see cref="SupervisionFixture"/>): heart restarts an app that
/// crashed and gives up on a crash loop; stop is final; restart replaces the app on the held socket
/// while clients keep being answered, keeps the old one when the new one fails, and refuses before
/// stopping anything when the new boot could not get its configuration.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SupervisionTests(SupervisionFixture fixture, ITestOutputHelper output) : IClassFixture<SupervisionFixture>, IDisposable
{
    private readonly int _port = Processes.FreeTcpPort();
    private InstalledRelease Web => fixture.WebRelease;
    private InstalledRelease Strict => fixture.StrictRelease;
    private Uri Url => new($"http://127.0.0.1:{_port}/");

    public void Dispose()
    {
        foreach (var release in new[] { Web, Strict })
        {
            // The supervisor first: stopping the app alone would have heart start it again.
            if (SupervisorPid(release) is int supervisor) Processes.Stop(supervisor);
            release.StopEverything();
            if (Directory.Exists(release.Tmp)) Directory.Delete(release.Tmp, recursive: true);
        }
    }

    /// <summary>The operator's environment for one command: PORT is this test's port unless given.</summary>
    private Dictionary<string, string?> Env(params (string Name, string? Value)[] values)
    {
        var env = new Dictionary<string, string?> { ["PORT"] = $"{_port}" };
        foreach (var (name, value) in values) env[name] = value;
        return env;
    }

    private static int? SupervisorPid(InstalledRelease release) =>
        Processes.ReadPidFile(Path.Combine(release.Tmp, $"{release.Name}.supervisor.pid"))?.Pid;

    /// <summary>The pid that answered GET /, or null when nothing answered.</summary>
    private string? Answer()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try { return http.GetStringAsync(Url).GetAwaiter().GetResult().Trim(); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
    }

    /// <summary>bin/NAME daemon; returns the app's pid, which already answers on the release's socket.</summary>
    private int Daemon(InstalledRelease release, Dictionary<string, string?> env)
    {
        release.Run(env, "daemon").ShouldSucceed();
        var pid = release.Pid() ?? throw new InvalidOperationException($"daemon returned but wrote no pid file\n{release.Log()}");
        Assert.Equal($"{pid}", Answer());
        Assert.Equal(SupervisorPid(release), Processes.Parent(pid));
        return pid;
    }

    private static void AssertStillServes(InstalledRelease release, int pid, string? answer)
    {
        Assert.True(Processes.IsAlive(pid), $"pid {pid} is gone\n{release.Log()}");
        Assert.Equal($"{pid}", answer);
        Assert.Equal($"{pid}", release.Run("pid").ShouldSucceed().StdOut.Trim());
    }

    // ---- heart ---------------------------------------------------------------------------------

    [Fact]
    public void Heart_AppKilledWithSignal9_ANewPidAnswers_AndStatusCountsTheRestart()
    {
        var old = Daemon(Web, Env());
        var supervisor = SupervisorPid(Web)!.Value;

        Processes.Kill(old);

        string? answer = null;
        Assert.True(Poll.Until(() => (answer = Answer()) is not null && answer != $"{old}", TimeSpan.FromSeconds(30)),
            $"no new pid answered after pid {old} was killed (last answer: {answer ?? "none"})\n{Web.Log()}");
        var next = int.Parse(answer!);
        Assert.Equal(next, Web.Pid());
        Assert.Contains($"heart: pid {old} exited with code 137 (signal 9); restarting in 100 ms (restart 1 of 5 within 60s)", Web.Log());
        Assert.True(Poll.Until(() => Web.Log().Contains($"heart: pid {next} ready"), TimeSpan.FromSeconds(10)), Web.Log());

        var status = Web.Run("status").ShouldSucceed().StdOut;
        Assert.Contains($"{SupervisionFixture.Web} {SupervisionFixture.Version} is running", status);
        Assert.Matches($@"  app pid +{next} \(up ", status);
        Assert.Matches($@"  supervisor pid +{supervisor} \(up ", status);
        Assert.Contains("  restarts        1 by heart (heart on), 0 by restart", status);
        Assert.Matches($@"(?m)^  socket http +127\.0\.0\.1:{_port}$", status);
    }

    [Fact]
    public void Heart_CrashLoop_DelaysDouble_ThenItGivesUp_AndNothingIsLeftRunning()
    {
        // Not Daemon(): the app may already have crashed by the time it would be asked for its pid.
        Web.Run(Env(("CRASH_AFTER_READY", "1"), ("RELEASE_HEART_MAX_RESTARTS", "3")), "daemon").ShouldSucceed();
        var supervisor = SupervisorPid(Web)!.Value;

        const string givingUp = $"heart: {SupervisionFixture.Web} crashed 4 times within 60s (RELEASE_HEART_MAX_RESTARTS=3); giving up";
        Assert.True(Poll.Until(() => Web.Log().Contains(givingUp), TimeSpan.FromSeconds(90)), $"heart never gave up\n{Web.Log()}");
        var log = Web.Log();
        var delays = Regex.Matches(log, @"\[relcraft\] heart: pid \d+ exited with code 1; restarting in (\d+) ms \(restart (\d) of 3 within 60s\)$", RegexOptions.Multiline)
            .Select(m => (Delay: m.Groups[1].Value, Restart: m.Groups[2].Value)).ToArray();
        Assert.True(delays.SequenceEqual([("100", "1"), ("200", "2"), ("400", "3")]), $"heart's delays and counts: [{string.Join(", ", delays)}]\n{log}");
        Assert.True(log.IndexOf(givingUp, StringComparison.Ordinal) > log.LastIndexOf("restarting in 400 ms", StringComparison.Ordinal), log);

        Assert.True(Poll.Until(() => !Processes.IsAlive(supervisor), TimeSpan.FromSeconds(15)), $"supervisor {supervisor} still runs after giving up\n{log}");
        Assert.Empty(Processes.Mentioning(Web.Root));
        Web.Run("status").ShouldFail(3);
    }

    [Fact]
    public void Stop_IsFinal_NothingComesBack()
    {
        var app = Daemon(Web, Env());
        var supervisor = SupervisorPid(Web)!.Value;

        Web.Run("stop").ShouldSucceed();

        Assert.False(Processes.IsAlive(app), $"app pid {app} still runs after stop returned");
        Assert.False(Processes.IsAlive(supervisor), $"supervisor pid {supervisor} still runs after stop returned");
        // Ten times heart's first delay: long enough for a restart that should not happen to show.
        IReadOnlyList<int> after = [];
        Assert.False(Poll.Until(() => (after = Processes.Mentioning(Web.Root)).Count > 0 || Web.Pid() is not null, TimeSpan.FromSeconds(1)),
            $"after stop, processes of the release appeared: {string.Join(", ", after.Select(p => $"{p} {Processes.CommandLine(p)}"))}\n{Web.Log()}");
        Assert.Null(Answer());
        Assert.DoesNotContain("heart:", Web.Log());
        Web.Run("status").ShouldFail(3);
    }

    [Fact]
    public void HeartOff_AppKilled_SupervisorEnds_AndSaysWhy()
    {
        var app = Daemon(Web, Env(("RELEASE_HEART", "false")));
        var supervisor = SupervisorPid(Web)!.Value;
        Assert.Contains("(heart off)", Web.Run("status").ShouldSucceed().StdOut);

        Processes.Kill(app);

        Assert.True(Poll.Until(() => !Processes.IsAlive(supervisor), TimeSpan.FromSeconds(15)), $"supervisor {supervisor} still runs\n{Web.Log()}");
        Assert.Contains("heart is off (RELEASE_HEART=false); not restarting", Web.Log());
        Assert.Empty(Processes.Mentioning(Web.Root));
        Web.Run("status").ShouldFail(3);
    }

    // ---- restart -------------------------------------------------------------------------------

    [Fact]
    public async Task Restart_UnderLoad_NewProcessTakesTheSocket_NoRequestFails()
    {
        var old = Daemon(Web, Env());
        await using var load = LoadLoop.Start(Url, clients: 4);
        Assert.True(Poll.Until(() => load.HasAnswered($"{old}"), TimeSpan.FromSeconds(15)), $"{load}");

        Web.Run(Env(), "restart").ShouldSucceed();

        var next = Web.Pid()!.Value;
        Assert.NotEqual(old, next);
        Assert.False(Processes.IsAlive(old), $"old pid {old} still runs after restart returned\n{Web.Log()}");
        Assert.True(Poll.Until(() => load.HasAnswered($"{next}"), TimeSpan.FromSeconds(15)), $"the new pid {next} never answered: {load}");
        await load.StopAsync();
        output.WriteLine($"load during restart: {load}");
        Assert.True(load.Failed == 0, $"{load}\n{Web.Log()}");
        Assert.Equal(new[] { $"{old}", $"{next}" }.Order(StringComparer.Ordinal), load.Answers);
        Assert.Equal($"{next}", Answer());
        // Overlap, not stop-then-start (the held socket's backlog would hide that from the clients):
        // the old one is told to go only once the new one is ready.
        var log = Web.Log();
        var ready = log.IndexOf($"pid {next} is ready and serving", StringComparison.Ordinal);
        var retired = log.IndexOf($"stopping pid {old} (replaced by pid {next})", StringComparison.Ordinal);
        Assert.True(ready >= 0 && retired > ready, $"expected pid {next} ready before pid {old} was stopped\n{log}");
        Assert.Contains("  restarts        0 by heart (heart on), 1 by restart", Web.Run("status").ShouldSucceed().StdOut);
    }

    [Fact]
    public void Restart_NewProcessCrashesAtStart_Fails_OldKeepsServing()
    {
        var old = Daemon(Web, Env());

        var result = Web.Run(Env(("CRASH_ON_START", "1")), "restart").ShouldFail(1);

        Assert.Matches($@"{SupervisionFixture.Web} restart failed: the new process \(pid \d+\) exited with code 1 before it was ready", result.StdErr);
        Assert.Contains($"{SupervisionFixture.Web} keeps running (pid {old})", result.StdErr);
        Assert.Contains("sup-web: CRASH_ON_START=1, exiting with code 1", result.StdErr);
        AssertStillServes(Web, old, Answer());
        Assert.Contains("0 by restart", Web.Run("status").ShouldSucceed().StdOut);
    }

    [Fact]
    public void Restart_NewProcessNeverReady_IsKilled_OldKeepsServing()
    {
        var old = Daemon(Web, Env());

        var result = Web.Run(Env(("HANG_ON_START", "1"), ("RELEASE_START_TIMEOUT", "3")), "restart").ShouldFail(1);

        var failed = Regex.Match(result.StdErr, $@"{SupervisionFixture.Web} restart failed: the new process \(pid (\d+)\) was not ready within 3s and was killed");
        Assert.True(failed.Success, $"{result}");
        Assert.False(Processes.IsAlive(int.Parse(failed.Groups[1].Value)), $"the new process was left running\n{result}");
        Assert.Contains($"{SupervisionFixture.Web} keeps running (pid {old})", result.StdErr);
        Assert.Contains("sup-web: HANG_ON_START=1, never starting the host", result.StdErr);
        AssertStillServes(Web, old, Answer());
    }

    [Fact]
    public void Restart_RuntimeJsonNeedsAnUnsetVariable_IsRefused_BeforeAnythingStops()
    {
        var old = Daemon(Web, Env());

        var result = Web.Run(Env(("PORT", "")), "restart").ShouldFail(1);

        Assert.Contains($"{SupervisionFixture.Web} restart refused: ", result.StdErr);
        Assert.Contains("PORT: PORT must be set", result.StdErr);
        Assert.Contains($"pid {old} keeps running", result.StdErr);
        AssertStillServes(Web, old, Answer());
        Assert.DoesNotContain($"stopping pid {old}", Web.Log());
    }

    [Fact]
    public void SocketListenNeedsUnsetVariable_RestartIsRefused_AndDaemonFailsNamingTheSocket()
    {
        var old = Daemon(Strict, Env());

        var refused = Strict.Run(Env(("PORT", "")), "restart").ShouldFail(1);
        Assert.Contains($"{SupervisionFixture.Strict} restart refused: socket http: PORT: set PORT; pid {old} keeps running", refused.StdErr);
        AssertStillServes(Strict, old, Answer());

        Strict.Run("stop").ShouldSucceed();
        var failed = Strict.Run(Env(("PORT", null)), "daemon").ShouldFail(1);
        Assert.Equal($"{SupervisionFixture.Strict} failed to start: socket http: PORT: set PORT", failed.StdErr.Split('\n')[0]);
        Assert.DoesNotContain("   at ", failed.Output);
        Strict.Run("status").ShouldFail(3);
    }

    [Theory]
    [InlineData("localhost:80")]
    [InlineData("127.0.0.1:99999")]
    public void ReleaseSocket_WithABadListen_FailsTheBuild(string listen)
    {
        var result = fixture.App.Publish(SupervisionFixture.Bad, $"-p:BadListen={listen}").ShouldFail();

        Assert.Matches(@"error RELCRAFT1025: ReleaseSocket 'http' is invalid: ", result.Output);
        Assert.Contains($"'{listen}'", result.Output);
        Assert.DoesNotContain("MSB4018", result.Output);
    }
}

/// <summary>`dotnet new web` with nothing but a ReleaseSocket in its csproj: Kestrel serves on the supervisor's socket (Relcraft.Hosting).</summary>
public sealed class PlainWebSocketFixture : IDisposable
{
    public TestApp App { get; }
    public InstalledRelease Release { get; }

    public PlainWebSocketFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "web", "Plain.Web", app =>
        {
            app.SetProjectXml("""
                <ItemGroup>
                  <Release Include="plain-web" />
                  <Release Include="plain-unix" />
                </ItemGroup>
                <ItemGroup Condition="'$(Release)' != 'plain-unix'">
                  <ReleaseSocket Include="http" Listen="127.0.0.1:${PORT:?set PORT}" />
                </ItemGroup>
                <ItemGroup Condition="'$(Release)' == 'plain-unix'">
                  <ReleaseSocket Include="http" Listen="unix:${WEB_SOCKET:?set WEB_SOCKET}" />
                </ItemGroup>
                """);
            app.Publish("plain-web").ShouldSucceed();
            app.Publish("plain-unix").ShouldSucceed();
        });
        Release = App.Release("plain-web");
        UnixRelease = App.Release("plain-unix");
    }

    public InstalledRelease UnixRelease { get; }

    public void Dispose() => App.Dispose();
}

[Collection(EndToEndCollection.Name)]
public sealed class PlainWebRestartTests(PlainWebSocketFixture fixture) : IClassFixture<PlainWebSocketFixture>, IDisposable
{
    public void Dispose()
    {
        fixture.Release.StopEverything();
        fixture.UnixRelease.StopEverything();
    }

    private static async Task<string> GetOverUnixSocket(string path)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync("http://localhost/");
    }

    [Fact]
    public async Task UnixSocket_IsHeldAcrossRestart_AndALeftoverSocketFileIsReplacedAtTheNextDaemon()
    {
        var release = fixture.UnixRelease;
        var path = Path.Combine(Path.GetTempPath(), $"relcraft-web-{Guid.NewGuid().ToString("N")[..8]}.sock");
        var env = new Dictionary<string, string?> { ["WEB_SOCKET"] = path };
        try
        {
            release.Run(env, "daemon").ShouldSucceed();
            Assert.Equal("Hello World!", await GetOverUnixSocket(path));
            var before = release.Pid()!.Value;
            release.Run(env, "restart").ShouldSucceed();
            Assert.NotEqual(before, release.Pid());
            Assert.Equal("Hello World!", await GetOverUnixSocket(path));

            // kill -9 of supervisor and app: the socket file stays behind, and nobody listens on it.
            var app = release.Pid()!.Value;
            var supervisor = Processes.Parent(app);
            ProcessRunner.Run("kill", ["-KILL", $"{supervisor}", $"{app}"]).ShouldSucceed();
            Assert.True(Poll.Until(() => !Processes.IsAlive(app) && !Processes.IsAlive(supervisor), TimeSpan.FromSeconds(10)));
            Assert.True(File.Exists(path), "the socket file was expected to stay behind after kill -9");
            release.Run(env, "daemon").ShouldSucceed();
            Assert.Equal("Hello World!", await GetOverUnixSocket(path));
            release.Run("stop").ShouldSucceed();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task UnchangedWebApp_ServesOnTheHeldSocket_NotItsUrls_AndRestartsUnderLoadWithoutAFailedRequest()
    {
        var release = fixture.Release;
        var port = Processes.FreeTcpPort();
        var urls = Processes.FreeTcpPort();
        var env = new Dictionary<string, string?> { ["PORT"] = $"{port}", ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{urls}" };
        release.Run(env, "daemon").ShouldSucceed();
        var before = release.Pid()!.Value;
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            Assert.Equal("Hello World!", await http.GetStringAsync($"http://127.0.0.1:{port}/"));
            await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync($"http://127.0.0.1:{urls}/"));
        }

        await using (var load = LoadLoop.Start(new Uri($"http://127.0.0.1:{port}/"), clients: 4))
        {
            Assert.True(Poll.Until(() => load.Ok >= 50, TimeSpan.FromSeconds(30)), $"the load never got going: {load}");
            release.Run(env, "restart").ShouldSucceed();
            var atRestart = load.Ok;
            Assert.True(Poll.Until(() => load.Ok >= atRestart + 50, TimeSpan.FromSeconds(30)), $"nothing answered after the restart: {load}");
            await load.StopAsync();
            Assert.True(load.Failed == 0, $"requests failed across the restart: {load}");
        }
        var after = release.Pid()!.Value;
        Assert.NotEqual(before, after);
        Assert.False(Processes.IsAlive(before), $"the old pid {before} still runs after restart returned");
        release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(after));
    }
}
