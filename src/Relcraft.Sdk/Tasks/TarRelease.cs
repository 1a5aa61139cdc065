using System.Formats.Tar;
using System.IO.Compression;
using Microsoft.Build.Framework;

namespace Relcraft.Sdk.Tasks;

/// <summary>
/// The tar step: NAME-VSN.tar.gz of the release, reproducible — entries sorted, mtime from
/// SOURCE_DATE_EPOCH (or a fixed date), owner 0:0 without names, modes kept — so two builds of
/// the same input give the same bytes; plus NAME-VSN.tar.gz.sha256 in sha256sum format.
/// The cookie and tmp/ are machine-local and stay out.
/// </summary>
public sealed class TarRelease : RelcraftTask
{
    /// <summary>2000-01-01T00:00:00Z: tar entries before 1980 upset some zip/tar tools.</summary>
    internal static readonly DateTimeOffset DefaultTimestamp = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Required] public string ReleaseDirectory { get; set; } = "";
    [Required] public string Tarball { get; set; } = "";
    public string? SourceDateEpoch { get; set; }
    /// <summary>Where the fingerprint of the last tarball's inputs is kept (obj/); without it the tarball is always rewritten.</summary>
    public string? StateFile { get; set; }

    public override bool Execute()
    {
        var root = Path.GetFullPath(ReleaseDirectory).TrimEnd('/', '\\');
        var stamp = long.TryParse(SourceDateEpoch, out var epoch) ? DateTimeOffset.FromUnixTimeSeconds(epoch) : DefaultTimestamp;
        var manifest = Directory.GetFiles(Path.Combine(root, "releases"), "release.json", SearchOption.AllDirectories);
        var shaFile = Tarball + ".sha256";

        // Up to date: same manifest (which hashes every file) and timestamp as when the tarball was written.
        var fingerprint = FileHashes.Compute(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", manifest.OrderBy(m => m, StringComparer.Ordinal).Select(FileHashes.Compute)) + "\n" + stamp.ToUnixTimeSeconds()));
        var stampFile = StateFile;
        if (stampFile is not null && File.Exists(Tarball) && File.Exists(shaFile) && File.Exists(stampFile) &&
            File.ReadAllText(stampFile).Trim() == Stamp(fingerprint))
            return true;

        var temp = Tarball + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write))
            using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
            using (var tar = new TarWriter(gzip, TarEntryFormat.Gnu, leaveOpen: false))
            {
                foreach (var entry in Entries(root))
                {
                    var full = Path.Combine(root, entry);
                    var info = new FileInfo(full);
                    GnuTarEntry tarEntry;
                    if (info.LinkTarget is not null)
                    {
                        tarEntry = new GnuTarEntry(TarEntryType.SymbolicLink, entry) { LinkName = info.LinkTarget, Mode = (UnixFileMode)0x1FF };
                    }
                    else if (info.Attributes.HasFlag(FileAttributes.Directory))
                    {
                        tarEntry = new GnuTarEntry(TarEntryType.Directory, entry + "/") { Mode = (UnixFileMode)0x1ED };
                    }
                    else
                    {
                        tarEntry = new GnuTarEntry(TarEntryType.RegularFile, entry)
                        {
                            Mode = OperatingSystem.IsWindows() ? ReleasePlan.Regular : File.GetUnixFileMode(full) & (UnixFileMode)0x1FF,
                            DataStream = File.OpenRead(full),
                        };
                    }
                    tarEntry.ModificationTime = stamp;
                    tarEntry.AccessTime = stamp;
                    tarEntry.ChangeTime = stamp;
                    tarEntry.Uid = 0;
                    tarEntry.Gid = 0;
                    tarEntry.UserName = "";
                    tarEntry.GroupName = "";
                    tar.WriteEntry(tarEntry);
                    tarEntry.DataStream?.Dispose();
                }
            }
            File.Move(temp, Tarball, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        var sha = FileHashes.Compute(Tarball);
        File.WriteAllText(shaFile, $"{sha}  {Path.GetFileName(Tarball)}\n");
        if (stampFile is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(stampFile))!);
            File.WriteAllText(stampFile, Stamp(fingerprint) + "\n");
        }
        return true;
    }

    /// <summary>The inputs' fingerprint plus the tarball's size and mtime: a tarball touched since is rebuilt.</summary>
    private string Stamp(string fingerprint)
    {
        var tarball = new FileInfo(Tarball);
        return $"{fingerprint} {tarball.Length} {tarball.LastWriteTimeUtc.Ticks}";
    }

    /// <summary>Every directory, file and link of the release, sorted by ordinal path; tmp/ and the cookie left out.</summary>
    internal static IEnumerable<string> Entries(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        return Directory.EnumerateFileSystemEntries(root, "*", options)
            .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/'))
            .Where(p => p != "tmp" && !p.StartsWith("tmp/", StringComparison.Ordinal) && p != "releases/COOKIE")
            .OrderBy(p => p, StringComparer.Ordinal);
    }
}
