using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Relcraft.Launcher;

/// <summary>How the app is run: which runtime, which command line, which environment.</summary>
internal static partial class AppLaunch
{
    private static string Exe(string name) => OperatingSystem.IsWindows() ? name + ".exe" : name;

    /// <summary>The app's command line for <paramref name="args"/>; sets DOTNET_ROOT in <paramref name="env"/> where the runtime needs it.</summary>
    public static (string File, List<string> Args) Command(Release release, IDictionary<string, string> env, IEnumerable<string> args)
    {
        if (release.RuntimeMode == "apphost")
        {
            env["DOTNET_ROOT"] = Path.Combine(release.Root, "runtime");
            return (Path.Combine(release.AppDir, Exe(release.AppHost)), [.. args]);
        }
        var dotnet = FindDotnet(release, env);
        return (dotnet, ["exec", "--runtimeconfig", release.RuntimeConfig, Path.Combine(release.AppDir, release.Entry), .. args]);
    }

    /// <summary>runtime/dotnet of the release, or the machine's when it was built without one (ReleaseIncludeRuntime=false).</summary>
    public static string FindDotnet(Release release, IDictionary<string, string> env)
    {
        string dotnet;
        if (release.RuntimeMode == "system")
        {
            var root = release.Get("DOTNET_ROOT");
            if (root is not null && Exists(Path.Combine(root, Exe("dotnet")))) dotnet = Path.Combine(root, Exe("dotnet"));
            else dotnet = OnPath(Exe("dotnet"), release.Get("PATH"))
                ?? throw new LauncherException($"{release.Name} was built without a runtime (ReleaseIncludeRuntime=false) and no dotnet was found on PATH or in DOTNET_ROOT");
        }
        else
        {
            dotnet = Path.Combine(release.Root, "runtime", Exe("dotnet"));
            env["DOTNET_ROOT"] = Path.Combine(release.Root, "runtime");
        }
        if (!Exists(dotnet)) throw new LauncherException($"runtime not found: {dotnet}");
        return dotnet;
    }

    private static string? OnPath(string file, string? path)
    {
        foreach (var dir in (path ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, file);
            if (Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>A file, or a symlink whose final target is one (/usr/bin/dotnet dangles once the SDK is gone).</summary>
    private static bool Exists(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return false;
        try { return info.LinkTarget is null || info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true }; }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// What every process of the app sees besides RELEASE_*: its content root (appsettings*.json,
    /// wwwroot/) is the app's folder, as WORKDIR /app is in container images, while the working
    /// directory stays the operator's so relative arguments keep their meaning; an explicit
    /// DOTNET_CONTENTROOT or ASPNETCORE_CONTENTROOT wins. The agent comes in as a startup hook.
    /// </summary>
    public static Dictionary<string, string> Environment(Release release)
    {
        var env = release.ChildEnvironment();
        if (release.Get("DOTNET_CONTENTROOT") is null && release.Get("ASPNETCORE_CONTENTROOT") is null)
            env["DOTNET_CONTENTROOT"] = release.AppDir;
        if (HooksDisabled(release))
        {
            // No agent can run: the supervisor falls back to "alive after a grace period" for readiness.
            env["RELCRAFT_NO_AGENT"] = "1";
            return env;
        }
        var agent = Path.Combine(release.ToolsDir, "Relcraft.Agent.dll");
        if (File.Exists(agent))
            env["DOTNET_STARTUP_HOOKS"] = release.Get("DOTNET_STARTUP_HOOKS") is { } other ? agent + Path.PathSeparator + other : agent;
        return env;
    }

    [GeneratedRegex("\"System\\.StartupHookProvider\\.IsSupported\": *false")]
    private static partial Regex HooksOff();

    /// <summary>The app turned startup hooks off, so the agent (control channel, boot config) cannot load.</summary>
    public static bool HooksDisabled(Release release)
    {
        try { return File.Exists(release.RuntimeConfig) && HooksOff().IsMatch(File.ReadAllText(release.RuntimeConfig)); }
        catch (IOException) { return false; }
    }

    public static void RequireAgent(Release release, string command)
    {
        if (HooksDisabled(release))
            throw new LauncherException($"{command} needs the Relcraft agent, but this app disables startup hooks (System.StartupHookProvider.IsSupported=false in {release.RuntimeConfig})");
    }
}

/// <summary>The cookie: releases/COOKIE (0600), or RELEASE_COOKIE, which reaches the app through a file — never argv or its environment.</summary>
internal static class Cookie
{
    private const UnixFileMode Secret = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>A release unpacked from its tarball has no cookie yet: make one, readable by its owner only.</summary>
    public static void Ensure(Release release)
    {
        if (release.Get("RELEASE_COOKIE") is not null) return;
        if (File.Exists(release.CookieFile) && new FileInfo(release.CookieFile).Length > 0) return;
        try { WriteSecret(release.CookieFile, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant()); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new LauncherException($"cannot create {release.CookieFile}"); }
    }

    /// <summary>Moves RELEASE_COOKIE out of <paramref name="env"/> into a 0600 file the agent reads and deletes.</summary>
    public static void HandOver(Release release, IDictionary<string, string> env)
    {
        if (release.Get("RELEASE_COOKIE") is { } cookie)
        {
            var file = Path.Combine(release.ControlDir, $".{release.Node}.cookie.{System.Environment.ProcessId}");
            try { WriteSecret(file, cookie); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new LauncherException($"cannot write {file}"); }
            env["RELCRAFT_COOKIE_FILE"] = file;
        }
        env.Remove("RELEASE_COOKIE");
    }

    private static void WriteSecret(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = Secret;
        using (var stream = new FileStream(path, options)) stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, Secret);
    }
}
