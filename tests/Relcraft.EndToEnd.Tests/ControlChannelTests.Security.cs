using System.Text;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>The control socket's permissions, and the cookie: never in argv or the app's environment; a wrong one evaluates nothing.</summary>
public sealed partial class ControlChannelTests
{
    private const string AuthFailed = "authentication failed";

    [Fact]
    public void ControlSocket_IsMode0600_InADirectoryOfMode0700()
    {
        Daemon();
        var socket = ControlWire.SocketPath(Release);
        Assert.True(File.Exists(socket), $"no control socket at {socket}");
        Assert.Equal("0600", Files.Octal(Files.Mode(socket)));
        Assert.Equal("0700", Files.Octal(Files.Mode(Path.GetDirectoryName(socket)!)));
    }

    [Fact]
    public void Cookie_IsInNoCommandLine_NorInTheAppsEnvironment()
    {
        var cookie = ControlWire.Cookie(Release);
        Assert.True(cookie.Length >= 32, $"releases/COOKIE is {cookie.Length} chars");
        var pid = Daemon();
        Assert.Equal("2", RpcValue("1 + 1"));

        // While a client is connected too (a remote session stays open).
        using var remote = Launch(null, "remote");
        remote.WriteLine("Environment.ProcessId");
        Assert.Equal($"{pid}", remote.WaitForStdOutLines(1, ShellDeadline)[0]);

        AssertNowhereVisible(cookie, pid);
    }

    [Fact]
    public void OperatorCookie_PassedToDaemon_IsRequiredByClients_AndNeverVisible()
    {
        var cookie = "operator-" + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant(); // 41 chars
        var with = Env(("RELEASE_COOKIE", cookie));
        var pid = Daemon(env: with);

        Assert.Equal("pong\n", Release.Run(with, "ping").ShouldSucceed().StdOut);
        Assert.Equal($"{pid}", Release.Run(with, "rpc", "Environment.ProcessId").ShouldSucceed().StdOut.Trim());

        // Without it, the client proves releases/COOKIE, which is not what the system was started with.
        var without = Rpc("Environment.ProcessId").ShouldFail(4);
        Assert.Contains(AuthFailed, without.StdErr);
        Assert.Equal("", without.StdOut);
        Release.Run("ping").ShouldFail(4);

        AssertNowhereVisible(cookie, pid);
        // The launcher hands RELEASE_COOKIE over in a file the app deletes once read.
        var control = Path.GetDirectoryName(ControlWire.SocketPath(Release))!;
        var leftovers = Directory.GetFiles(control).Where(f => !f.EndsWith(".sock", StringComparison.Ordinal)).ToList();
        Assert.True(leftovers.Count == 0, $"left in {control}: {string.Join(", ", leftovers)}");
    }

    [Fact]
    public void WrongCookie_IsRefusedWithExit4_EvaluatesNothing_AndIsLoggedOnceWithoutTheCookie()
    {
        var real = ControlWire.Cookie(Release);
        Daemon();
        Assert.True(Poll.Until(() => Release.Log().Contains("serving"), TimeSpan.FromSeconds(10)), Release.Log());
        var before = AuthFailureLines().Count;

        var wrong = new string('w', 20) + new string('x', 20);
        var marker = MarkerPath("wrong-cookie");
        var result = Rpc($"System.IO.File.WriteAllText({CSharpString(marker)}, \"x\")", Env(("RELEASE_COOKIE", wrong))).ShouldFail(4);
        Assert.Contains(AuthFailed, result.StdErr);
        Assert.Equal("", result.StdOut);

        Assert.True(Poll.Until(() => AuthFailureLines().Count > before, TimeSpan.FromSeconds(10)),
            $"the app's log does not mention the refused connection:\n{Release.Log()}");
        Thread.Sleep(500);
        var lines = AuthFailureLines().Skip(before).ToList();
        Assert.True(lines.Count == 1, $"expected one log line about it, got {lines.Count}:\n{string.Join("\n", lines)}");
        Assert.DoesNotContain(wrong, Release.Log());
        Assert.DoesNotContain(real, Release.Log());

        Release.Run("ping").ShouldSucceed(); // the right cookie still works, and nothing ran meanwhile
        Assert.False(File.Exists(marker), $"the expression sent with a wrong cookie was evaluated: {marker} exists");
    }

    [Fact]
    public void MissingCookieFile_IsCreatedAtFirstStart_Mode0600_AndUsedByClients()
    {
        var path = Path.Combine(Release.Root, "releases", "COOKIE");
        Assert.Equal("0600", Files.Octal(Files.Mode(path)));
        File.Delete(path); // as after unpacking the tarball, which never holds it

        var pid = Daemon();
        Assert.True(File.Exists(path), "daemon did not create releases/COOKIE");
        Assert.Equal("0600", Files.Octal(Files.Mode(path)));
        var cookie = ControlWire.Cookie(Release);
        Assert.True(cookie.Length >= 32, $"the new cookie has {cookie.Length} chars");
        Assert.Equal($"{pid}", RpcValue("Environment.ProcessId"));
        AssertNowhereVisible(cookie, pid);
    }

    private List<string> AuthFailureLines() =>
        Release.Log().Split('\n').Where(l => l.Contains(AuthFailed, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>The cookie in no /proc/*/cmdline, and in the environment of neither the app nor its supervisor.</summary>
    private void AssertNowhereVisible(string cookie, int appPid)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            var cmdline = Processes.CommandLine(pid);
            Assert.False(cmdline.Contains(cookie, StringComparison.Ordinal), $"the cookie is in the command line of pid {pid}: {cmdline}");
        }

        var ours = Processes.Mentioning(Release.Root).Append(appPid).Distinct().ToList();
        Assert.Contains(appPid, ours);
        foreach (var pid in ours)
        {
            string environ;
            try { environ = Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid}/environ")); }
            catch (IOException) { continue; } // gone meanwhile (a short-lived client)
            if (pid == appPid) Assert.Contains("RELEASE_ROOT=", environ); // really read something
            var isClient = Processes.CommandLine(pid).Contains("Relcraft.Launcher.dll remote", StringComparison.Ordinal);
            if (isClient) continue; // the operator's own client may carry RELEASE_COOKIE: it is theirs
            Assert.False(environ.Contains(cookie, StringComparison.Ordinal),
                $"the cookie is in the environment of pid {pid} ({Processes.CommandLine(pid)})");
        }
    }
}
