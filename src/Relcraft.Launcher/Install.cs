namespace Relcraft.Launcher;

/// <summary>What install/uninstall were asked for.</summary>
internal sealed record InstallOptions(string? User, string? UnitDir, bool Print)
{
    public const string DefaultUnitDir = "/etc/systemd/system";

    public static string Usage(string prog, bool uninstall) => uninstall
        ? $"usage: {prog} uninstall [--unit-dir DIR] [--print]"
        : $"usage: {prog} install [--user USER[:GROUP]] [--unit-dir DIR] [--print]";

    public static InstallOptions Parse(string prog, IReadOnlyList<string> args, bool uninstall)
    {
        string? user = null, unitDir = null;
        var print = false;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 0
                ? args[++i]
                : throw new LauncherException($"{args[i]} needs a value; {Usage(prog, uninstall)}", ExitCodes.Usage);
            switch (args[i])
            {
                case "--user" when !uninstall: user = Value(); break;
                case "--unit-dir": unitDir = Value(); break;
                case "--print": print = true; break;
                default: throw new LauncherException($"unknown argument '{args[i]}'; {Usage(prog, uninstall)}", ExitCodes.Usage);
            }
        }
        return new InstallOptions(user, unitDir, print);
    }
}

/// <summary>
/// bin/NAME install / uninstall: systemd units on Linux (<see cref="SystemdUnits"/>), a service on
/// Windows (<see cref="WindowsService"/>). Writes files only: it runs no systemctl (install may run
/// in an image build or a chroot, and when to enable is the operator's call), and prints the next command.
/// </summary>
internal static class Install
{
    public static int Run(Release release, IReadOnlyList<string> args, bool uninstall)
    {
        var options = InstallOptions.Parse(release.Prog, args, uninstall);
        if (OperatingSystem.IsWindows()) return uninstall ? WindowsService.Uninstall(release, options) : WindowsService.Install(release, options);
        if (!OperatingSystem.IsLinux()) throw new LauncherException($"{release.Prog} {(uninstall ? "uninstall" : "install")}: systemd units (Linux) and Windows services only");
        return uninstall ? RemoveUnits(release, options) : WriteUnits(release, options);
    }

    private static int WriteUnits(Release release, InstallOptions options)
    {
        if (options.User is not null) RequireAccount(options.User);
        var units = SystemdUnits.Generate(release, options.User, SocketsFile.Read(release));
        var dir = options.UnitDir ?? InstallOptions.DefaultUnitDir;
        if (options.Print)
        {
            // The shape of `systemctl cat`: each unit under a comment naming where install would write it.
            Console.Out.Write(string.Join("\n", units.Select(u => $"# {Path.Combine(dir, u.FileName)}\n{u.Text}")));
            return ExitCodes.Ok;
        }
        if (!Directory.Exists(dir)) throw new LauncherException($"unit directory {dir} does not exist");
        foreach (var unit in units)
        {
            var path = Path.Combine(dir, unit.FileName);
            if (Ownership(path, release) is Owner.Someone) throw NotOurs(path, release);
        }
        foreach (var stale in OurUnits(dir, release).Where(p => units.All(u => Path.GetFileName(p) != u.FileName)))
        {
            File.Delete(stale);
            Console.Out.WriteLine($"* removed {stale} (no longer declared)");
        }
        foreach (var unit in units)
        {
            var path = Path.Combine(dir, unit.FileName);
            WriteAtomically(path, unit.Text);
            Console.Out.WriteLine($"* wrote {path}");
        }
        if (options.User is not null && SystemdUnits.SplitUser(options.User).User is var owner && owner != "root")
        {
            Console.Out.WriteLine($"note: {owner} must be able to write {release.Tmp} and read {release.CookieFile} (e.g. chown {owner} those two)");
        }
        var enable = string.Join(' ', units.Skip(1).Select(u => u.FileName).Append(units[0].FileName));
        Console.Out.WriteLine($"next: systemctl daemon-reload && systemctl enable --now {enable}");
        return ExitCodes.Ok;
    }

    private static int RemoveUnits(Release release, InstallOptions options)
    {
        var dir = options.UnitDir ?? InstallOptions.DefaultUnitDir;
        var service = Path.Combine(dir, $"{release.Name}.service");
        if (Ownership(service, release) is Owner.Someone) throw NotOurs(service, release);
        var ours = OurUnits(dir, release).ToArray();
        if (options.Print)
        {
            foreach (var path in ours) Console.Out.WriteLine($"rm {path}");
            return ExitCodes.Ok;
        }
        if (ours.Length == 0) throw new LauncherException($"{release.Name} is not installed in {dir} (no {release.Name}.service written by Relcraft for {release.Root})");
        foreach (var path in ours)
        {
            var unit = Path.GetFileName(path);
            if (Enabled(dir, unit) is string wants)
                throw new LauncherException($"{unit} is enabled ({wants}): run `systemctl disable --now {string.Join(' ', ours.Select(Path.GetFileName))}` first");
        }
        foreach (var path in ours)
        {
            File.Delete(path);
            Console.Out.WriteLine($"* removed {path}");
        }
        Console.Out.WriteLine("next: systemctl daemon-reload");
        return ExitCodes.Ok;
    }

    private enum Owner { Nobody, Us, Someone }

    /// <summary>Us: the file is a unit Relcraft wrote for this release root; Someone: a file by anyone else (or for another root).</summary>
    private static Owner Ownership(string path, Release release)
    {
        if (!File.Exists(path)) return Owner.Nobody;
        string? first;
        using (var reader = new StreamReader(path)) first = reader.ReadLine();
        return first is not null && first.StartsWith(SystemdUnits.MarkerPrefix, StringComparison.Ordinal)
            && first.Contains($" of the release at {release.Root}; ", StringComparison.Ordinal)
            ? Owner.Us
            : Owner.Someone;
    }

    private static LauncherException NotOurs(string path, Release release) =>
        new($"{path} was not written by Relcraft for {release.Root}: not touching it");

    /// <summary>NAME.service, NAME.socket and NAME-*.socket in the directory that Relcraft wrote for this root.</summary>
    private static IEnumerable<string> OurUnits(string dir, Release release)
    {
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir)
            .Where(p => Path.GetFileName(p) is var f && (f == $"{release.Name}.service" || f == $"{release.Name}.socket"
                || (f.StartsWith($"{release.Name}-", StringComparison.Ordinal) && f.EndsWith(".socket", StringComparison.Ordinal))))
            .Where(p => Ownership(p, release) == Owner.Us)
            .Order(StringComparer.Ordinal);
    }

    /// <summary>The TARGET.wants/ link `systemctl enable` made for the unit in this directory, if any.</summary>
    private static string? Enabled(string dir, string unit)
    {
        foreach (var wants in Directory.EnumerateDirectories(dir, "*.wants"))
        {
            var link = Path.Combine(wants, unit);
            if (File.Exists(link) || new FileInfo(link).LinkTarget is not null) return Path.GetRelativePath(dir, link);
        }
        return null;
    }

    /// <summary>Beside the target, then a rename: systemd (or a reader) sees the old unit or the new one, never half of it.</summary>
    private static void WriteAtomically(string path, string text)
    {
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllText(temp, text);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.Move(temp, path, overwrite: true);
        }
        catch (UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new LauncherException($"cannot write {path}: permission denied (run as root, or use --unit-dir DIR or --print)");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>systemd refuses to start a unit whose User= does not exist: say so now, not at the first start.</summary>
    private static void RequireAccount(string user)
    {
        var (name, group) = SystemdUnits.SplitUser(user);
        if (!Native.UserExists(name)) throw new LauncherException($"no user '{name}' on this machine (--user)");
        if (group is not null && !Native.GroupExists(group)) throw new LauncherException($"no group '{group}' on this machine (--user)");
    }
}
