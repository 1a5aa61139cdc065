using System.Text;
using Relcraft.Launcher;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>The daemon's stdout/stderr log in RELEASE_TMP/log: rolled by size, bounded in count, chunks never split.</summary>
public sealed class RotatingLogTests : IDisposable
{
    private readonly TempDirectory _dir = new("log");
    private string LogPath => _dir.Combine("log", "kv.log");

    public void Dispose() => _dir.Dispose();

    private static byte[] Chunk(char c, int size) => Encoding.ASCII.GetBytes(new string(c, size - 1) + "\n");

    private string[] LogFiles() => Directory.EnumerateFiles(Path.GetDirectoryName(LogPath)!).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void Writes_below_the_limit_stay_in_one_file()
    {
        using (var log = new RotatingLog(LogPath, maxBytes: 4096, files: 3))
        {
            log.Write(Chunk('a', 1000));
            log.Write(Chunk('b', 1000));
        }
        Assert.Equal(["kv.log"], LogFiles());
        Assert.Equal(2000, new FileInfo(LogPath).Length);
    }

    [Fact]
    public void Writing_past_maxBytes_rolls_log_to_1_then_2()
    {
        using var log = new RotatingLog(LogPath, maxBytes: 1024, files: 3);
        log.Write(Chunk('a', 600));
        log.Write(Chunk('b', 600)); // 1200 > 1024: kv.log → kv.log.1
        Assert.Equal(["kv.log", "kv.log.1"], LogFiles());
        log.Write(Chunk('c', 600)); // kv.log.1 → kv.log.2, kv.log → kv.log.1
        Assert.Equal(["kv.log", "kv.log.1", "kv.log.2"], LogFiles());

        Assert.Equal(Chunk('c', 600), File.ReadAllBytes(LogPath));
        Assert.Equal(Chunk('b', 600), File.ReadAllBytes(LogPath + ".1"));
        Assert.Equal(Chunk('a', 600), File.ReadAllBytes(LogPath + ".2"));
    }

    [Fact]
    public void At_most_files_files_are_kept_the_oldest_dropped()
    {
        using var log = new RotatingLog(LogPath, maxBytes: 1024, files: 3);
        foreach (var c in "abcdef") log.Write(Chunk(c, 600));

        Assert.Equal(["kv.log", "kv.log.1", "kv.log.2"], LogFiles());
        Assert.Equal(Chunk('f', 600), File.ReadAllBytes(LogPath));
        Assert.Equal(Chunk('e', 600), File.ReadAllBytes(LogPath + ".1"));
        Assert.Equal(Chunk('d', 600), File.ReadAllBytes(LogPath + ".2"));
    }

    [Fact]
    public void With_one_file_the_log_starts_over()
    {
        using var log = new RotatingLog(LogPath, maxBytes: 1024, files: 1);
        foreach (var c in "abc") log.Write(Chunk(c, 600));
        Assert.Equal(["kv.log"], LogFiles());
        Assert.Equal(Chunk('c', 600), File.ReadAllBytes(LogPath));
    }

    [Fact]
    public void A_chunk_is_never_split_across_files()
    {
        using (var log = new RotatingLog(LogPath, maxBytes: 1024, files: 4))
        {
            log.Write(Chunk('a', 300));
            log.Write(Chunk('b', 300));
            log.Write(Chunk('c', 300));
            log.Write(Chunk('d', 300)); // would cross 1024: goes whole into a fresh file
            log.Write(Chunk('e', 3000)); // larger than the limit: still whole, in a file of its own
            log.Write(Chunk('f', 10));
        }
        var files = new[] { LogPath + ".3", LogPath + ".2", LogPath + ".1", LogPath }.Select(File.ReadAllText).ToArray();
        Assert.Equal(new string('a', 299) + "\n" + new string('b', 299) + "\n" + new string('c', 299) + "\n", files[0]);
        Assert.Equal(new string('d', 299) + "\n", files[1]);
        Assert.Equal(new string('e', 2999) + "\n", files[2]);
        Assert.Equal(new string('f', 9) + "\n", files[3]);
        Assert.All(files, f => Assert.EndsWith("\n", f));
    }

    [Fact]
    public void Reopening_appends_and_counts_what_is_already_there()
    {
        using (var log = new RotatingLog(LogPath, maxBytes: 1024, files: 2)) log.Write(Chunk('a', 600));
        using (var log = new RotatingLog(LogPath, maxBytes: 1024, files: 2)) log.Write(Chunk('b', 600));

        Assert.Equal(Chunk('b', 600), File.ReadAllBytes(LogPath));
        Assert.Equal(Chunk('a', 600), File.ReadAllBytes(LogPath + ".1"));
    }

    [Fact]
    public void Concurrent_writers_never_interleave_within_a_chunk()
    {
        using (var log = new RotatingLog(LogPath, maxBytes: 8192, files: 50))
            Parallel.For(0, 200, i => log.Write(Chunk((char)('a' + i % 26), 100)));

        var lines = Directory.EnumerateFiles(Path.GetDirectoryName(LogPath)!).SelectMany(File.ReadAllLines).ToList();
        Assert.Equal(200, lines.Count);
        Assert.All(lines, l => Assert.Matches("^(.)\\1{98}$", l));
    }

    [Fact]
    public void Line_writes_a_timestamped_relcraft_line()
    {
        using (var log = new RotatingLog(LogPath, maxBytes: 4096, files: 2)) log.Line("restarting after crash");
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[relcraft\] restarting after crash\n$", File.ReadAllText(LogPath));
    }
}
