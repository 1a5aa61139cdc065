using System.Diagnostics;

namespace Relcraft.Launcher;

/// <summary>
/// releases/VSN/hooks/EVENT/*: run in name order (the build numbers them 01-, 02-, … in the order
/// of the ReleaseHook items), each with sh (a .bat/.cmd with cmd.exe on Windows), seeing the
/// launcher's environment. The first that fails stops the rest.
/// </summary>
internal static class Hooks
{
    public static IReadOnlyList<string> For(string vsnDir, string evt)
    {
        var dir = Path.Combine(vsnDir, "hooks", evt);
        if (!Directory.Exists(dir)) return [];
        var files = Directory.GetFiles(dir);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    /// <summary>False (after saying which) when a hook failed.</summary>
    public static bool Run(Release release, string evt)
    {
        foreach (var hook in For(release.VsnDir, evt))
        {
            var windowsScript = OperatingSystem.IsWindows() && Path.GetExtension(hook).ToLowerInvariant() is ".bat" or ".cmd";
            var start = new ProcessStartInfo(windowsScript ? "cmd.exe" : "sh") { UseShellExecute = false };
            if (windowsScript) start.ArgumentList.Add("/c");
            start.ArgumentList.Add(hook);
            int code;
            try
            {
                using var process = Process.Start(start)!;
                process.WaitForExit();
                code = process.ExitCode;
            }
            catch (System.ComponentModel.Win32Exception) { code = 127; }
            if (code != 0)
            {
                Console.Error.WriteLine($"{evt} hook {Path.GetFileName(hook)} failed");
                return false;
            }
        }
        return true;
    }
}
