using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Relcraft.Launcher;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// upgrade's pieces that need no running system: the tarball installer (what it refuses, what it moves in and
/// what it leaves alone), version ordering for `versions`, the commit of start.data and bin/, and verify once
/// two versions with different runtimes are installed side by side.
/// </summary>
public sealed class UpgradeLogicTests : IDisposable
{
    private readonly TempDirectory _dir = new("upgrade");

    public void Dispose() => _dir.Dispose();

    private string Root => _dir.Combine("rel");

    private static Release ReleaseAt(string root, string name = "kv", string vsn = "0.1.0") =>
        new(new Dictionary<string, string> { ["RELEASE_ROOT"] = root, ["RELEASE_NAME"] = name, ["RELEASE_VSN"] = vsn });

    /// <summary>A release's files for version <paramref name="vsn"/> running on runtime <paramref name="runtime"/>, with its release.json.</summary>
    private static Dictionary<string, string> Files(string vsn, string runtime, string name = "kv")
    {
        var files = new Dictionary<string, string>
        {
            [$"bin/{name}"] = $"#!/bin/sh\n# {vsn}\n",
            [$"releases/{vsn}/bin/{name}"] = $"#!/bin/sh\n# {vsn}\n",
            [$"releases/{vsn}/env.sh"] = "export A=1\n",
            [$"lib/{name}-{vsn}/{name}.dll"] = $"app {vsn}",
            ["lib/relcraft-0.1.0/relcraft"] = "tools",
            ["runtime/dotnet"] = "muxer",
            [$"runtime/host/fxr/{runtime}/libhostfxr.so"] = $"fxr {runtime}",
            [$"runtime/shared/Microsoft.NETCore.App/{runtime}/System.Private.CoreLib.dll"] = $"corelib {runtime}",
            ["releases/start.data"] = vsn + "\n",
        };
        files[$"releases/{vsn}/release.json"] = Manifest(name, vsn, files);
        return files;
    }

    private static string Manifest(string name, string vsn, Dictionary<string, string> files) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["name"] = name,
            ["version"] = vsn,
            ["files"] = files.Where(f => f.Key != "releases/start.data").Select(f => new Dictionary<string, object>
            {
                ["path"] = f.Key,
                ["size"] = Encoding.UTF8.GetByteCount(f.Value),
                ["sha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(f.Value))),
                ["mode"] = ModeOf(f.Key),
            }).ToArray(),
        });

    private static string ModeOf(string path) => path.Contains("/bin/") || path.StartsWith("bin/") ? "0755" : "0644";

    private void WriteTree(string root, Dictionary<string, string> files)
    {
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
            File.SetUnixFileMode(full, ModeOf(path) == "0755" ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4);
        }
    }

    private string Tarball(string fileName, IEnumerable<TarEntry> entries)
    {
        var path = _dir.Combine(fileName);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var entry in entries) tar.WriteEntry(entry);
        return path;
    }

    private string Tarball(string fileName, Dictionary<string, string> files) =>
        Tarball(fileName, files.Select(f =>
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, f.Key)
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(f.Value)),
                Mode = ModeOf(f.Key) == "0755" ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4,
            };
            return (TarEntry)entry;
        }).ToList());

    private string InstallNew(string tarball) => Installer.Install(ReleaseAt(Root), tarball, TextWriter.Null);

    [Fact]
    public void A_new_version_is_installed_beside_the_old_with_its_own_runtime_and_start_data_is_left_alone()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        var tarball = Tarball("kv-0.2.0.tar.gz", Files("0.2.0", "10.0.14"));

        Assert.Equal("0.2.0", InstallNew(tarball));

        Assert.Equal("corelib 10.0.12", File.ReadAllText(Path.Combine(Root, "runtime/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll")));
        Assert.Equal("corelib 10.0.14", File.ReadAllText(Path.Combine(Root, "runtime/shared/Microsoft.NETCore.App/10.0.14/System.Private.CoreLib.dll")));
        Assert.True(File.Exists(Path.Combine(Root, "runtime/host/fxr/10.0.14/libhostfxr.so")));
        Assert.Equal("app 0.2.0", File.ReadAllText(Path.Combine(Root, "lib/kv-0.2.0/kv.dll")));
        Assert.Equal("0.1.0\n", File.ReadAllText(Path.Combine(Root, "releases/start.data")));
        Assert.Equal("#!/bin/sh\n# 0.1.0\n", File.ReadAllText(Path.Combine(Root, "bin/kv")));
        Assert.Equal(["0.2.0", "0.1.0"], Upgrade.InstalledVersions(Root));
        Assert.Empty(Directory.GetDirectories(Path.Combine(Root, "releases"), ".install-*"));

        // Each version checks out on its own, the other's runtime and lib folders being the other's.
        Assert.Empty(Verify.Check(Root, "0.1.0").Problems);
        Supervisor.Commit(Root, "kv", "0.2.0");
        Assert.Empty(Verify.Check(Root, "0.2.0").Problems);
    }

    [Fact]
    public void A_tools_folder_both_versions_name_but_each_built_its_own_of_checks_out_for_both()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        var v2 = Files("0.2.0", "10.0.14");
        v2["lib/relcraft-0.1.0/relcraft"] = "tools built with another apphost";
        v2["releases/0.2.0/release.json"] = Manifest("kv", "0.2.0", v2.Where(f => f.Key != "releases/0.2.0/release.json").ToDictionary());
        InstallNew(Tarball("kv-0.2.0.tar.gz", v2));
        Supervisor.Commit(Root, "kv", "0.2.0");

        // The installed copy stays (the old version runs from it); it is the one 0.1.0's manifest names.
        Assert.Equal("tools", File.ReadAllText(Path.Combine(Root, "lib/relcraft-0.1.0/relcraft")));
        Assert.Empty(Verify.Check(Root, "0.2.0").Problems);
        File.WriteAllText(Path.Combine(Root, "lib/relcraft-0.1.0/relcraft"), "tampered");
        Assert.Equal(["changed: lib/relcraft-0.1.0/relcraft (size)"], Verify.Check(Root, "0.2.0").Problems.Select(p => p.ToString()));
    }

    [Fact]
    public void A_tarball_whose_gzip_checksum_is_wrong_is_refused_even_when_the_archive_ended_before_it()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        var path = Tarball("kv-0.2.0.tar.gz", Files("0.2.0", "10.0.12"));
        var bytes = File.ReadAllBytes(path);
        bytes[^8] ^= 0xFF; // the gzip trailer: CRC-32 of the data, then its length
        File.WriteAllBytes(path, bytes);
        AssertRefused(path, "is not a release tarball");
    }

    [Fact]
    public void Commit_writes_start_data_and_puts_the_versions_own_launcher_at_bin()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        InstallNew(Tarball("kv-0.2.0.tar.gz", Files("0.2.0", "10.0.12")));

        Supervisor.Commit(Root, "kv", "0.2.0");

        Assert.Equal("0.2.0\n", File.ReadAllText(Path.Combine(Root, "releases/start.data")));
        Assert.Equal("#!/bin/sh\n# 0.2.0\n", File.ReadAllText(Path.Combine(Root, "bin/kv")));
        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(Path.Combine(Root, "bin/kv")) & (UnixFileMode)0x1FF);
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "bin"), "*.tmp.*"));
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "releases"), "*.tmp.*"));
    }

    [Fact]
    public void An_installed_version_is_not_installed_again()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        var tarball = Tarball("kv-0.2.0.tar.gz", Files("0.2.0", "10.0.12"));
        InstallNew(tarball);
        File.WriteAllText(Path.Combine(Root, "lib/kv-0.2.0/marker"), "kept");
        Assert.Equal("0.2.0", InstallNew(tarball));
        Assert.True(File.Exists(Path.Combine(Root, "lib/kv-0.2.0/marker")));
    }

    [Fact]
    public void A_leftover_of_an_interrupted_install_is_replaced_and_its_staging_folder_removed()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        File.WriteAllText(_dir.Write("rel/lib/kv-0.2.0/half.dll", "half"), "half");
        _dir.Write("rel/releases/.install-999999/lib/x", "stale");

        InstallNew(Tarball("kv-0.2.0.tar.gz", Files("0.2.0", "10.0.12")));

        Assert.False(File.Exists(Path.Combine(Root, "lib/kv-0.2.0/half.dll")));
        Assert.False(Directory.Exists(Path.Combine(Root, "releases/.install-999999")));
        Assert.Empty(Verify.Check(Root, "0.1.0").Problems);
    }

    private void AssertRefused(string tarball, string expected)
    {
        var before = Snapshot();
        var e = Assert.Throws<LauncherException>(() => InstallNew(tarball));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, Snapshot());
    }

    private string[] Snapshot() => Directory.EnumerateFileSystemEntries(Root, "*", SearchOption.AllDirectories)
        .Select(p => Path.GetRelativePath(Root, p)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void A_tarball_whose_sha256_differs_from_its_sha256_file_is_refused()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        var tarball = Tarball("kv-0.2.0.tar.gz", Files("0.2.0", "10.0.12"));
        File.WriteAllText(tarball + ".sha256", new string('0', 64) + "  kv-0.2.0.tar.gz\n");
        AssertRefused(tarball, "is corrupt: its sha256");
    }

    [Fact]
    public void A_tarball_that_is_not_gzip_a_truncated_one_and_one_of_another_release_are_refused()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        AssertRefused(_dir.Write("junk.tar.gz", "not a tarball"), "is not a release tarball");

        var good = File.ReadAllBytes(Tarball("kv-0.2.0.tar.gz", Files("0.2.0", "10.0.12")));
        var truncated = _dir.Combine("truncated.tar.gz");
        File.WriteAllBytes(truncated, good[..(good.Length / 2)]);
        AssertRefused(truncated, "is not a release tarball");

        AssertRefused(Tarball("other-1.0.0.tar.gz", Files("1.0.0", "10.0.12", name: "other")), "is a release of other, not kv");
    }

    [Fact]
    public void A_tarball_whose_files_do_not_match_its_release_json_is_refused()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        var files = Files("0.2.0", "10.0.12");
        files["lib/kv-0.2.0/kv.dll"] = "tampered";
        AssertRefused(Tarball("kv-0.2.0.tar.gz", files), "does not match its own release.json (changed: lib/kv-0.2.0/kv.dll");
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/etc/escape")]
    [InlineData("lib/../../escape")]
    public void An_entry_leaving_the_release_is_refused(string name)
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream("x"u8.ToArray()) };
        AssertRefused(Tarball("evil.tar.gz", [entry]), "leaves the release");
        Assert.False(File.Exists(_dir.Combine("escape")));
    }

    [Fact]
    public void A_link_pointing_outside_and_a_device_are_refused()
    {
        WriteTree(Root, Files("0.1.0", "10.0.12"));
        AssertRefused(Tarball("link.tar.gz", [new PaxTarEntry(TarEntryType.SymbolicLink, "lib/x") { LinkName = "../../../etc/passwd" }]), "points outside the release");
        AssertRefused(Tarball("fifo.tar.gz", [new PaxTarEntry(TarEntryType.Fifo, "lib/fifo")]), "which a release does not hold");
    }

    [Theory]
    [InlineData("0.10.0", "0.9.0")]
    [InlineData("1.0.0", "1.0.0-rc.1")]
    [InlineData("1.0.0-rc.2", "1.0.0-rc.1")]
    [InlineData("2.0", "1.9.9")]
    public void Newer_versions_sort_first(string newer, string older)
    {
        Assert.True(Upgrade.CompareVersions(newer, older) > 0);
        Assert.True(Upgrade.CompareVersions(older, newer) < 0);
    }

    [Theory]
    [InlineData("0.2.0", true)]
    [InlineData("1.0.0-rc.1+build", true)]
    [InlineData("../0.1.0", false)]
    [InlineData(".install-1", false)]
    [InlineData("", false)]
    public void A_version_is_a_plain_name(string vsn, bool valid) => Assert.Equal(valid, Installer.ValidVersion(vsn));
}
