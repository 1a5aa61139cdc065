using System.Runtime.InteropServices;

namespace Relcraft.Sdk;

/// <summary>
/// Puts a <see cref="ReleasePlan"/> on disk. A release that already matches the plan is not
/// touched at all (incremental builds keep every mtime). Otherwise the new release is staged
/// beside the old one — unchanged files hard-linked, so they keep their mtimes — and swapped in
/// with two renames, so a failed assembly never leaves a half-written release behind.
/// The operator's tmp/ (pid files, logs, sockets) moves into the new release.
/// </summary>
internal sealed class ReleaseWriter
{
    /// <summary>Top-level folders that belong to the running system, not to the build.</summary>
    public static readonly string[] Preserved = ["tmp"];

    private readonly string _root;

    public ReleaseWriter(string releaseDirectory) => _root = Path.GetFullPath(releaseDirectory).TrimEnd('/', '\\');

    public sealed record Outcome(bool Changed, int Copied, int Linked, int Removed);

    public Outcome Write(ReleasePlan plan)
    {
        var existing = ExistingFiles();
        var unchanged = plan.Files.Where(f => existing.Contains(f.RelativePath) && IsSame(f, Path.Combine(_root, f.RelativePath))).Select(f => f.RelativePath).ToHashSet(StringComparer.Ordinal);
        var stale = existing.Count(p => !plan.Contains(p));
        if (unchanged.Count == plan.Count && stale == 0) return new Outcome(false, 0, 0, 0);

        var parent = Path.GetDirectoryName(_root)!;
        Directory.CreateDirectory(parent);
        var name = Path.GetFileName(_root);
        var staging = Path.Combine(parent, $".{name}.staging-{Environment.ProcessId}");
        var retired = Path.Combine(parent, $".{name}.old-{Environment.ProcessId}");
        DeleteIfExists(staging);
        int copied = 0, linked = 0;
        try
        {
            foreach (var file in plan.Files)
            {
                var target = Path.Combine(staging, file.RelativePath);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                if (unchanged.Contains(file.RelativePath) && file.LinkTarget is null && TryHardLink(Path.Combine(_root, file.RelativePath), target)) { linked++; continue; }
                Materialize(file, target);
                copied++;
            }
            if (Directory.Exists(_root))
            {
                foreach (var keep in Preserved)
                {
                    var from = Path.Combine(_root, keep);
                    if (Directory.Exists(from)) Directory.Move(from, Path.Combine(staging, keep));
                }
                Directory.Move(_root, retired);
            }
            Directory.Move(staging, _root);
        }
        catch
        {
            // Put back anything already moved; the old release stays as it was.
            if (!Directory.Exists(_root) && Directory.Exists(retired)) Directory.Move(retired, _root);
            if (Directory.Exists(_root))
                foreach (var keep in Preserved)
                {
                    var moved = Path.Combine(staging, keep);
                    if (Directory.Exists(moved) && !Directory.Exists(Path.Combine(_root, keep))) Directory.Move(moved, Path.Combine(_root, keep));
                }
            DeleteIfExists(staging);
            throw;
        }
        DeleteIfExists(retired);
        return new Outcome(true, copied, linked, stale);
    }

    private HashSet<string> ExistingFiles()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(_root)) return set;
        foreach (var path in Directory.EnumerateFileSystemEntries(_root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var info = new FileInfo(path);
            if (info.Attributes.HasFlag(FileAttributes.Directory) && info.LinkTarget is null) continue;
            var relative = Path.GetRelativePath(_root, path).Replace('\\', '/');
            if (Preserved.Any(p => relative == p || relative.StartsWith(p + "/", StringComparison.Ordinal))) continue;
            set.Add(relative);
        }
        return set;
    }

    internal static bool IsSame(PlannedFile file, string existing)
    {
        var info = new FileInfo(existing);
        if (file.LinkTarget is not null) return info.LinkTarget == file.LinkTarget;
        if (info.LinkTarget is not null || !info.Exists) return false;
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(existing) & (UnixFileMode)0x1FF) != file.Mode) return false;
        if (file.SourcePath is not null)
        {
            var source = new FileInfo(file.SourcePath);
            return source.Length == info.Length && source.LastWriteTimeUtc == info.LastWriteTimeUtc;
        }
        return info.Length == file.Content!.Length && File.ReadAllBytes(existing).AsSpan().SequenceEqual(file.Content);
    }

    private static void Materialize(PlannedFile file, string target)
    {
        if (file.LinkTarget is not null) { File.CreateSymbolicLink(target, file.LinkTarget); return; }
        if (file.SourcePath is not null)
        {
            File.Copy(file.SourcePath, target, overwrite: true);
            File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(file.SourcePath));
        }
        else
        {
            File.WriteAllBytes(target, file.Content!);
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(target, file.Mode);
    }

    private static bool TryHardLink(string existing, string target)
    {
        if (OperatingSystem.IsWindows()) return false;
        return link(existing, target) == 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string oldpath, string newpath);

    internal static void DeleteIfExists(string directory)
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }
}
