using Relcraft.Launcher;

namespace Relcraft.Sdk.Tests;

/// <summary>bin/NAME install's text: its arguments, the sockets file, the systemd units and the sc.exe command lines.</summary>
public sealed class InstallTests
{
    private static Release NewRelease(string root = "/opt/kv", params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["RELEASE_ROOT"] = root, ["RELEASE_NAME"] = "kv", ["RELEASE_VSN"] = "0.1.0",
            ["RELEASE_TMP"] = root + "/tmp", ["RELCRAFT_TOOLS_DIR"] = root + "/lib/relcraft-0.1.0",
        };
        foreach (var (k, v) in extra) env[k] = v;
        return new Release(env);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--user")]
    [InlineData("--unit-dir", "--print")]
    public void Bad_arguments_are_a_usage_error(params string[] args)
    {
        var e = Assert.Throws<LauncherException>(() => InstallOptions.Parse("kv", args, uninstall: false));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.EndsWith("usage: kv install [--user USER[:GROUP]] [--unit-dir DIR] [--print]", e.Message);
    }

    [Fact]
    public void Uninstall_takes_no_user()
    {
        Assert.Equal(ExitCodes.Usage, Assert.Throws<LauncherException>(() => InstallOptions.Parse("kv", ["--user", "kv"], uninstall: true)).ExitCode);
        Assert.Equal(new InstallOptions(null, "/u", true), InstallOptions.Parse("kv", ["--unit-dir", "/u", "--print"], uninstall: true));
        Assert.Equal(new InstallOptions("kv:web", null, false), InstallOptions.Parse("kv", ["--user", "kv:web"], uninstall: false));
    }

    [Fact]
    public void The_sockets_file_resolves_references_from_the_environment()
    {
        var env = new Dictionary<string, string> { ["PORT"] = "9000", ["EMPTY"] = "" };
        var sockets = SocketsFile.Parse("http\t0.0.0.0:${PORT}\tkestrel\n# comment\n\nadmin\t[::1]:${ADMIN:-9001}\traw\nlocal\tunix:${DIR:-/run/kv}/kv.sock\traw\n", env, "sockets");
        Assert.Equal(
        [
            new DeclaredSocket("http", "0.0.0.0:9000", true),
            new DeclaredSocket("admin", "[::1]:9001", false),
            new DeclaredSocket("local", "unix:/run/kv/kv.sock", false),
        ], sockets);

        Assert.Equal("socket http: PORT: is not set", Assert.Throws<LauncherException>(() => SocketsFile.Parse("http\t*:${PORT:?}\tkestrel\n", new Dictionary<string, string>(), "s")).Message);
        Assert.Equal("socket http: EMPTY: say which port", Assert.Throws<LauncherException>(() => SocketsFile.Parse("http\t*:${EMPTY:?say which port}\tkestrel\n", env, "s")).Message);
        Assert.Equal("s:1: expected 'name<TAB>listen<TAB>kestrel|raw', got 'http 80'", Assert.Throws<LauncherException>(() => SocketsFile.Parse("http 80\n", env, "s")).Message);
    }

    [Theory]
    [InlineData("127.0.0.1:80", "127.0.0.1:80")]
    [InlineData("[::1]:80", "[::1]:80")]
    [InlineData("*:80", "80")]
    [InlineData("0.0.0.0:80", "80")]
    [InlineData("localhost:80", "127.0.0.1:80|[::1]:80")]
    [InlineData("unix:/run/kv/a.sock", "/run/kv/a.sock")]
    [InlineData("/run/kv/50%.sock", "/run/kv/50%%.sock")]
    public void A_listen_address_becomes_ListenStream_values(string listen, string expected)
    {
        var (listens, unix) = SystemdUnits.ListenStreams(new DeclaredSocket("http", listen, true));
        Assert.Equal(expected, string.Join('|', listens));
        Assert.Equal(listen.Contains('/'), unix);
    }

    [Theory]
    [InlineData("example.com:80")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("::1:80")]
    public void A_listen_address_systemd_cannot_bind_is_one_line(string listen)
    {
        var e = Assert.Throws<LauncherException>(() => SystemdUnits.ListenStreams(new DeclaredSocket("http", listen, true)));
        Assert.StartsWith($"socket http: '{listen}'", e.Message);
    }

    [Fact]
    public void The_service_runs_the_supervisor_under_notify_with_the_stop_timeout_and_hardening_a_JIT_tolerates()
    {
        var unit = SystemdUnits.Generate(NewRelease(), "kv", []).Single();
        Assert.Equal("kv.service", unit.FileName);
        var lines = unit.Text.Split('\n');
        Assert.StartsWith(SystemdUnits.MarkerPrefix, lines[0]);
        foreach (var expected in new[]
        {
            "Type=notify", "NotifyAccess=main", "ExecStart=\"/opt/kv/bin/kv\" supervise", "ExecReload=\"/opt/kv/bin/kv\" restart",
            "KillMode=mixed", "TimeoutStopSec=45", "Restart=on-failure", "RestartSec=5", "User=kv", "WorkingDirectory=/opt/kv",
            "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=\"/opt/kv/tmp\"", "ProtectHome=yes", "PrivateTmp=yes",
            "WantedBy=multi-user.target",
        })
            Assert.Contains(expected, lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("MemoryDenyWriteExecute", StringComparison.Ordinal) || l.StartsWith("ProtectProc", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Environment=", StringComparison.Ordinal) || l.StartsWith("Group=", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Requires=", StringComparison.Ordinal) || l.StartsWith("Sockets=", StringComparison.Ordinal));
    }

    [Fact]
    public void What_the_operator_set_reaches_the_unit_quoted_and_a_home_release_keeps_its_home()
    {
        var release = NewRelease("/home/ops/my kv$1%", ("RELEASE_NODE", "kv2"), ("RELEASE_TMP", "/var/lib/kv tmp"), ("RELEASE_STOP_TIMEOUT", "60"));
        var lines = SystemdUnits.Generate(release, "kv:web", []).Single().Text.Split('\n');
        foreach (var expected in new[]
        {
            "ExecStart=\"/home/ops/my kv$$1%%/bin/kv\" supervise", "WorkingDirectory=/home/ops/my kv$1%%",
            "Environment=\"RELEASE_NODE=kv2\"", "Environment=\"RELEASE_TMP=/var/lib/kv tmp\"", "Environment=RELEASE_STOP_TIMEOUT=60",
            "TimeoutStopSec=75", "ReadWritePaths=\"/var/lib/kv tmp\"", "User=kv", "Group=web", "SyslogIdentifier=kv2",
        })
            Assert.Contains(expected, lines);
        Assert.DoesNotContain("ProtectHome=yes", lines);
    }

    [Fact]
    public void Each_socket_gets_a_unit_with_its_name_and_the_service_requires_them_all()
    {
        var units = SystemdUnits.Generate(NewRelease(), "kv", [new("http", "*:80", true), new("admin", "unix:/run/kv/admin.sock", false)]);
        Assert.Equal(["kv.service", "kv.socket", "kv-admin.socket"], units.Select(u => u.FileName));
        AssertHasLines(units[0].Text, "Requires=kv.socket kv-admin.socket", "After=network.target kv.socket kv-admin.socket", "Sockets=kv.socket kv-admin.socket");
        AssertHasLines(units[1].Text, "ListenStream=80", "FileDescriptorName=http", "Service=kv.service", "WantedBy=sockets.target");
        Assert.DoesNotContain("SocketMode=0600", units[1].Text);
        AssertHasLines(units[2].Text, "ListenStream=/run/kv/admin.sock", "FileDescriptorName=admin", "SocketMode=0600", "SocketUser=kv", "Service=kv.service");

        Assert.Throws<LauncherException>(() => SystemdUnits.Generate(NewRelease(), null, [new("no/slash", "*:80", true)]));
    }

    [Fact]
    public void The_Windows_service_is_the_launcher_in_service_mode_with_restart_on_failure_and_the_stop_timeout()
    {
        var release = NewRelease(@"C:\Program Files\kv", ("RELCRAFT_TOOLS_DIR", @"C:\Program Files\kv\lib\relcraft-0.1.0"), ("RELEASE_STOP_TIMEOUT", "20"));
        var binPath = @"""C:\Program Files\kv\runtime\dotnet.exe"" exec ""C:\Program Files\kv\lib\relcraft-0.1.0\Relcraft.Launcher.dll"" service ""C:\Program Files\kv\bin\kv.bat""";
        Assert.Equal(binPath, WindowsService.BinPath(release));

        var lines = WindowsService.InstallCommands(release, @"NT SERVICE\kv").Select(WindowsService.CommandLine).ToArray();
        Assert.Equal(
        [
            // sc.exe splits its command line like the C runtime: the inner quotes are \" inside one quoted argument.
            @"sc.exe create kv binPath= ""\""C:\Program Files\kv\runtime\dotnet.exe\"" exec \""C:\Program Files\kv\lib\relcraft-0.1.0\Relcraft.Launcher.dll\"" service \""C:\Program Files\kv\bin\kv.bat\"""" start= auto DisplayName= ""kv (Relcraft release)"" obj= ""NT SERVICE\kv""",
            @"sc.exe description kv ""Relcraft release kv at C:\Program Files\kv; `C:\Program Files\kv\bin\kv.bat uninstall` removes it.""",
            "sc.exe failure kv reset= 86400 actions= restart/5000/restart/10000/restart/60000",
            "sc.exe failureflag kv 1",
            @"reg.exe add HKLM\SYSTEM\CurrentControlSet\Services\kv /v PreshutdownTimeout /t REG_DWORD /d 35000 /f",
        ], lines);
        Assert.Equal(["sc.exe stop kv", "sc.exe delete kv"], WindowsService.UninstallCommands(release).Select(WindowsService.CommandLine));
        Assert.True(WindowsService.IsOurs($"[SC] QueryServiceConfig2 SUCCESS\r\n\r\nSERVICE_NAME: kv\r\nDESCRIPTION:  {WindowsService.Description(release)}\r\n", release));
        Assert.False(WindowsService.IsOurs("DESCRIPTION:  Someone else's kv", release));
    }

    [Fact]
    public void An_apphost_release_runs_the_launchers_own_exe_as_the_service()
    {
        var release = NewRelease(@"D:\kv", ("RELCRAFT_TOOLS_DIR", @"D:\kv\lib\relcraft-0.1.0"), ("RELCRAFT_RUNTIME_MODE", "apphost"));
        Assert.Equal(@"D:\kv\lib\relcraft-0.1.0\Relcraft.Launcher.exe service D:\kv\bin\kv.bat", WindowsService.BinPath(release));
    }

    private static void AssertHasLines(string text, params string[] expected)
    {
        var lines = text.Split('\n');
        foreach (var line in expected) Assert.Contains(line, lines);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "\"\"")]
    [InlineData("two words", "\"two words\"")]
    [InlineData(@"C:\dir with space\", @"""C:\dir with space\\""")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    [InlineData(@"a\\""b", @"""a\\\\\""b""")]
    public void Windows_arguments_are_quoted_as_CommandLineToArgvW_splits_them(string arg, string expected) =>
        Assert.Equal(expected, WindowsService.QuoteArgument(arg));
}
