namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME verify: the installed release against releases/VSN/release.json, VSN being the version
/// in force (RELEASE_VSN, from start.data). Reports each file that changed (sha256, size, mode,
/// link, type), is missing, or is there without being in the manifest.
///
/// Outside the manifest by nature, so never reported: tmp/ and RELEASE_TMP when it lies inside
/// the release (pid files, sockets, logs); releases/start.data (state: upgrade and downgrade
/// rewrite it); release.json itself; releases/COOKIE (a per-install secret, so only its mode is
/// checked: readable by its owner alone); and the other installed versions — releases/V/ holding
/// a release.json, and the lib/ and runtime version folders their manifests name that the version
/// in force does not (RELEASE_VSN=V bin/NAME verify checks those). A file in a folder two installed
/// versions share (lib/relcraft-X, a runtime version) that matches the other version's manifest is
/// intact: an upgrade keeps the copy that was installed first.
/// </summary>
internal static class Verify
{
    public enum Kind { Changed, Missing, Unexpected }

    public sealed record Problem(Kind Kind, string Path, string? Reasons = null)
    {
        public override string ToString() => Kind switch
        {
            Kind.Changed => $"changed: {Path} ({Reasons})",
            Kind.Missing => $"missing: {Path}",
            _ => $"unexpected: {Path}",
        };
    }

    public sealed record Outcome(int Checked, IReadOnlyList<Problem> Problems);

    public static int Run(Release release, IReadOnlyList<string> args)
    {
        if (args.Count > 0)
            throw new LauncherException($"usage: {release.Prog} verify   (no arguments; RELEASE_VSN=V checks another installed version)", ExitCodes.Usage);
        var outcome = Check(release.Root, release.Vsn, release.Tmp);
        foreach (var problem in outcome.Problems) Console.Out.WriteLine(problem);
        Console.Out.WriteLine(Summary(release.Name, release.Vsn, outcome));
        return outcome.Problems.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    public static string Summary(string name, string vsn, Outcome outcome)
    {
        if (outcome.Problems.Count == 0) return $"{name} {vsn}: {outcome.Checked} files intact";
        int Count(Kind kind) => outcome.Problems.Count(p => p.Kind == kind);
        return $"{name} {vsn}: {outcome.Problems.Count} problem{(outcome.Problems.Count == 1 ? "" : "s")} in {outcome.Checked} files "
            + $"({Count(Kind.Changed)} changed, {Count(Kind.Missing)} missing, {Count(Kind.Unexpected)} unexpected)";
    }

    /// <summary>The comparison: every manifest file against the disk, then every file on disk the manifest does not name.</summary>
    public static Outcome Check(string root, string vsn, string? tmp = null)
    {
        root = Path.GetFullPath(root);
        var manifest = ReleaseManifest.Load(ReleaseManifest.PathOf(root, vsn));
        var skipped = new SkipRules(root, vsn, tmp, manifest);
        var expected = manifest.Files.Where(f => !skipped.Covers(f.Path)).ToArray();

        var problems = new Problem?[expected.Length];
        Parallel.For(0, expected.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            () => new byte[1 << 20],
            (i, _, buffer) => { problems[i] = Compare(root, expected[i], buffer); return buffer; },
            _ => { });

        var listed = new HashSet<string>(manifest.Files.Select(f => f.Path), StringComparer.Ordinal);
        var unexpected = OnDisk(root, skipped).Where(p => !listed.Contains(p)).Select(p => new Problem(Kind.Unexpected, p));
        // A shared folder (lib/relcraft-X, a runtime version) may hold the copy another installed version brought.
        var all = problems.OfType<Problem>().Where(p => !skipped.MatchesAnother(root, p)).Concat(unexpected).Concat(skipped.CookieProblem()).ToList();
        all.Sort((a, b) => a.Kind != b.Kind ? a.Kind.CompareTo(b.Kind) : string.CompareOrdinal(a.Path, b.Path));
        return new Outcome(expected.Length, all);
    }

    private static Problem? Compare(string root, ManifestFile file, byte[] buffer)
    {
        var full = Path.Combine(root, file.Path);
        var info = new FileInfo(full);
        var link = info.LinkTarget;
        var absent = link is null && !info.Exists && !Directory.Exists(full);
        if (absent) return new Problem(Kind.Missing, file.Path);
        if (file.Link is not null || link is not null)
            return link == file.Link ? null : new Problem(Kind.Changed, file.Path, "link");
        if (!info.Exists) return new Problem(Kind.Changed, file.Path, "type");

        var reasons = new List<string>(2);
        if (info.Length != file.Size) reasons.Add("size");
        else if (!string.Equals(Convert.ToHexString(Sha256.HashFile(full, buffer)), file.Sha256, StringComparison.OrdinalIgnoreCase)) reasons.Add("sha256");
        if (!OperatingSystem.IsWindows() && file.Mode is not null && ModeOf(full) != file.Mode) reasons.Add("mode");
        return reasons.Count == 0 ? null : new Problem(Kind.Changed, file.Path, string.Join(", ", reasons));
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string ModeOf(string path) =>
        Convert.ToString((int)(File.GetUnixFileMode(path) & (UnixFileMode)0x1FF), 8).PadLeft(4, '0');

    /// <summary>Every file and symlink under the root ('/'-separated, relative), not descending into skipped folders or symlinked ones.</summary>
    private static IEnumerable<string> OnDisk(string root, SkipRules skipped)
    {
        var pending = new Stack<(string Full, string Relative)>();
        pending.Push((root, ""));
        while (pending.Count > 0)
        {
            var (dir, relative) = pending.Pop();
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                var path = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                if (skipped.Covers(path)) continue;
                if (entry is DirectoryInfo && entry.LinkTarget is null) pending.Push((entry.FullName, path));
                else yield return path;
            }
        }
    }

    /// <summary>What lies outside the manifest by nature (see <see cref="Verify"/>).</summary>
    private sealed class SkipRules
    {
        private readonly string _root;
        private readonly HashSet<string> _files = new(StringComparer.Ordinal);
        private readonly List<string> _folders = [];
        private readonly Dictionary<string, List<ManifestFile>> _others = new(StringComparer.Ordinal);

        public SkipRules(string root, string vsn, string? tmp, ReleaseManifest manifest)
        {
            _root = root;
            _folders.Add("tmp");
            if (tmp is not null && Inside(root, Path.GetFullPath(tmp)) is { Length: > 0 } tmpInside) _folders.Add(tmpInside);
            _files.Add("releases/start.data");
            _files.Add("releases/COOKIE");
            _files.Add($"releases/{vsn}/release.json");

            var ours = new HashSet<string>(manifest.Files.Select(f => VersionFolder(f.Path)).OfType<string>(), StringComparer.Ordinal);
            var releases = Path.Combine(root, "releases");
            if (!Directory.Exists(releases)) return;
            foreach (var other in Directory.EnumerateDirectories(releases))
            {
                var otherVsn = Path.GetFileName(other);
                if (otherVsn == vsn || !File.Exists(Path.Combine(other, "release.json"))) continue;
                _folders.Add($"releases/{otherVsn}");
                ReleaseManifest theirs;
                try { theirs = ReleaseManifest.Load(Path.Combine(other, "release.json")); }
                catch (LauncherException) { continue; }
                foreach (var file in theirs.Files.Where(f => VersionFolder(f.Path) is { } folder && ours.Contains(folder)))
                {
                    if (!_others.TryGetValue(file.Path, out var list)) _others[file.Path] = list = [];
                    list.Add(file);
                }
                foreach (var folder in theirs.Files.Select(f => VersionFolder(f.Path)).OfType<string>().Distinct())
                    if (!ours.Contains(folder)) _folders.Add(folder);
            }
        }

        /// <summary>A changed file in a folder two installed versions share that is as another version's manifest says.</summary>
        public bool MatchesAnother(string root, Problem problem)
        {
            if (problem.Kind != Kind.Changed || !_others.TryGetValue(problem.Path, out var alternatives)) return false;
            var buffer = new byte[1 << 20];
            return alternatives.Any(f => Compare(root, f, buffer) is null);
        }

        public bool Covers(string path) =>
            _files.Contains(path) || _folders.Any(f => path == f || path.StartsWith(f + "/", StringComparison.Ordinal));

        /// <summary>The cookie is not in the manifest (it is per install), but it must stay its owner's alone.</summary>
        public IEnumerable<Problem> CookieProblem()
        {
            var cookie = Path.Combine(_root, "releases", "COOKIE");
            if (OperatingSystem.IsWindows() || !File.Exists(cookie)) yield break;
            if ((File.GetUnixFileMode(cookie) & (UnixFileMode)0x3F) != 0) yield return new Problem(Kind.Changed, "releases/COOKIE", "mode");
        }

        /// <summary>
        /// The folder a version brings whole: lib/X, runtime/shared/FRAMEWORK/VERSION or runtime/host/fxr/VERSION
        /// (an upgrade installs another version's runtime beside this one's), else null.
        /// </summary>
        private static string? VersionFolder(string path)
        {
            var parts = path.Split('/');
            if (parts.Length > 2 && parts[0] == "lib") return $"lib/{parts[1]}";
            if (parts.Length > 4 && parts[0] == "runtime" && parts[1] == "shared") return string.Join('/', parts[..4]);
            if (parts.Length > 4 && parts[0] == "runtime" && parts[1] == "host" && parts[2] == "fxr") return string.Join('/', parts[..4]);
            return null;
        }

        /// <summary><paramref name="path"/> relative to <paramref name="root"/> ('/'-separated), or null when it is not inside.</summary>
        private static string? Inside(string root, string path)
        {
            var relative = Path.GetRelativePath(root, path);
            if (relative == "." || relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative)) return null;
            return relative.Replace('\\', '/').TrimEnd('/');
        }
    }
}
