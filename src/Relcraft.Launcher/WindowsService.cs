using System.Diagnostics;
using System.Text;

namespace Relcraft.Launcher;

/// <summary>
/// bin\NAME.bat install / uninstall: a Windows service, made with sc.exe the way mix's install is.
/// The service binary is this launcher in `service` mode (<see cref="WindowsServiceHost"/>): a
/// Windows service must answer the SCM itself, which neither cmd.exe (the .bat) nor an app that
/// never heard of services does, so the launcher plays erlsrv's part — it runs `bin\NAME.bat start`
/// as its child (env.bat and start.data read at every start, so upgrades hold), turns the SCM's
/// stop and preshutdown into `bin\NAME.bat stop` (graceful, then killed after RELEASE_STOP_TIMEOUT),
/// and reports a nonzero exit of the app as a service failure, which the failure actions restart.
/// </summary>
internal static class WindowsService
{
    /// <summary>The description every service Relcraft creates starts with; uninstall deletes only those.</summary>
    public const string DescriptionPrefix = "Relcraft release ";

    /// <summary>Seconds the SCM waits after preshutdown beyond RELEASE_STOP_TIMEOUT (same margin as systemd's TimeoutStopSec).</summary>
    public const int StopMargin = SystemdUnits.StopMargin;

    public static string Bat(Release release) => WindowsPath(release.Root, "bin", release.Prog.EndsWith(".bat", StringComparison.OrdinalIgnoreCase) ? release.Prog : release.Prog + ".bat");

    /// <summary>The service's command line (ImagePath): the launcher the .bat would run, in service mode, given the .bat.</summary>
    public static string BinPath(Release release)
    {
        string[] launcher = release.RuntimeMode switch
        {
            "apphost" => [WindowsPath(release.ToolsDir, "Relcraft.Launcher.exe")],
            "system" => [SystemDotnet(release), "exec", WindowsPath(release.ToolsDir, "Relcraft.Launcher.dll")],
            _ => [WindowsPath(release.Root, "runtime", "dotnet.exe"), "exec", WindowsPath(release.ToolsDir, "Relcraft.Launcher.dll")],
        };
        return CommandLine([.. launcher, "service", Bat(release)]);
    }

    public static string Description(Release release) =>
        $"{DescriptionPrefix}{release.Name} at {release.Root}; `{Bat(release)} uninstall` removes it.";

    /// <summary>Every command install runs, as argv arrays (program first).</summary>
    public static IReadOnlyList<string[]> InstallCommands(Release release, string? user)
    {
        var name = release.Name;
        string[] create = ["sc.exe", "create", name, "binPath=", BinPath(release), "start=", "auto", "DisplayName=", $"{name} (Relcraft release)"];
        // Accounts without a password (LocalService, NetworkService, NT SERVICE\NAME): one with a password
        // is set by the operator (sc.exe config NAME obj= ... password= ...), never on our command line.
        if (user is not null) create = [.. create, "obj=", user];
        return
        [
            create,
            ["sc.exe", "description", name, Description(release)],
            ["sc.exe", "failure", name, "reset=", "86400", "actions=", "restart/5000/restart/10000/restart/60000"],
            // Failure actions on a nonzero exit too, not only when the process dies without reporting STOPPED.
            ["sc.exe", "failureflag", name, "1"],
            // sc.exe has no switch for it: the SCM keeps the preshutdown timeout in the service's key.
            ["reg.exe", "add", $@"HKLM\SYSTEM\CurrentControlSet\Services\{name}", "/v", "PreshutdownTimeout", "/t", "REG_DWORD",
                "/d", ((release.StopTimeout + StopMargin) * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture), "/f"],
        ];
    }

    public static IReadOnlyList<string[]> UninstallCommands(Release release) =>
        [["sc.exe", "stop", release.Name], ["sc.exe", "delete", release.Name]];

    public static int Install(Release release, InstallOptions options)
    {
        if (options.UnitDir is not null) throw new LauncherException($"--unit-dir is for systemd; {InstallOptions.Usage(release.Prog, uninstall: false)}", ExitCodes.Usage);
        var commands = InstallCommands(release, options.User);
        if (options.Print)
        {
            foreach (var command in commands) Console.Out.WriteLine(CommandLine(command));
            return ExitCodes.Ok;
        }
        foreach (var command in commands)
        {
            var (code, output) = RunTool(command);
            if (code != 0) throw new LauncherException($"{CommandLine(command)} failed ({code}): {output.Trim()}");
        }
        Console.Out.WriteLine($"* created service {release.Name} ({BinPath(release)})");
        Console.Out.WriteLine($"next: sc.exe start {release.Name}");
        return ExitCodes.Ok;
    }

    public static int Uninstall(Release release, InstallOptions options)
    {
        if (options.UnitDir is not null) throw new LauncherException($"--unit-dir is for systemd; {InstallOptions.Usage(release.Prog, uninstall: true)}", ExitCodes.Usage);
        if (options.Print)
        {
            foreach (var command in UninstallCommands(release)) Console.Out.WriteLine(CommandLine(command));
            return ExitCodes.Ok;
        }
        var (found, description) = RunTool(["sc.exe", "qdescription", release.Name, "8192"]);
        if (found != 0) throw new LauncherException($"{release.Name} is not installed as a service");
        if (!IsOurs(description, release)) throw new LauncherException($"service {release.Name} was not created by Relcraft for {release.Root}: not touching it");
        RunTool(UninstallCommands(release)[0]); // not running is fine
        var (code, output) = RunTool(UninstallCommands(release)[1]);
        if (code != 0) throw new LauncherException($"sc.exe delete {release.Name} failed ({code}): {output.Trim()}");
        Console.Out.WriteLine($"* deleted service {release.Name}");
        return ExitCodes.Ok;
    }

    /// <summary>`sc.exe qdescription` output names our description (its DESCRIPTION: line).</summary>
    public static bool IsOurs(string scOutput, Release release) =>
        scOutput.Contains(Description(release), StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// One Windows command line from argv, quoted the way CommandLineToArgvW and the C runtime split it
    /// (what sc.exe and the SCM do): an argument with a space, tab or quote is wrapped in quotes, a quote
    /// inside becomes \", and backslashes are doubled only where they precede a quote.
    /// </summary>
    public static string CommandLine(IEnumerable<string> argv) => string.Join(' ', argv.Select(QuoteArgument));

    public static string QuoteArgument(string arg)
    {
        if (arg.Length > 0 && arg.IndexOfAny([' ', '\t', '"']) < 0) return arg;
        var quoted = new StringBuilder("\"");
        var backslashes = 0;
        foreach (var c in arg)
        {
            if (c == '\\') { backslashes++; continue; }
            quoted.Append('\\', c == '"' ? backslashes * 2 + 1 : backslashes);
            backslashes = 0;
            quoted.Append(c);
        }
        quoted.Append('\\', backslashes * 2);
        return quoted.Append('"').ToString();
    }

    private static string WindowsPath(string first, params string[] rest) =>
        string.Join('\\', new[] { first.TrimEnd('\\', '/') }.Concat(rest));

    /// <summary>ReleaseIncludeRuntime=false: the service runs without the operator's PATH, so name dotnet.exe by its full path now.</summary>
    private static string SystemDotnet(Release release)
    {
        if (release.Get("DOTNET_ROOT") is string root && File.Exists(Path.Combine(root, "dotnet.exe"))) return WindowsPath(root, "dotnet.exe");
        foreach (var dir in (release.Get("PATH") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "dotnet.exe"))) return WindowsPath(dir, "dotnet.exe");
        throw new LauncherException($"{release.Name} was built without a runtime and no dotnet.exe is on PATH or in DOTNET_ROOT: the service needs one");
    }

    private static (int Code, string Output) RunTool(string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in command.Skip(1)) start.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout + stderr.GetAwaiter().GetResult());
        }
        catch (System.ComponentModel.Win32Exception e) { throw new LauncherException($"cannot run {command[0]}: {e.Message}"); }
    }
}
