using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Relcraft.Launcher;

/// <summary>A ReleaseSocket item as the build wrote it to releases/VSN/sockets; Listen may still hold ${VAR}.</summary>
internal sealed record SocketSpec(string Name, string Listen, bool Kestrel);

/// <summary>A listening socket the launcher holds for the app: bound here, or inherited from systemd.</summary>
internal sealed record HeldSocket(string Name, bool Kestrel, Socket Socket, string Address)
{
    public int Fd => (int)Socket.SafeHandle.DangerousGetHandle();
}

/// <summary>
/// The release's declared sockets and systemd's socket-activation protocol: the app gets them as
/// fds 3.. with LISTEN_FDS, LISTEN_PID (its own pid: set by <see cref="ExecWithListeners"/> after
/// the fork) and LISTEN_FDNAMES, plus RELCRAFT_RAW_SOCKETS naming those Kestrel must leave alone.
/// Listeners are only ever closed, never shutdown(2): that would end them for every holder.
/// </summary>
internal static class Sockets
{
    public const string ListenFromVariable = "RELCRAFT_LISTEN_FROM";
    public const int FirstFd = 3;

    public static string FileOf(Release release) => Path.Combine(release.VsnDir, "sockets");

    /// <summary>releases/VSN/sockets; none when the file is absent.</summary>
    public static List<SocketSpec> Declared(Release release)
    {
        var file = FileOf(release);
        return File.Exists(file) ? ParseLines(File.ReadAllText(file), file) : [];
    }

    /// <summary>"NAME\tLISTEN\tkestrel|raw" per line, as the build writes them; blank lines and # comments skipped.</summary>
    public static List<SocketSpec> ParseLines(string text, string displayPath)
    {
        var specs = new List<SocketSpec>();
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var fields = line.Split('\t');
            if (fields.Length != 3 || fields[0].Length == 0 || fields[1].Length == 0 || fields[2] is not ("kestrel" or "raw"))
                throw new LauncherException($"{displayPath}:{lineNumber}: expected 'name<TAB>listen<TAB>kestrel|raw', got '{line}'");
            specs.Add(new SocketSpec(fields[0], fields[1], fields[2] == "kestrel"));
        }
        return specs;
    }

    /// <summary>Listen with its references resolved from <paramref name="lookup"/>; a one-line error when a required one is unset.</summary>
    public static string Substitute(SocketSpec spec, Func<string, string?> lookup) =>
        Relcraft.Agent.EnvReferences.Substitute(spec.Listen, lookup, out var error) ?? throw new LauncherException($"socket {spec.Name}: {error}");

    /// <summary>Listen with its references resolved from <paramref name="lookup"/>, parsed; a one-line error otherwise.</summary>
    public static ListenAddress Resolve(SocketSpec spec, Func<string, string?> lookup)
    {
        var text = Substitute(spec, lookup);
        return ListenAddress.Parse(text, out var error) ?? throw new LauncherException($"socket {spec.Name}: Listen '{text}': {error}");
    }

    /// <summary>Checks every declared socket's Listen resolves under <paramref name="lookup"/>, binding nothing.</summary>
    public static void Check(Release release, Func<string, string?> lookup)
    {
        foreach (var spec in Declared(release)) Resolve(spec, lookup);
    }

    public static Socket Bind(string name, ListenAddress address)
    {
        Socket socket;
        try
        {
            if (address.UnixPath is { } path)
            {
                // A socket file left by a process that died: nobody listens on it any more.
                if (File.Exists(path) && (File.GetAttributes(path) & FileAttributes.Directory) == 0 && !IsListenedOn(path)) File.Delete(path);
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Bind(new UnixDomainSocketEndPoint(path));
            }
            else
            {
                socket = new Socket(address.Ip!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(address.Ip, address.Port));
            }
            // Connections wait here while one process hands over to the next: a deep queue (the kernel caps it at somaxconn).
            socket.Listen(4096);
        }
        catch (SocketException e)
        {
            throw new LauncherException($"socket {name}: cannot listen on {address}: {e.Message}");
        }
        return socket;
    }

    private static bool IsListenedOn(string path)
    {
        try
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>Sockets systemd passed to this process (LISTEN_PID is this pid), by position with LISTEN_FDNAMES' names.</summary>
    public static List<HeldSocket> Inherited(Release release, IReadOnlyList<SocketSpec> declared)
    {
        var held = new List<HeldSocket>();
        if (OperatingSystem.IsWindows()) return held;
        if (release.Get("LISTEN_PID") != Environment.ProcessId.ToString(CultureInfo.InvariantCulture)) return held;
        if (!int.TryParse(release.Get("LISTEN_FDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count <= 0) return held;
        var names = (release.Get("LISTEN_FDNAMES") ?? "").Split(':');
        for (var i = 0; i < count; i++)
        {
            var name = i < names.Length && names[i].Length > 0 ? names[i]
                : i < declared.Count ? declared[i].Name : "unknown";
            var socket = new Socket(new SafeSocketHandle(FirstFd + i, ownsHandle: true));
            Native.SetCloseOnExec(FirstFd + i, true);
            var kestrel = declared.FirstOrDefault(d => d.Name == name)?.Kestrel ?? true;
            held.Add(new HeldSocket(name, kestrel, socket, socket.LocalEndPoint?.ToString() ?? $"fd {FirstFd + i}"));
        }
        return held;
    }

    /// <summary>
    /// The declared sockets, inherited ones first (systemd's, matched by name), the rest bound here.
    /// Throws before binding anything when a Listen does not resolve.
    /// </summary>
    public static List<HeldSocket> Open(Release release, Func<string, string?> lookup)
    {
        var declared = Declared(release);
        if (declared.Count == 0 && release.Get("LISTEN_FDS") is null) return [];
        var held = Inherited(release, declared);
        var missing = declared.Where(d => held.All(h => h.Name != d.Name)).Select(d => (d, Resolve(d, lookup))).ToList();
        try
        {
            foreach (var (spec, address) in missing)
                held.Add(new HeldSocket(spec.Name, spec.Kestrel, Bind(spec.Name, address), address.ToString()));
        }
        catch
        {
            foreach (var h in held) h.Socket.Close();
            throw;
        }
        return held;
    }

    /// <summary>
    /// What a child needs to be handed <paramref name="held"/>: the descriptors stay open across exec
    /// (named in RELCRAFT_LISTEN_FROM for <see cref="ExecWithListeners"/>), with their names.
    /// </summary>
    public static void Describe(IReadOnlyList<HeldSocket> held, IDictionary<string, string> env)
    {
        env.Remove("LISTEN_PID");
        env.Remove("LISTEN_FDS");
        env.Remove("LISTEN_FDNAMES");
        env.Remove(ListenFromVariable);
        env.Remove("RELCRAFT_RAW_SOCKETS");
        if (held.Count == 0) return;
        env[ListenFromVariable] = string.Join(',', held.Select(h => h.Fd.ToString(CultureInfo.InvariantCulture)));
        env["LISTEN_FDNAMES"] = string.Join(':', held.Select(h => h.Name));
        var raw = held.Where(h => !h.Kestrel).Select(h => h.Name).ToList();
        if (raw.Count > 0) env["RELCRAFT_RAW_SOCKETS"] = string.Join(',', raw);
        foreach (var h in held) Native.SetCloseOnExec(h.Fd, false);
    }

    /// <summary>
    /// The last step before execve in the process that becomes the app: descriptors named in
    /// RELCRAFT_LISTEN_FROM move to 3, 4, … and LISTEN_FDS/LISTEN_PID say so — LISTEN_PID is this
    /// pid, which exec keeps. Moved through high numbers first, so no source is overwritten.
    /// </summary>
    public static void PlaceForExec(IDictionary<string, string> env)
    {
        if (!env.TryGetValue(ListenFromVariable, out var list)) return;
        env.Remove(ListenFromVariable);
        var sources = list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var parked = new int[sources.Length];
        for (var i = 0; i < sources.Length; i++)
        {
            parked[i] = Native.DupAbove(sources[i], 1000);
            if (Array.IndexOf(sources, sources[i]) == i && sources[i] >= FirstFd + sources.Length) Native.Close(sources[i]);
        }
        for (var i = 0; i < parked.Length; i++)
        {
            Native.Dup2(parked[i], FirstFd + i);
            Native.Close(parked[i]);
        }
        env["LISTEN_FDS"] = sources.Length.ToString(CultureInfo.InvariantCulture);
        env["LISTEN_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>bin/NAME __exec FILE ARGS…: what the supervisor starts, so the app learns its own pid in LISTEN_PID.</summary>
    public static int ExecWithListeners(IReadOnlyList<string> args)
    {
        if (args.Count == 0) throw new LauncherException("__exec needs a program", ExitCodes.Usage);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables()) env[(string)e.Key] = e.Value as string ?? "";
        PlaceForExec(env);
        return Exec.Replace(args[0], args.Skip(1).ToList(), env);
    }
}
