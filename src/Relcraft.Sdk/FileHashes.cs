using System.Security.Cryptography;
using System.Text.Json;

namespace Relcraft.Sdk;

/// <summary>
/// sha256 of release files, remembered by (path, size, mtime) in obj/ so that a rebuild hashes
/// only what changed — hashing the whole runtime again would cost every build ~0.3 s.
/// </summary>
internal sealed class FileHashes
{
    private sealed record Entry(long Size, long Ticks, string Sha256);
    private readonly Dictionary<string, Entry> _entries;
    private readonly string? _statePath;
    private bool _dirty;

    private FileHashes(string? statePath, Dictionary<string, Entry> entries) { _statePath = statePath; _entries = entries; }

    public static FileHashes Load(string? statePath)
    {
        try
        {
            if (statePath is not null && File.Exists(statePath))
                return new FileHashes(statePath, JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllText(statePath)) ?? new());
        }
        catch (JsonException) { /* a corrupt cache is just an empty cache */ }
        return new FileHashes(statePath, new Dictionary<string, Entry>(StringComparer.Ordinal));
    }

    public string Of(string path)
    {
        var info = new FileInfo(path);
        var ticks = info.LastWriteTimeUtc.Ticks;
        if (_entries.TryGetValue(path, out var e) && e.Size == info.Length && e.Ticks == ticks) return e.Sha256;
        var sha = Compute(path);
        _entries[path] = new Entry(info.Length, ticks, sha);
        _dirty = true;
        return sha;
    }

    public static string Compute(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    public static string Compute(byte[] content) => Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();

    public void Save()
    {
        if (!_dirty || _statePath is null) return;
        Directory.CreateDirectory(Path.GetDirectoryName(_statePath)!);
        File.WriteAllText(_statePath, JsonSerializer.Serialize(_entries));
    }
}
