using System.Net.Sockets;
using System.Text;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// An unchanged `dotnet new web` app started as systemd does it (systemd-socket-activate hands it fd 3, then
/// `bin/NAME start` execs the app, same pid): Kestrel serves on the inherited socket instead of ASPNETCORE_URLS,
/// and the agent tells READY=1 (with MAINPID) and STOPPING=1 on NOTIFY_SOCKET.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SocketActivationWebTests(WebReleaseFixture fixture) : IClassFixture<WebReleaseFixture>, IDisposable
{
    private InstalledRelease Release => fixture.Release;

    public void Dispose() => Release.StopEverything();

    [Fact]
    public async Task Start_UnderSocketActivation_ServesOnTheInheritedSocketOnly_AndNotifiesReadyAndStopping()
    {
        var port = Processes.FreeTcpPort();
        var urlsPort = Processes.FreeTcpPort();
        using var notify = new NotifyListener();
        using var app = SocketActivate.Start(Release, $"127.0.0.1:{port}", "http", new()
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{urlsPort}",
            ["NOTIFY_SOCKET"] = notify.Address,
        });

        // systemd-socket-activate starts its program on the first connection: this request starts the app.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        Assert.Equal("Hello World!", await http.GetStringAsync($"http://127.0.0.1:{port}/"));
        Assert.Contains($"MAINPID={app.Id}\n", notify.WaitFor("READY=1", app));
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync($"http://127.0.0.1:{urlsPort}/"));
        Assert.True(SocketActivate.IsCloseOnExec(app.Id, 3), $"fd 3 of pid {app.Id} is not close-on-exec");

        Processes.Stop(app.Id, TimeSpan.FromSeconds(30));
        notify.WaitFor("STOPPING=1", app);
    }
}

/// <summary>
/// "Kv.Raw": a console app (Assets/RawSockets) that accepts TCP connections itself on
/// Relcraft.Runtime's <c>ReleaseSockets.Listen("kv", $KV_FALLBACK)</c>, released as kv-raw.
/// </summary>
public sealed class RawSocketsFixture : IDisposable
{
    private readonly PackedSdk _sdk;

    public TestApp App { get; }
    public InstalledRelease Release { get; }

    public RawSocketsFixture(PackedSdk sdk)
    {
        _sdk = sdk;
        App = TestApp.Create(sdk, "console", "Kv.Raw", app =>
        {
            app.CopyAsset("RawSockets/Program.cs", "Program.cs");
            app.SetProjectXml($"<ItemGroup>{app.RuntimePackageReference}</ItemGroup>");
            app.Publish().ShouldSucceed();
        });
        Release = App.Release("kv-raw");
    }

    public void Dispose()
    {
        App.Dispose();
        _sdk.ForgetCachedPackage("Relcraft.Runtime");
    }
}

/// <summary>A raw TCP app takes its socket by name, or binds its fallback when it inherited none.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class SocketActivationRawTests(RawSocketsFixture fixture) : IClassFixture<RawSocketsFixture>, IDisposable
{
    private InstalledRelease Release => fixture.Release;

    public void Dispose() => Release.StopEverything();

    [Fact]
    public void Start_UnderSocketActivation_AnswersOnTheInheritedSocket_WhichItsChildrenDoNotGet()
    {
        var port = Processes.FreeTcpPort();
        var fallbackPort = Processes.FreeTcpPort();
        using var app = SocketActivate.Start(Release, $"127.0.0.1:{port}", "kv", new() { ["KV_FALLBACK"] = $"127.0.0.1:{fallbackPort}" });

        Assert.Equal($"kv {app.Id}", Ask(port)); // the first connection starts the app
        Assert.Equal($"names=kv listening=127.0.0.1:{port}", app.WaitForLine("names="));
        Assert.Equal("child-sockets=0 child-listen-env=0", app.WaitForLine("child-"));
        Assert.True(SocketActivate.IsCloseOnExec(app.Id, 3), $"fd 3 of pid {app.Id} is not close-on-exec");
        var refused = Assert.Throws<SocketException>(() => Ask(fallbackPort));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public void Start_WithoutInheritedSockets_BindsTheFallback_AndSendsWatchdogPings()
    {
        var fallbackPort = Processes.FreeTcpPort();
        using var notify = new NotifyListener();
        using var app = Release.Begin(new Dictionary<string, string?>
        {
            ["KV_FALLBACK"] = $"127.0.0.1:{fallbackPort}",
            ["NOTIFY_SOCKET"] = notify.Address,
            ["WATCHDOG_USEC"] = "200000",
        }, "start");

        Assert.Equal($"names= listening=127.0.0.1:{fallbackPort}", app.WaitForLine("names="));
        Assert.Equal($"kv {app.Id}", Ask(fallbackPort));
        notify.WaitFor("READY=1", app);
        Assert.True(Poll.Until(() => notify.Messages.Count(m => m == "WATCHDOG=1\n") >= 2, TimeSpan.FromSeconds(30)),
            $"fewer than two WATCHDOG=1 on NOTIFY_SOCKET: {string.Join(" | ", notify.Messages)}\n{app.Output}");
    }

    [Fact]
    public void App_RunWithoutTheLauncher_TakesTheInheritedSocketItself()
    {
        // systemd running the app directly: no agent, Relcraft.Runtime takes the socket and cleans up alone.
        var port = Processes.FreeTcpPort();
        var lib = Directory.GetDirectories(Path.Combine(Release.Root, "lib"), "kv-raw-*").Single();
        var runtimeConfig = Directory.GetFiles(Path.Combine(Release.Root, "releases"), "kv-raw.runtimeconfig.json", SearchOption.AllDirectories).Single();
        using var app = SocketActivate.Start(Release, $"127.0.0.1:{port}", "kv", new(),
            [Path.Combine(Release.Root, "runtime", "dotnet"), "exec", "--runtimeconfig", runtimeConfig, Path.Combine(lib, "Kv.Raw.dll")]);

        Assert.Equal($"kv {app.Id}", Ask(port));
        Assert.Equal("child-sockets=0 child-listen-env=0", app.WaitForLine("child-"));
        Assert.True(SocketActivate.IsCloseOnExec(app.Id, 3), $"fd 3 of pid {app.Id} is not close-on-exec");
    }

    /// <summary>Connects, reads the one line the app answers.</summary>
    private static string Ask(int port)
    {
        using var client = new TcpClient();
        client.ReceiveTimeout = 60_000;
        client.Connect("127.0.0.1", port);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return reader.ReadLine() ?? "";
    }
}

/// <summary>`dotnet new worker` whose BackgroundService throws: the host stops, and the process must not exit 0.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class BackgroundServiceFailureTests(PackedSdk sdk) : IDisposable
{
    private readonly TestApp _app = TestApp.Create(sdk, "worker", "Crashy.Service");

    public void Dispose() => _app.Dispose();

    [Fact]
    public void Start_WhenABackgroundServiceThrows_ExitsWithOne_AndSaysWhy()
    {
        _app.CopyAsset("FailingWorker/Worker.cs", "Worker.cs");
        _app.Publish().ShouldSucceed();
        var release = _app.Release("crashy-service");
        try
        {
            var result = release.Run("start").ShouldFail(1);
            Assert.Contains("relcraft agent: BackgroundService Worker failed: InvalidOperationException: the queue is gone; exiting with code 1", result.StdErr);
        }
        finally
        {
            release.StopEverything();
        }
    }
}

/// <summary>Runs programs under systemd-socket-activate, as systemd starts a socket-activated service.</summary>
internal static class SocketActivate
{
    private static readonly string Program = File.Exists("/usr/lib/systemd/systemd-socket-activate")
        ? "/usr/lib/systemd/systemd-socket-activate" : "systemd-socket-activate";

    /// <summary>
    /// systemd-socket-activate -l LISTEN --fdname=NAME -E VAR=VALUE… COMMAND (default: bin/NAME start), with the machine's
    /// .NET hidden. Everything in the chain execs, so the returned process's pid is the app's (and LISTEN_PID).
    /// It passes on only PATH, HOME and TERM of its own environment: the rest goes by -E.
    /// </summary>
    public static RunningProcess Start(InstalledRelease release, string listen, string fdName, Dictionary<string, string> environment,
        string[]? command = null)
    {
        string[] args = [
            "-l", listen, $"--fdname={fdName}",
            .. environment.SelectMany(e => (string[])["-E", $"{e.Key}={e.Value}"]),
            .. command ?? [release.Launcher, "start"]];
        var (file, arguments) = release.HideDotnet ? InstalledRelease.WithoutMachineDotnet(Program, args) : (Program, args);
        var started = new RunningProcess(ProcessRunner.Start(file, arguments, release.WorkingDirectory, environment: null, redirect: true));
        started.WaitForLine("Listening on "); // it has bound LISTEN: a connection now waits for the program instead of being refused
        return started;
    }

    /// <summary>O_CLOEXEC in the "flags:" line of /proc/PID/fdinfo/FD (octal).</summary>
    public static bool IsCloseOnExec(int pid, int fd)
    {
        var flags = File.ReadLines($"/proc/{pid}/fdinfo/{fd}").Single(l => l.StartsWith("flags:", StringComparison.Ordinal))["flags:".Length..].Trim();
        const int O_CLOEXEC = 0x80000; // 02000000
        return (Convert.ToInt32(flags, 8) & O_CLOEXEC) != 0;
    }
}

/// <summary>Receives sd_notify datagrams on an abstract Unix socket of its own (NOTIFY_SOCKET=@NAME).</summary>
internal sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly List<string> _messages = [];

    public string Address { get; } = $"@relcraft-e2e-notify-{Guid.NewGuid():N}";

    public NotifyListener()
    {
        _socket.Bind(new UnixDomainSocketEndPoint("\0" + Address[1..]));
        new Thread(Receive) { IsBackground = true, Name = "notify listener" }.Start();
    }

    public IReadOnlyList<string> Messages { get { lock (_messages) return [.. _messages]; } }

    /// <summary>The first datagram that starts with <paramref name="prefix"/>, waiting while <paramref name="app"/> runs.</summary>
    public string WaitFor(string prefix, RunningProcess app)
    {
        string? found = null;
        var ok = Poll.Until(() => (found = Messages.FirstOrDefault(m => m.StartsWith(prefix, StringComparison.Ordinal))) is not null,
            TimeSpan.FromSeconds(60));
        Assert.True(ok, $"no {prefix} on NOTIFY_SOCKET (got: {string.Join(" | ", Messages)})\n{app.Output}");
        return found!;
    }

    private void Receive()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = _socket.Receive(buffer);
                lock (_messages) _messages.Add(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    public void Dispose() => _socket.Dispose();
}
