using System.Text;

namespace Relcraft.Launcher;

/// <summary>A unit file to write: its name (kv.service) and its text.</summary>
internal sealed record UnitFile(string FileName, string Text);

/// <summary>
/// The systemd units of `bin/NAME install`: NAME.service runs `bin/NAME supervise` in the
/// foreground (Type=notify: the supervisor sends READY=1 and MAINPID itself, RELOADING=1 around a
/// restart), ExecReload= is the zero-downtime `bin/NAME restart`, KillMode=mixed so only the
/// supervisor gets SIGTERM and drains its app. Each ReleaseSocket becomes a socket unit whose
/// FileDescriptorName= is the socket's name (one name per unit): the first declared socket is
/// NAME.socket, every further one NAME-SOCKET.socket; all have Service=NAME.service, and the service
/// lists them in Sockets= and Requires=/After=s them. The fds reach the supervisor as LISTEN_FDS
/// with LISTEN_FDNAMES; their order across units is systemd's, so names, not positions, tell them apart.
/// </summary>
internal static class SystemdUnits
{
    /// <summary>The first line of every unit Relcraft writes; uninstall removes only files that start with it.</summary>
    public const string MarkerPrefix = "# Written by Relcraft: ";

    public static string Marker(Release release) =>
        $"{MarkerPrefix}`bin/{release.Prog} install` of the release at {release.Root}; `bin/{release.Prog} uninstall` removes it.";

    /// <summary>Seconds between RELEASE_STOP_TIMEOUT (when the supervisor kills its app) and systemd's SIGKILL.</summary>
    public const int StopMargin = 15;

    public static IReadOnlyList<UnitFile> Generate(Release release, string? user, IReadOnlyList<DeclaredSocket> sockets)
    {
        foreach (var socket in sockets)
            if (socket.Name.Length is 0 or > 200 || socket.Name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')))
                throw new LauncherException($"socket '{socket.Name}': a socket unit needs a name of letters, digits, '.', '_' or '-'");
        var socketUnits = sockets.Select((s, i) => (Socket: s, Unit: i == 0 ? $"{release.Name}.socket" : $"{release.Name}-{s.Name}.socket")).ToArray();
        var units = new List<UnitFile> { new($"{release.Name}.service", Service(release, user, socketUnits.Select(s => s.Unit).ToArray())) };
        foreach (var socket in socketUnits) units.Add(new(socket.Unit, Socket(release, user, socket)));
        return units;
    }

    private static string Service(Release release, string? user, string[] socketUnits)
    {
        var bin = Path.Combine(release.Root, "bin", release.Prog);
        var text = new StringBuilder();
        text.Append(Marker(release)).Append('\n');
        text.Append("[Unit]\n");
        text.Append($"Description={Specifiers(release.Name)} {Specifiers(release.Vsn)} (Relcraft release)\n");
        var after = string.Join(' ', new[] { "network.target" }.Concat(socketUnits));
        text.Append($"After={after}\n");
        if (socketUnits.Length > 0) text.Append($"Requires={string.Join(' ', socketUnits)}\n");
        text.Append('\n');

        text.Append("[Service]\n");
        text.Append("Type=notify\n");
        text.Append("NotifyAccess=main\n");
        text.Append($"ExecStart={QuoteCommand(bin)} supervise\n");
        text.Append($"ExecReload={QuoteCommand(bin)} restart\n");
        text.Append($"WorkingDirectory={Specifiers(release.Root)}\n");
        if (release.Node != release.Name) text.Append($"Environment={Quote("RELEASE_NODE=" + release.Node)}\n");
        if (!SamePath(release.Tmp, Path.Combine(release.Root, "tmp"))) text.Append($"Environment={Quote("RELEASE_TMP=" + release.Tmp)}\n");
        if (release.StopTimeout != 30) text.Append($"Environment=RELEASE_STOP_TIMEOUT={release.StopTimeout}\n");
        if (socketUnits.Length > 0) text.Append($"Sockets={string.Join(' ', socketUnits)}\n");
        text.Append("KillMode=mixed\n");
        text.Append($"TimeoutStopSec={release.StopTimeout + StopMargin}\n");
        text.Append("Restart=on-failure\n");
        text.Append("RestartSec=5\n");
        text.Append($"SyslogIdentifier={Specifiers(release.Node)}\n");
        if (user is not null)
        {
            var (name, group) = SplitUser(user);
            text.Append($"User={name}\n");
            if (group is not null) text.Append($"Group={group}\n");
        }
        Hardening(text, release);
        text.Append('\n');

        text.Append("[Install]\n");
        text.Append("WantedBy=multi-user.target\n");
        return text.ToString();
    }

    /// <summary>
    /// What a JIT runtime tolerates: no MemoryDenyWriteExecute= (the JIT writes code), no
    /// ProtectProc=invisible (Hosting.Systemd ≤ 10 reads /proc/PPID). The release stays read-only
    /// (ProtectSystem=strict) except RELEASE_TMP; ProtectHome= only when neither lives under a home.
    /// </summary>
    private static void Hardening(StringBuilder text, Release release)
    {
        text.Append("NoNewPrivileges=yes\n");
        text.Append("PrivateTmp=yes\n");
        text.Append("PrivateDevices=yes\n");
        text.Append("ProtectSystem=strict\n");
        text.Append($"ReadWritePaths={Quote(release.Tmp)}\n");
        if (!UnderHome(release.Root) && !UnderHome(release.Tmp)) text.Append("ProtectHome=yes\n");
        text.Append("ProtectKernelTunables=yes\n");
        text.Append("ProtectKernelModules=yes\n");
        text.Append("ProtectKernelLogs=yes\n");
        text.Append("ProtectControlGroups=yes\n");
        text.Append("ProtectClock=yes\n");
        text.Append("ProtectHostname=yes\n");
        text.Append("RestrictSUIDSGID=yes\n");
        text.Append("RestrictRealtime=yes\n");
        text.Append("RestrictNamespaces=yes\n");
        text.Append("LockPersonality=yes\n");
        text.Append("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n");
        text.Append("SystemCallArchitectures=native\n");
        text.Append("UMask=0027\n");
    }

    private static string Socket(Release release, string? user, (DeclaredSocket Socket, string Unit) socket)
    {
        var (listens, unix) = ListenStreams(socket.Socket);
        var text = new StringBuilder();
        text.Append(Marker(release)).Append('\n');
        text.Append("[Unit]\n");
        text.Append($"Description={Specifiers(release.Name)} socket {Specifiers(socket.Socket.Name)} (Relcraft release)\n");
        text.Append('\n');
        text.Append("[Socket]\n");
        foreach (var listen in listens) text.Append($"ListenStream={listen}\n");
        text.Append($"FileDescriptorName={socket.Socket.Name}\n");
        if (unix)
        {
            text.Append("SocketMode=0600\n");
            if (user is not null)
            {
                var (name, group) = SplitUser(user);
                text.Append($"SocketUser={name}\n");
                if (group is not null) text.Append($"SocketGroup={group}\n");
            }
        }
        text.Append($"Service={release.Name}.service\n");
        text.Append('\n');
        text.Append("[Install]\n");
        text.Append("WantedBy=sockets.target\n");
        return text.ToString();
    }

    /// <summary>
    /// ListenStream= values for one listen address: unix:/path and /path as the path; [v6]:port and
    /// v4:port as they are; *:port (every address) as the port alone; localhost:port as both loopbacks,
    /// as Kestrel binds it. systemd binds numeric addresses only, so other host names are refused.
    /// </summary>
    public static (IReadOnlyList<string> Listens, bool Unix) ListenStreams(DeclaredSocket socket)
    {
        var listen = socket.Listen;
        if (listen.StartsWith("unix:", StringComparison.Ordinal)) listen = listen["unix:".Length..];
        if (listen.StartsWith('/')) return ([Specifiers(listen)], true);

        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(listen[(colon + 1)..], out var port) || port == 0)
            throw new LauncherException($"socket {socket.Name}: '{socket.Listen}' is not HOST:PORT, [IPV6]:PORT, unix:/PATH or /PATH");
        var host = listen[..colon];
        if (host is "*" or "+" or "0.0.0.0" or "[::]") return ([$"{port}"], false);
        if (host == "localhost") return ([$"127.0.0.1:{port}", $"[::1]:{port}"], false);
        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (!System.Net.IPAddress.TryParse(bare, out var address) || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) != host.StartsWith('['))
            throw new LauncherException($"socket {socket.Name}: '{socket.Listen}': systemd listens on numeric addresses (127.0.0.1:{port}, [::1]:{port}, *:{port}), not on host names");
        return ([$"{host}:{port}"], false);
    }

    /// <summary>USER or USER:GROUP.</summary>
    public static (string User, string? Group) SplitUser(string user)
    {
        var colon = user.IndexOf(':');
        return colon < 0 ? (user, null) : (user[..colon], user[(colon + 1)..]);
    }

    /// <summary>A value for Environment= or ReadWritePaths=: double-quoted, with systemd's escapes (\, " and %).</summary>
    public static string Quote(string value) =>
        "\"" + Specifiers(value).Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary>A program path for ExecStart=/ExecReload=, where $ also expands a variable: a literal one is $$.</summary>
    public static string QuoteCommand(string path) => Quote(path).Replace("$", "$$");

    /// <summary>% starts a specifier (%n, %h …) in almost every setting: a literal one is %%.</summary>
    public static string Specifiers(string value) => value.Replace("%", "%%");

    private static bool UnderHome(string path) =>
        path == "/root" || path.StartsWith("/root/", StringComparison.Ordinal) || path == "/home" || path.StartsWith("/home/", StringComparison.Ordinal)
        || path == "/run/user" || path.StartsWith("/run/user/", StringComparison.Ordinal);

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd('/'), Path.GetFullPath(b).TrimEnd('/'), StringComparison.Ordinal);
}
