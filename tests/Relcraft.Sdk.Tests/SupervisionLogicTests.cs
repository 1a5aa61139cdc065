using Relcraft.Launcher;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// The supervisor's pure parts: a ReleaseSocket's Listen resolved and checked at boot, heart's delays
/// and switch, the request a restart sends to the supervisor, and what the daemon makes of its report.
/// </summary>
public sealed class SupervisionLogicTests
{
    private static readonly Dictionary<string, string> Env = new() { ["PORT"] = "5555", ["EMPTY"] = "", ["DIR"] = "/run/kv" };

    private static string Resolve(string listen) =>
        Sockets.Resolve(new SocketSpec("http", listen, Kestrel: true), name => Env.TryGetValue(name, out var v) ? v : null).ToString();

    private static string Refusal(string listen) =>
        Assert.Throws<LauncherException>(() => Resolve(listen)).Message;

    [Theory]
    [InlineData("127.0.0.1:${PORT:-4040}", "127.0.0.1:5555")]
    [InlineData("127.0.0.1:${UNSET:-4040}", "127.0.0.1:4040")]
    [InlineData("127.0.0.1:${EMPTY:-4041}", "127.0.0.1:4041")]
    [InlineData("[::1]:${PORT}", "[::1]:5555")]
    [InlineData("[::]:80", "[::]:80")]
    [InlineData("*:80", "0.0.0.0:80")]
    [InlineData("8080", "0.0.0.0:8080")]
    [InlineData("unix:${DIR}/kv.sock", "unix:/run/kv/kv.sock")]
    [InlineData("/run/kv.sock", "unix:/run/kv.sock")]
    public void Listen_ResolvesAtBoot(string listen, string expected) => Assert.Equal(expected, Resolve(listen));

    [Theory]
    [InlineData("localhost:80", "socket http: Listen 'localhost:80': 'localhost' is not an IP address")]
    [InlineData("127.0.0.1:99999", "socket http: Listen '127.0.0.1:99999': the port '99999' is not a number from 1 to 65535")]
    [InlineData("127.0.0.1:0", "the port '0' is not a number from 1 to 65535")]
    [InlineData("::1:80", "an IPv6 address is written [ADDRESS]:PORT")]
    [InlineData("[127.0.0.1]:80", "'127.0.0.1' is not an IPv6 address")]
    [InlineData("unix:kv.sock", "the Unix socket path 'kv.sock' is not absolute")]
    public void Listen_BadAtBoot_IsOneLine(string listen, string expected)
    {
        var message = Refusal(listen);
        Assert.Contains(expected, message);
        Assert.DoesNotContain("\n", message);
    }

    [Fact]
    public void Listen_RequiredVariableUnset_SaysWhichAndWhy()
    {
        Assert.Equal("socket http: NOPE: set NOPE to the port", Refusal("127.0.0.1:${NOPE:?set NOPE to the port}"));
        Assert.Equal("socket http: EMPTY: is not set", Refusal("127.0.0.1:${EMPTY:?}"));
    }

    [Fact]
    public void Listen_UnixPathLongerThanSunPath_IsRefused() =>
        Assert.Contains("longer than 107 bytes", Refusal("unix:/" + new string('a', 120)));

    [Fact]
    public void SocketsFile_ReadsKestrelAndRawLines_AndRefusesOthers()
    {
        var specs = Sockets.ParseLines("http\t127.0.0.1:${PORT}\tkestrel\n# note\n\nkv\t/run/kv.sock\traw\n", "sockets");
        Assert.Equal([("http", true), ("kv", false)], specs.Select(s => (s.Name, s.Kestrel)));
        Assert.Contains("sockets:1: expected", Assert.Throws<LauncherException>(() => Sockets.ParseLines("http 80\n", "sockets")).Message);
    }

    [Fact]
    public void HeartDelay_StartsAt100ms_Doubles_AndStopsAt30s()
    {
        Assert.Equal([100, 200, 400, 800, 1600], Enumerable.Range(1, 5).Select(n => Supervisor.HeartDelay(n).TotalMilliseconds));
        Assert.Equal(30_000, Supervisor.HeartDelay(20).TotalMilliseconds);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("FALSE", false)]
    [InlineData("0", false)]
    [InlineData("off", false)]
    public void Heart_IsOnUnlessTurnedOff(string? value, bool on)
    {
        var env = new Dictionary<string, string> { ["RELEASE_ROOT"] = "/r", ["RELEASE_NAME"] = "kv", ["RELEASE_VSN"] = "0.1.0" };
        if (value is not null) env["RELEASE_HEART"] = value;
        Assert.Equal(on, Supervisor.HeartEnabled(new Release(env)));
    }

    [Fact]
    public async Task RestartRequest_CarriesArgumentsAndTheCallersEnvironment()
    {
        var env = new Dictionary<string, string> { ["PORT"] = "4040", ["URL"] = "a=b=c", ["EMPTY"] = "" };
        var bytes = SupervisorWire.Encode("restart", ["serve", "two words"], env);
        var request = await SupervisorWire.ReadRequest(new MemoryStream(bytes));
        Assert.Equal("restart", request.Command);
        Assert.Equal(["serve", "two words"], request.Args);
        Assert.Equal(env.OrderBy(e => e.Key), request.Environment.OrderBy(e => e.Key));
    }

    [Fact]
    public async Task RestartRequest_CutShort_IsAFormatError()
    {
        var bytes = SupervisorWire.Encode("restart", [], new Dictionary<string, string> { ["A"] = "1" });
        await Assert.ThrowsAsync<FormatException>(() => SupervisorWire.ReadRequest(new MemoryStream(bytes[..^2])));
    }

    [Fact]
    public void DaemonReport_ErrorFromTheSupervisor_IsItsOneLine() =>
        Assert.Equal((1, "kv failed to start: socket kv: PORT: set PORT"), Daemon.Interpret("error socket kv: PORT: set PORT", "kv", 60));
}
