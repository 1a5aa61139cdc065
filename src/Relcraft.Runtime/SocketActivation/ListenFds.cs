using System.Runtime.InteropServices;

namespace Relcraft.SocketActivation;

/// <summary>One listening socket inherited by systemd's socket-activation protocol: its fd and its name.</summary>
internal readonly record struct ListenFd(int Fd, string Name);

/// <summary>
/// The sockets a release's process inherited (fds 3.., LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES — from the
/// Relcraft supervisor, systemd, or systemd-socket-activate), and how the assemblies of one process agree on
/// them. Whoever takes them first (the agent before Main, else Relcraft.Runtime) sets FD_CLOEXEC on each, so
/// the app's own children do not hold the listeners, removes LISTEN_* from the environment those children
/// see, and publishes the list as AppContext data <see cref="AppContextKey"/>: "FD=NAME" entries joined by
/// ':' ("3=http:4=kv"); ':' is the one character a systemd fd name cannot hold. Later readers (Relcraft.Hosting,
/// Relcraft.Runtime) read that, never LISTEN_*.
/// Compiled into Relcraft.Agent, Relcraft.Hosting and Relcraft.Runtime (none may depend on another).
/// </summary>
internal static class ListenFds
{
    public const string AppContextKey = "Relcraft.ListenFds";
    /// <summary>Set by the launcher: names (',' separated) of sockets that are not Kestrel's (ReleaseSocket Kestrel="false").</summary>
    public const string RawSocketsVariable = "RELCRAFT_RAW_SOCKETS";
    public const int FirstFd = 3;
    private const string UnknownName = "unknown"; // what systemd's sd_listen_fds_with_names reports for a missing name
    private const int MaxFds = 4096;
    private static readonly object Gate = new();

    /// <summary>
    /// The sockets LISTEN_* hand to process <paramref name="pid"/>, or null when they are not for it (LISTEN_PID
    /// another process's, as in a child that inherited the variables) or LISTEN_FDS is not a positive count.
    /// Names beyond LISTEN_FDNAMES, or empty ones, are "unknown".
    /// </summary>
    public static IReadOnlyList<ListenFd>? FromVariables(string? listenPid, string? listenFds, string? listenFdNames, int pid)
    {
        if (!int.TryParse(listenPid, out var forPid) || forPid != pid) return null;
        if (!int.TryParse(listenFds, out var count) || count <= 0 || count > MaxFds) return null;
        var names = string.IsNullOrEmpty(listenFdNames) ? [] : listenFdNames.Split(':');
        var fds = new ListenFd[count];
        for (var i = 0; i < count; i++)
            fds[i] = new ListenFd(FirstFd + i, i < names.Length && names[i].Length > 0 ? names[i] : UnknownName);
        return fds;
    }

    public static string Format(IEnumerable<ListenFd> fds) => string.Join(":", fds.Select(f => $"{f.Fd}={f.Name}"));

    /// <summary>Reads <see cref="Format"/>'s text; entries that are not "FD=NAME" are skipped.</summary>
    public static IReadOnlyList<ListenFd> Parse(string? text)
    {
        var fds = new List<ListenFd>();
        foreach (var entry in (text ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = entry.IndexOf('=');
            if (eq > 0 && int.TryParse(entry.AsSpan(0, eq), out var fd) && fd >= 0) fds.Add(new ListenFd(fd, entry[(eq + 1)..]));
        }
        return fds;
    }

    /// <summary>The sockets Kestrel serves on: all but those named in <paramref name="rawSockets"/> (RELCRAFT_RAW_SOCKETS).</summary>
    public static IReadOnlyList<ListenFd> ForKestrel(IReadOnlyList<ListenFd> fds, string? rawSockets)
    {
        var raw = (rawSockets ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return fds.Where(f => !raw.Contains(f.Name, StringComparer.Ordinal)).ToArray();
    }

    /// <summary>What this process inherited: the published list if someone took them already, else <see cref="TakeFromEnvironment"/>.</summary>
    public static IReadOnlyList<ListenFd> Current(Action<string>? warn = null) =>
        AppContext.GetData(AppContextKey) is string published ? Parse(published) : TakeFromEnvironment(warn);

    /// <summary>
    /// Takes the sockets LISTEN_* give this process (see the class comment); an empty list when there are none.
    /// An fd that is not open is reported through <paramref name="warn"/> and left out. Never shuts a socket down:
    /// shutdown(2) on a shared listener would stop it for every process holding it.
    /// </summary>
    public static IReadOnlyList<ListenFd> TakeFromEnvironment(Action<string>? warn = null)
    {
        lock (Gate)
        {
            if (AppContext.GetData(AppContextKey) is string published) return Parse(published);
            var inherited = OperatingSystem.IsWindows() ? null : FromVariables(
                Environment.GetEnvironmentVariable("LISTEN_PID"), Environment.GetEnvironmentVariable("LISTEN_FDS"),
                Environment.GetEnvironmentVariable("LISTEN_FDNAMES"), Environment.ProcessId);
            if (inherited is null) return [];
            var taken = new List<ListenFd>();
            foreach (var fd in inherited)
            {
                if (SetCloseOnExec(fd.Fd)) taken.Add(fd);
                else warn?.Invoke($"inherited socket {fd.Name} (fd {fd.Fd}) is not open (errno {Marshal.GetLastPInvokeError()}); ignored");
            }
            foreach (var name in (string[])["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]) Environment.SetEnvironmentVariable(name, null);
            AppContext.SetData(AppContextKey, Format(taken));
            return taken;
        }
    }

    private static bool SetCloseOnExec(int fd)
    {
        const int F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;
        var flags = fcntl(fd, F_GETFD, 0);
        return flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);
}
