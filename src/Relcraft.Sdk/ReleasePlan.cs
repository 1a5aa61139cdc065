namespace Relcraft.Sdk;

/// <summary>One file of a release: where it goes and where its bytes come from.</summary>
internal sealed record PlannedFile(string RelativePath, UnixFileMode Mode)
{
    /// <summary>Copied from this file (mtime kept), or null.</summary>
    public string? SourcePath { get; init; }
    /// <summary>Generated content, or null.</summary>
    public byte[]? Content { get; init; }
    /// <summary>A symbolic link with this target (relative), or null.</summary>
    public string? LinkTarget { get; init; }
}

/// <summary>Every file a release will hold, keyed by its path inside the release ('/' separated).</summary>
internal sealed class ReleasePlan
{
    public const UnixFileMode Regular = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    public const UnixFileMode Executable = Regular | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    public const UnixFileMode Secret = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly SortedDictionary<string, PlannedFile> _files = new(StringComparer.Ordinal);

    public IEnumerable<PlannedFile> Files => _files.Values;
    public int Count => _files.Count;
    public bool Contains(string relativePath) => _files.ContainsKey(relativePath);

    /// <summary>Adds or replaces (later additions win, as overlays must).</summary>
    public void Copy(string relativePath, string source, UnixFileMode? mode = null) =>
        _files[Normalize(relativePath)] = new PlannedFile(Normalize(relativePath), mode ?? ModeOf(source)) { SourcePath = source };

    public void Write(string relativePath, byte[] content, UnixFileMode mode = Regular) =>
        _files[Normalize(relativePath)] = new PlannedFile(Normalize(relativePath), mode) { Content = content };

    public void Link(string relativePath, string target) =>
        _files[Normalize(relativePath)] = new PlannedFile(Normalize(relativePath), Executable) { LinkTarget = target };

    public void Remove(string relativePath) => _files.Remove(Normalize(relativePath));

    public static string Normalize(string relativePath) => relativePath.Replace('\\', '/').TrimStart('/');

    /// <summary>True when a relative path stays inside the release once normalised.</summary>
    public static bool StaysInside(string relativePath)
    {
        var p = Normalize(relativePath);
        if (p.Length == 0 || Path.IsPathRooted(relativePath) || p.Contains(':')) return false;
        var depth = 0;
        foreach (var part in p.Split('/'))
        {
            if (part == "..") { if (--depth < 0) return false; }
            else if (part != "." && part.Length > 0) depth++;
        }
        return depth > 0;
    }

    private static UnixFileMode ModeOf(string source)
    {
        if (OperatingSystem.IsWindows()) return Regular;
        var mode = File.GetUnixFileMode(source);
        return (mode & UnixFileMode.UserExecute) != 0 ? Executable : Regular;
    }
}
