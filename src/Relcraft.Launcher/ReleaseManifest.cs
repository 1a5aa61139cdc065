using System.Text.Json;

namespace Relcraft.Launcher;

/// <summary>One file of releases/VSN/release.json: a regular file (size, sha256, mode) or a symlink (link).</summary>
internal sealed record ManifestFile(string Path, long Size, string? Sha256, string? Mode, string? Link);

/// <summary>
/// releases/VSN/release.json as AssembleRelease.Manifest writes it: name, version and the files.
/// Read with JsonDocument (no reflection, so the NativeAOT launcher reads it too).
/// </summary>
internal sealed class ReleaseManifest
{
    public required string Name { get; init; }
    public required string Version { get; init; }
    public required IReadOnlyList<ManifestFile> Files { get; init; }

    public static string PathOf(string root, string vsn) => Path.Combine(root, "releases", vsn, "release.json");

    /// <summary>The manifest at <paramref name="path"/>; a one-line <see cref="LauncherException"/> when it is missing or malformed.</summary>
    public static ReleaseManifest Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LauncherException($"{path} is missing: nothing to verify against");
        }
        try { return Parse(bytes); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new LauncherException($"{path} is not a release manifest: {e.Message}");
        }
    }

    public static ReleaseManifest Parse(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var top = document.RootElement;
        var files = new List<ManifestFile>();
        foreach (var file in top.GetProperty("files").EnumerateArray())
        {
            var path = file.GetProperty("path").GetString() ?? throw new FormatException("a file without a path");
            if (!StaysInside(path)) throw new FormatException($"file path '{path}' leaves the release");
            files.Add(new ManifestFile(
                path,
                file.TryGetProperty("size", out var size) ? size.GetInt64() : 0,
                file.TryGetProperty("sha256", out var sha) ? sha.GetString() : null,
                file.TryGetProperty("mode", out var mode) ? mode.GetString() : null,
                file.TryGetProperty("link", out var link) ? link.GetString() : null));
        }
        return new ReleaseManifest
        {
            Name = top.GetProperty("name").GetString() ?? "",
            Version = top.GetProperty("version").GetString() ?? "",
            Files = files,
        };
    }

    /// <summary>A relative '/'-separated path with no '..', so a tampered manifest cannot send verify outside the release.</summary>
    private static bool StaysInside(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\') && !path.Contains(':')
        && path.Split('/').All(part => part.Length > 0 && part != "." && part != "..");
}
