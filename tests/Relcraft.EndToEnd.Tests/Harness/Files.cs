using System.Security.Cryptography;

namespace Relcraft.EndToEnd.Tests.Harness;

public static class Files
{
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    /// <summary>Every file under <paramref name="root"/> (relative, '/'-separated) except tmp/, with its mtime.</summary>
    public static SortedDictionary<string, DateTime> Mtimes(string root)
    {
        var result = new SortedDictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (rel.StartsWith("tmp/", StringComparison.Ordinal)) continue;
            result[rel] = File.GetLastWriteTimeUtc(path);
        }
        return result;
    }

    /// <summary>Relative paths of every file under <paramref name="root"/>, tmp/ excepted.</summary>
    public static SortedSet<string> List(string root) => new(Mtimes(root).Keys, StringComparer.Ordinal);

    public static UnixFileMode Mode(string path) => File.GetUnixFileMode(path) & (UnixFileMode)0x1FF;

    public static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    /// <summary>The single directory matching parent/*, e.g. the version folder of a shared framework.</summary>
    public static string SingleDirectory(string parent)
    {
        Assert.True(Directory.Exists(parent), $"missing directory {parent}");
        return Assert.Single(Directory.GetDirectories(parent));
    }
}
