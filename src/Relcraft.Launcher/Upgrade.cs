using System.Formats.Tar;
using System.IO.Compression;

namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME upgrade TARBALL|VSN, downgrade VSN, versions. Upgrade installs the tarball's version
/// beside the installed ones (<see cref="Installer"/>), then hands over to that version's own
/// launcher (releases/VSN/bin/NAME, with its env.sh sourced) for `__switch`, which asks the
/// supervisor to replace the app like restart does — state carried — and the supervisor records
/// the version in releases/start.data and puts its launcher at bin/NAME once it is ready.
/// </summary>
internal static class Upgrade
{
    public static int Run(Release release, IReadOnlyList<string> args, bool downgrade)
    {
        var verb = downgrade ? "downgrade" : "upgrade";
        if (args.Count != 1)
            throw new LauncherException(downgrade
                ? $"usage: {release.Prog} downgrade VSN   (an installed version; {release.Prog} versions lists them)"
                : $"usage: {release.Prog} upgrade TARBALL|VSN   (VSN: a tarball at releases/{release.Name}-VSN.tar.gz)", ExitCodes.Usage);
        var target = args[0];
        var runningVsn = RunningVersion(release);
        if (runningVsn is null && PidFile.Running(release.PidFile) is int foreground)
            throw new LauncherException($"{release.Name} {verb} needs the daemon's supervisor, but {release.Name} runs without one (pid {foreground}, started with start or console); stop it, or run it with daemon");

        string vsn;
        if (downgrade)
        {
            vsn = target;
            if (!Installed(release.Root, vsn))
                throw new LauncherException($"{release.Name}: version {vsn} is not installed (installed: {string.Join(", ", InstalledVersions(release.Root))})");
        }
        else if (LooksLikeFile(target))
        {
            vsn = Installer.Install(release, target, Console.Out);
        }
        else
        {
            if (!Installer.ValidVersion(target)) throw new LauncherException($"{release.Name} upgrade: '{target}' is neither a tarball nor a version");
            var tarball = Path.Combine(release.Root, "releases", $"{release.Name}-{target}.tar.gz");
            if (Installed(release.Root, target)) vsn = target;
            else if (File.Exists(tarball)) vsn = Installer.Install(release, tarball, Console.Out);
            else throw new LauncherException($"{release.Name}: version {target} is not installed and {tarball} is not there");
        }
        Hold.At(release, "installed");

        if (vsn == runningVsn)
        {
            Console.Out.WriteLine($"{release.Name} {vsn} is already running");
            return ExitCodes.Ok;
        }
        if (runningVsn is null)
        {
            // Nothing runs: the next start boots it.
            Supervisor.Commit(release.Root, release.Name, vsn);
            Console.Out.WriteLine($"{release.Name} {vsn} is the version in force (releases/start.data); {release.Name} is not running: start it with {release.Prog} daemon");
            return ExitCodes.Ok;
        }
        return HandOver(release, vsn, verb);
    }

    /// <summary>Runs `__switch` through the launcher of <paramref name="vsn"/>, so its env.sh and its own tools take part.</summary>
    private static int HandOver(Release release, string vsn, string verb)
    {
        var env = release.ChildEnvironment();
        env["RELEASE_VSN"] = vsn;
        env["RELEASE_ROOT"] = release.Root;
        var script = Path.Combine(release.Root, "releases", vsn, "bin", OperatingSystem.IsWindows() ? release.Name + ".bat" : release.Name);
        if (!File.Exists(script))
        {
            // A version built before releases/VSN/bin existed: this launcher switches to it, without its env.sh.
            var all = new Dictionary<string, string>(release.Env) { ["RELEASE_VSN"] = vsn };
            return Switch(new Release(all), [verb]);
        }
        if (OperatingSystem.IsWindows()) return Exec.Replace(Environment.GetEnvironmentVariable("ComSpec") ?? "cmd.exe", ["/c", script, "__switch", verb], env);
        return Exec.Replace("/bin/sh", [script, "__switch", verb], env);
    }

    /// <summary>bin/NAME __switch upgrade|downgrade, in the environment of the version switched to.</summary>
    public static int Switch(Release release, IReadOnlyList<string> args)
    {
        var verb = args.Count > 0 ? args[0] : "upgrade";
        // With sockets the old process serves until the new one has booted past its configuration (a failure there
        // leaves it alone), so only the sockets' Listen is checked first; without, the boot is checked too.
        Restarter.Preflight(release, verb, bootCheck: Sockets.Declared(release).Count == 0);
        var wait = TimeSpan.FromSeconds(release.GetLong("RELEASE_START_TIMEOUT", 60) + 2L * release.StopTimeout + 30);
        var before = RunningVersion(release);
        var reply = SupervisorWire.Send(release, "upgrade", [], release.Env, wait)
            ?? throw new LauncherException($"the supervisor of {release.Name} does not answer on {Supervisor.SocketOf(release)}");
        var lines = reply.Split('\n');
        if (lines[0].StartsWith("ok ", StringComparison.Ordinal))
        {
            Console.Out.WriteLine($"{release.Name} {(verb == "downgrade" ? "downgraded" : "upgraded")} from {before ?? "?"} to {release.Vsn} (pid {lines[0][3..]})");
            return ExitCodes.Ok;
        }
        Console.Error.WriteLine($"{release.Name} {verb} to {release.Vsn} failed: {Restarter.FailureReason(lines)}");
        if (PidFile.Running(release.PidFile) is int serving) Console.Error.WriteLine($"{release.Name} {RunningVersion(release) ?? before} keeps running (pid {serving}); releases/start.data is unchanged");
        Restarter.PrintTail(lines);
        return ExitCodes.Failed;
    }

    /// <summary>bin/NAME versions: each installed version, newest first, marked current (start.data) and running.</summary>
    public static int Versions(Release release, IReadOnlyList<string> args)
    {
        if (args.Count > 0) throw new LauncherException($"usage: {release.Prog} versions", ExitCodes.Usage);
        var current = CurrentVersion(release.Root);
        var running = RunningVersion(release);
        foreach (var vsn in InstalledVersions(release.Root))
        {
            var marks = new List<string>();
            if (vsn == current) marks.Add("current");
            if (vsn == running) marks.Add("running");
            Console.Out.WriteLine($"{vsn,-12} {(marks.Count > 0 ? string.Join(", ", marks) : "installed")}");
        }
        return ExitCodes.Ok;
    }

    public static string? CurrentVersion(string root)
    {
        try { return File.ReadLines(Path.Combine(root, "releases", "start.data")).FirstOrDefault()?.Trim(); }
        catch (IOException) { return null; }
    }

    /// <summary>The version the supervisor runs, null when none runs.</summary>
    public static string? RunningVersion(Release release)
    {
        if (Supervisor.Running(release) is null) return null;
        string? reply;
        try { reply = SupervisorWire.Send(release, "status", [], new Dictionary<string, string>(), TimeSpan.FromSeconds(10)); }
        catch (LauncherException) { return null; }
        return reply?.Split('\n').FirstOrDefault(l => l.StartsWith("version ", StringComparison.Ordinal))?["version ".Length..];
    }

    public static bool Installed(string root, string vsn) =>
        Installer.ValidVersion(vsn) && File.Exists(ReleaseManifest.PathOf(root, vsn));

    public static IReadOnlyList<string> InstalledVersions(string root)
    {
        var releases = Path.Combine(root, "releases");
        if (!Directory.Exists(releases)) return [];
        var list = Directory.EnumerateDirectories(releases).Select(Path.GetFileName).OfType<string>()
            .Where(v => Installed(root, v)).ToList();
        list.Sort((a, b) => CompareVersions(b, a));
        return list;
    }

    /// <summary>Numeric parts compared as numbers (0.10.0 after 0.9.0); a prerelease (-x) before its release.</summary>
    public static int CompareVersions(string a, string b)
    {
        static (string[] Parts, string? Pre) Split(string v)
        {
            var dash = v.IndexOf('-');
            return dash < 0 ? (v.Split('.'), null) : (v[..dash].Split('.'), v[(dash + 1)..]);
        }
        var (pa, prea) = Split(a);
        var (pb, preb) = Split(b);
        for (var i = 0; i < Math.Max(pa.Length, pb.Length); i++)
        {
            var x = i < pa.Length ? pa[i] : "0";
            var y = i < pb.Length ? pb[i] : "0";
            var c = long.TryParse(x, out var nx) && long.TryParse(y, out var ny) ? nx.CompareTo(ny) : string.CompareOrdinal(x, y);
            if (c != 0) return c;
        }
        if (prea is null || preb is null) return (prea is null ? 1 : 0) - (preb is null ? 1 : 0);
        return string.CompareOrdinal(prea, preb);
    }

    private static bool LooksLikeFile(string arg) =>
        arg.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || arg.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase)
        || arg.Contains('/') || arg.Contains(Path.DirectorySeparatorChar) || File.Exists(arg);
}

/// <summary>
/// Unpacks a release tarball beside the installed versions: checked against its .sha256 and every
/// file against its own release.json in a staging folder inside releases/, then moved in by
/// renames — the runtime's version folders it brings that are not there yet, its lib/ folders, and
/// releases/VSN last, which is what makes the version installed. Killed at any point, it leaves
/// at most a staging folder (removed by the next install) and folders no installed version names.
/// </summary>
internal static class Installer
{
    public static bool ValidVersion(string vsn) =>
        vsn.Length > 0 && vsn[0] != '.' && vsn.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '+' or '_');

    /// <summary>Installs the tarball's version (or finds it installed already); returns it.</summary>
    public static string Install(Release release, string tarball, TextWriter output)
    {
        if (!File.Exists(tarball)) throw new LauncherException($"{release.Name} upgrade: {tarball} does not exist");
        var releases = Path.Combine(release.Root, "releases");
        RemoveStaleStaging(releases);
        var staging = Path.Combine(releases, $".install-{Environment.ProcessId}");
        try
        {
            // The runtime version folders and Relcraft tools already installed are not unpacked again (the bulk of a
            // tarball): the installed copy, checked when it came, is the one the new version will run on.
            var present = InstalledRuntimeFolders(release.Root);
            bool Present(string path) => present.Any(f => path == f || path.StartsWith(f + "/", StringComparison.Ordinal));
            Extract(tarball, staging, Present, ExpectedSha256(tarball));
            var (vsn, manifest) = FindVersion(release, tarball, staging);
            if (Upgrade.Installed(release.Root, vsn))
            {
                output.WriteLine($"* {release.Name} {vsn} is installed already");
                return vsn;
            }
            var outcome = Verify.Check(staging, vsn);
            var problems = outcome.Problems.Where(p => !(p.Kind == Verify.Kind.Missing && Present(p.Path))).ToList();
            if (problems.Count > 0)
                throw new LauncherException($"{tarball} does not match its own release.json ({problems[0]}{(problems.Count > 1 ? $" and {problems.Count - 1} more" : "")}); nothing was installed");
            output.WriteLine($"* installing {release.Name} {vsn} ({outcome.Checked} files checked)");
            MoveIn(staging, release.Root, vsn, manifest);
            return vsn;
        }
        finally
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>runtime/dotnet, runtime/shared/FRAMEWORK/VERSION, runtime/host/fxr/VERSION and lib/relcraft-X as installed now.</summary>
    private static List<string> InstalledRuntimeFolders(string root)
    {
        var folders = new List<string>();
        foreach (var fx in Subfolders(root, "runtime/shared"))
            folders.AddRange(Subfolders(root, $"runtime/shared/{fx}").Select(v => $"runtime/shared/{fx}/{v}"));
        folders.AddRange(Subfolders(root, "runtime/host/fxr").Select(v => $"runtime/host/fxr/{v}"));
        folders.AddRange(Subfolders(root, "lib").Where(l => l.StartsWith("relcraft-", StringComparison.Ordinal)).Select(l => $"lib/{l}"));
        foreach (var muxer in new[] { "runtime/dotnet", "runtime/dotnet.exe" })
            if (File.Exists(Path.Combine(root, muxer))) folders.Add(muxer);
        return folders;
    }

    /// <summary>The digest TARBALL.sha256 names, null without one.</summary>
    private static string? ExpectedSha256(string tarball)
    {
        var sums = tarball + ".sha256";
        if (!File.Exists(sums)) return null;
        return File.ReadAllText(sums).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
    }

    private static LauncherException Corrupt(string tarball) =>
        new($"{tarball} is corrupt: its sha256 is not the one in {Path.GetFileName(tarball)}.sha256; nothing was installed");

    private static void RemoveStaleStaging(string releases)
    {
        if (!Directory.Exists(releases)) return;
        foreach (var dir in Directory.EnumerateDirectories(releases, ".install-*"))
        {
            if (int.TryParse(Path.GetFileName(dir)[".install-".Length..], out var pid) && pid != Environment.ProcessId && PidFile.IsSame(pid, null)) continue;
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The tarball into <paramref name="into"/>: regular files, folders and symlinks that stay inside, nothing else.</summary>
    /// <summary>The tarball into <paramref name="into"/> (entries <paramref name="skip"/> names left out), hashed as it is read when a digest is expected.</summary>
    public static void Extract(string tarball, string into, Func<string, bool>? skip = null, string? sha256 = null)
    {
        Directory.CreateDirectory(into);
        var root = Path.GetFullPath(into);
        using var file = new HashingStream(File.OpenRead(tarball));
        try
        {
            using (var gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true))
            {
                Unpack(gzip, root, skip);
                // To the end of the gzip stream, so its CRC is checked even where the archive's end marker came first
                // and what was left out (folders installed already) was never looked at otherwise.
                gzip.CopyTo(Stream.Null);
            }
            if (sha256 is not null && !file.Matches(sha256)) throw Corrupt(tarball);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException or NotSupportedException)
        {
            if (sha256 is not null && !file.Matches(sha256)) throw Corrupt(tarball);
            throw new LauncherException($"{tarball} is not a release tarball ({e.Message}); nothing was installed");
        }
    }

    private static void Unpack(Stream gzip, string root, Func<string, bool>? skip)
    {
        using var reader = new TarReader(gzip, leaveOpen: true);
        while (reader.GetNextEntry() is { } entry)
        {
            var name = entry.Name.Replace('\\', '/');
            while (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
            name = name.TrimEnd('/');
            if (name.Length == 0 || name == ".") continue;
            if (name.StartsWith('/') || name.Split('/').Any(p => p is ".." or "") || name.Contains(':'))
                throw new InvalidDataException($"entry '{entry.Name}' leaves the release");
            if (skip?.Invoke(name) == true) continue;
            var path = Path.Combine(root, name);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(path);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    entry.ExtractToFile(path, overwrite: true);
                    break;
                case TarEntryType.SymbolicLink:
                    var target = entry.LinkName;
                    var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target));
                    if (Path.IsPathRooted(target) || !resolved.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                        throw new InvalidDataException($"link '{entry.Name}' points outside the release");
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    File.CreateSymbolicLink(path, target);
                    break;
                default:
                    throw new InvalidDataException($"entry '{entry.Name}' is a {entry.EntryType}, which a release does not hold");
            }
        }
    }

    /// <summary>Reads through to the file, feeding SHA-256 on the way (the native launcher has no OpenSSL: <see cref="Sha256"/>).</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly Sha256 _sha = new();

        /// <summary>The digest of the whole file (what was not read yet is read now) against <paramref name="expected"/>.</summary>
        public bool Matches(string expected)
        {
            var buffer = new byte[1 << 16];
            while (Read(buffer, 0, buffer.Length) > 0) { }
            return Convert.ToHexString(_sha.Finish()).Equals(expected, StringComparison.OrdinalIgnoreCase);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            _sha.Append(buffer.AsSpan(offset, n));
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    private static (string Vsn, ReleaseManifest Manifest) FindVersion(Release release, string tarball, string staging)
    {
        var releases = Path.Combine(staging, "releases");
        var versions = Directory.Exists(releases)
            ? Directory.EnumerateDirectories(releases).Where(d => File.Exists(Path.Combine(d, "release.json"))).Select(Path.GetFileName).OfType<string>().ToList()
            : [];
        if (versions.Count != 1)
            throw new LauncherException($"{tarball} is not a release tarball (it holds {(versions.Count == 0 ? "no releases/VSN/release.json" : $"{versions.Count} versions")}); nothing was installed");
        var vsn = versions[0];
        ReleaseManifest manifest;
        try { manifest = ReleaseManifest.Load(ReleaseManifest.PathOf(staging, vsn)); }
        catch (LauncherException e) { throw new LauncherException($"{tarball}: {e.Message}; nothing was installed"); }
        if (manifest.Name != release.Name)
            throw new LauncherException($"{tarball} is a release of {manifest.Name}, not {release.Name}; nothing was installed");
        if (manifest.Version != vsn || !ValidVersion(vsn))
            throw new LauncherException($"{tarball}: releases/{vsn}/release.json says version {manifest.Version}; nothing was installed");
        return (vsn, manifest);
    }

    /// <summary>Renames the staged folders into the release; releases/VSN goes last.</summary>
    private static void MoveIn(string staging, string root, string vsn, ReleaseManifest manifest)
    {
        // Runtime: version folders side by side (shared/FRAMEWORK/VERSION, host/fxr/VERSION); the muxer only when there is none.
        foreach (var parent in new[] { "runtime/host/fxr" }.Concat(Subfolders(staging, "runtime/shared").Select(f => "runtime/shared/" + f)))
            foreach (var version in Subfolders(staging, parent))
                MoveIfAbsent(staging, root, $"{parent}/{version}");
        foreach (var file in new[] { "runtime/dotnet", "runtime/dotnet.exe" }) MoveIfAbsent(staging, root, file);
        // lib/: the app's folder of this version, and the tools of its Relcraft version if that is new here.
        foreach (var lib in Subfolders(staging, "lib"))
        {
            var path = $"lib/{lib}";
            var isApp = lib == $"{manifest.Name}-{vsn}";
            if (isApp && Directory.Exists(Path.Combine(root, path)))
                Directory.Delete(Path.Combine(root, path), recursive: true); // a leftover of an install that never finished
            MoveIfAbsent(staging, root, path);
        }
        MoveIfAbsent(staging, root, $"releases/{vsn}");
    }

    private static IEnumerable<string> Subfolders(string root, string relative)
    {
        var dir = Path.Combine(root, relative);
        return Directory.Exists(dir) ? Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>().ToList() : [];
    }

    private static void MoveIfAbsent(string staging, string root, string relative)
    {
        var from = Path.Combine(staging, relative);
        var to = Path.Combine(root, relative);
        if (!Directory.Exists(from) && !File.Exists(from)) return;
        if (Directory.Exists(to) || File.Exists(to)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        if (Directory.Exists(from)) Directory.Move(from, to);
        else File.Move(from, to);
    }
}

/// <summary>A test hook: with RELCRAFT_TEST_HOLD=DIR, each phase of a switch writes DIR/PHASE and waits for DIR/PHASE.go.</summary>
internal static class Hold
{
    public static void At(Release release, string phase) => At(release.Get("RELCRAFT_TEST_HOLD"), phase);

    public static void At(string? dir, string phase)
    {
        if (dir is null) return;
        File.WriteAllText(Path.Combine(dir, phase), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var go = Path.Combine(dir, phase + ".go");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!File.Exists(go) && DateTime.UtcNow < deadline) Thread.Sleep(20);
    }
}
