extern alias runtime;
using System.Net;
using System.Net.Sockets;
using Relcraft.Agent;
using Relcraft.SocketActivation;
using ListenAddress = runtime::Relcraft.SocketActivation.ListenAddress;

namespace Relcraft.Sdk.Tests;

/// <summary>systemd's socket-activation variables, the agent's AppContext format, listen addresses, the watchdog interval.</summary>
public sealed class SocketActivationTests
{
    [Fact]
    public void Variables_name_fds_from_3_in_order_and_unnamed_ones_unknown()
    {
        Assert.Equal([new ListenFd(3, "http"), new ListenFd(4, "unknown"), new ListenFd(5, "kv")],
            ListenFds.FromVariables("42", "3", "http::kv", pid: 42));
        Assert.Equal([new ListenFd(3, "unknown"), new ListenFd(4, "unknown")], ListenFds.FromVariables("42", "2", null, pid: 42));
        Assert.Equal([new ListenFd(3, "a")], ListenFds.FromVariables("42", "1", "a:b", pid: 42));
    }

    [Theory]
    [InlineData("41", "1")] // inherited by a child: another process's sockets
    [InlineData(null, "1")]
    [InlineData("42", null)]
    [InlineData("42", "0")]
    [InlineData("42", "-1")]
    [InlineData("42", "two")]
    [InlineData("42", "99999")]
    public void Variables_for_another_process_or_without_a_count_give_nothing(string? listenPid, string? listenFds) =>
        Assert.Null(ListenFds.FromVariables(listenPid, listenFds, "http", pid: 42));

    [Fact]
    public void Published_list_round_trips_and_skips_what_is_not_fd_equals_name()
    {
        ListenFd[] fds = [new(3, "http"), new(4, "a=b")];
        Assert.Equal("3=http:4=a=b", ListenFds.Format(fds));
        Assert.Equal(fds, ListenFds.Parse(ListenFds.Format(fds)));
        Assert.Equal([new ListenFd(5, "kv")], ListenFds.Parse("x=y:=z:5=kv::"));
        Assert.Empty(ListenFds.Parse(null));
    }

    [Theory]
    [InlineData(null, "3,4,5")]
    [InlineData("", "3,4,5")]
    [InlineData("kv", "3,5")]
    [InlineData(" kv , admin ", "3")]
    [InlineData("http,kv,admin", "")]
    public void Kestrel_gets_every_socket_not_named_raw(string? raw, string fds) =>
        Assert.Equal(fds, string.Join(",", ListenFds.ForKestrel([new(3, "http"), new(4, "kv"), new(5, "admin")], raw).Select(f => f.Fd)));

    [Theory]
    [InlineData("127.0.0.1:4040", "127.0.0.1:4040")]
    [InlineData("[::1]:4040", "[::1]:4040")]
    [InlineData("localhost:80", "127.0.0.1:80")]
    [InlineData("*:4040", "[::]:4040")]
    [InlineData("4040", "[::]:4040")]
    [InlineData(" 0.0.0.0:1 ", "0.0.0.0:1")]
    public void Listen_address_as_ip_and_port(string text, string endPoint)
    {
        var parsed = Assert.IsType<IPEndPoint>(ListenAddress.Parse(text));
        Assert.Equal(endPoint, parsed.ToString());
    }

    [Theory]
    [InlineData("unix:/run/kv.sock", "/run/kv.sock")]
    [InlineData("/run/kv.sock", "/run/kv.sock")]
    [InlineData("unix:relative.sock", null)]
    public void Listen_address_as_unix_socket(string text, string? path)
    {
        if (path is null)
        {
            Assert.Throws<FormatException>(() => ListenAddress.Parse(text));
            return;
        }
        Assert.Equal(path, Assert.IsType<UnixDomainSocketEndPoint>(ListenAddress.Parse(text)).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("::1:4040")]
    [InlineData("example.org:80")]
    [InlineData("127.0.0.1:+80")]
    public void Listen_address_that_is_none_says_what_is(string text)
    {
        var e = Assert.Throws<FormatException>(() => ListenAddress.Parse(text));
        Assert.Contains($"'{text}' is not a listen address", e.Message);
    }

    [Theory]
    [InlineData("2000000", null, 1000.0)]
    [InlineData("2000000", "42", 1000.0)]
    [InlineData("1", "", 1.0)]
    [InlineData("2000000", "41", null)]
    [InlineData(null, null, null)]
    [InlineData("0", null, null)]
    [InlineData("soon", null, null)]
    public void Watchdog_pings_at_half_the_interval_when_it_is_this_process(string? usec, string? pid, double? milliseconds) =>
        Assert.Equal(milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null, ServiceNotify.WatchdogInterval(usec, pid, self: 42));
}
