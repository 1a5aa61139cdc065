using System.Reflection;
using Relcraft.Agent.Control;

namespace Relcraft.Agent;

/// <summary>
/// Runs inside the app before Main, injected by bin/NAME through DOTNET_STARTUP_HOOKS.
/// Order: rpc's compile process compiles and exits; boot configuration (which may stop the boot), then by command — eval evaluates and
/// exits before Main; start/daemon/console take inherited sockets and get readiness, preloading and the control channel.
/// Nothing here may take a healthy app down: unexpected failures are reported and ignored.
/// </summary>
internal static class Boot
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable("RELEASE_ROOT") is not { Length: > 0 } root) return;
        // The daemon supervisor inherits the launcher's environment; the agent belongs in the app only.
        if (Assembly.GetEntryAssembly()?.GetName().Name == "Relcraft.Launcher") return;
        var command = Environment.GetEnvironmentVariable("RELEASE_COMMAND") ?? "";
        // rpc's compile process (CompiledRpc) needs the app's assemblies, not its configuration: an rpc comes
        // without the environment the system was started with (PORT=…), so its boot configuration may not hold.
        if (Environment.GetEnvironmentVariable("RELCRAFT_COMPILE_TO") is { Length: > 0 } target)
        {
            Environment.Exit(CompileCommand.Run(target));
            return;
        }
        try
        {
            PidFile.WriteIfRequested();
            BootConfig.Apply(root);
            // bin/NAME restart asks first whether the new boot would get this far, before stopping anything.
            if (Environment.GetEnvironmentVariable("RELCRAFT_CHECK") == "1")
            {
                Console.Out.Flush();
                Environment.Exit(0);
            }
        }
        catch (BootConfigException e)
        {
            Console.Error.WriteLine($"ERROR: {e.Message}");
            Console.Error.Flush();
            Environment.Exit(1);
        }

        // eval, and custom commands made of an Expression, evaluate instead of running Main.
        if (Environment.GetEnvironmentVariable("RELCRAFT_EVAL") is not null)
        {
            Environment.Exit(EvalCommand.Run());
            return;
        }

        try
        {
            InheritedSockets.Take();
            Readiness.Watch(Assembly.GetEntryAssembly());
            if (Environment.GetEnvironmentVariable("RELEASE_MODE") == "embedded") Preload.AppAssemblies();
            ScriptingLifetime.Configure();
            ControlServer.StartIfConfigured(root);
            if (command == "console") ConsoleShell.Start();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft agent: {e.GetType().Name}: {e.Message}");
        }
    }
}

/// <summary>Where a shell cannot exec (cmd.exe), the app writes its own pid file: "PID STARTTIME".</summary>
internal static class PidFile
{
    public static void WriteIfRequested()
    {
        var path = Environment.GetEnvironmentVariable("RELCRAFT_PID_FILE");
        if (string.IsNullOrEmpty(path)) return;
        Environment.SetEnvironmentVariable("RELCRAFT_PID_FILE", null);
        var started = ProcessInfo.StartTicks(Environment.ProcessId);
        File.WriteAllText(path, started is null ? $"{Environment.ProcessId}\n" : $"{Environment.ProcessId} {started}\n");
    }
}

/// <summary>Shared with Relcraft.Launcher: how a pid file names one process for good.</summary>
public static class ProcessInfo
{
    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks), or null where there is no /proc.</summary>
    public static string? StartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}

/// <summary>Embedded mode: every assembly of the app is loaded before Main, so no request pays for it later.</summary>
internal static class Preload
{
    public static void AppAssemblies()
    {
        foreach (var path in AppAssemblyPaths())
        {
            try { Assembly.Load(new AssemblyName(Path.GetFileNameWithoutExtension(path))); }
            catch (Exception e) when (e is FileLoadException or BadImageFormatException or FileNotFoundException) { }
        }
    }

    /// <summary>The app's own managed assemblies: the trusted platform assemblies under the app's directory.</summary>
    public static IEnumerable<string> AppAssemblyPaths()
    {
        var baseDir = AppContext.BaseDirectory;
        var tpa = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "";
        return tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.StartsWith(baseDir, StringComparison.Ordinal));
    }
}
