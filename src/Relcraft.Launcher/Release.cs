using System.Collections;

namespace Relcraft.Launcher;

/// <summary>
/// What bin/NAME knows about the release it runs for: the RELEASE_* variables the shim set (and
/// env.sh may have changed), the build-time facts it passed as RELCRAFT_*, and the paths derived
/// from them. Built from a dictionary, so tests make one without touching the process environment.
/// </summary>
internal sealed class Release
{
    /// <summary>Variables only the launcher reads; the app never sees them.</summary>
    public static readonly string[] LauncherOnly =
        ["RELCRAFT_RUNTIME_MODE", "RELCRAFT_ENTRY", "RELCRAFT_APPHOST", "RELCRAFT_TOOLS_DIR", "RELCRAFT_MANAGED_LAUNCHER"];

    public Release(IDictionary<string, string> env)
    {
        Env = new Dictionary<string, string>(env, OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        Root = Get("RELEASE_ROOT") ?? throw new LauncherException("RELEASE_ROOT is not set: run this through bin/NAME", ExitCodes.Usage);
        Name = Get("RELEASE_NAME") ?? throw new LauncherException("RELEASE_NAME is not set: run this through bin/NAME", ExitCodes.Usage);
        Vsn = Get("RELEASE_VSN") ?? throw new LauncherException("RELEASE_VSN is not set: run this through bin/NAME", ExitCodes.Usage);
        Prog = Get("RELEASE_PROG") ?? Name;
        Node = Get("RELEASE_NODE") ?? Name;
        Tmp = Get("RELEASE_TMP") ?? Path.Combine(Root, "tmp");
        StopTimeout = int.TryParse(Get("RELEASE_STOP_TIMEOUT"), out var t) && t >= 0 ? t : 30;
        RuntimeMode = Get("RELCRAFT_RUNTIME_MODE") ?? "bundled";
        Entry = Get("RELCRAFT_ENTRY") ?? Name + ".dll";
        AppHost = Get("RELCRAFT_APPHOST") ?? Name;
        ToolsDir = Get("RELCRAFT_TOOLS_DIR") ?? AppContext.BaseDirectory.TrimEnd('/', '\\');
        if (Node.Length == 0 || Node.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')))
            throw new LauncherException($"RELEASE_NODE '{Node}' is invalid: use letters, digits, '.', '_' or '-'");
    }

    public static Release FromProcess()
    {
        var env = new Dictionary<string, string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables()) env[(string)e.Key] = e.Value as string ?? "";
        return new Release(env);
    }

    public IReadOnlyDictionary<string, string> Env { get; }
    public string Root { get; }
    public string Name { get; }
    public string Vsn { get; }
    public string Prog { get; }
    public string Node { get; }
    public string Tmp { get; }
    public int StopTimeout { get; }
    /// <summary>bundled (runtime/dotnet), apphost (runtime from runtime packs, no muxer) or system (dotnet on PATH).</summary>
    public string RuntimeMode { get; }
    public string Entry { get; }
    public string AppHost { get; }
    public string ToolsDir { get; }

    public string VsnDir => Path.Combine(Root, "releases", Vsn);
    public string PidFile => Path.Combine(Tmp, Node + ".pid");
    public string LogFile => Path.Combine(Tmp, "log", Node + ".log");
    public string ControlDir => Path.Combine(Tmp, "control");
    public string AppDir => Path.Combine(Root, "lib", $"{Name}-{Vsn}");
    public string RuntimeConfig => Path.Combine(VsnDir, Name + ".runtimeconfig.json");
    public string CookieFile => Path.Combine(Root, "releases", "COOKIE");

    /// <summary>The environment for a child of the launcher (app, script): <see cref="Env"/> without <see cref="LauncherOnly"/>.</summary>
    public Dictionary<string, string> ChildEnvironment()
    {
        var env = new Dictionary<string, string>(Env, OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (var name in LauncherOnly) env.Remove(name);
        return env;
    }

    public string? Get(string name) => Env.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    public long GetLong(string name, long fallback) => long.TryParse(Get(name), out var v) && v > 0 ? v : fallback;

    /// <summary>RELEASE_TMP and its 0700 control directory (the control socket lives there).</summary>
    public void PrepareTmp()
    {
        try { Directory.CreateDirectory(Tmp); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new LauncherException($"cannot create RELEASE_TMP {Tmp}"); }
        try
        {
            if (OperatingSystem.IsWindows()) { Directory.CreateDirectory(ControlDir); return; }
            Directory.CreateDirectory(ControlDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(ControlDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new LauncherException($"cannot create {ControlDir}"); }
    }
}
