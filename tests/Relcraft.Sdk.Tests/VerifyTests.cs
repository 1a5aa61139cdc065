using System.Text.Json;
using Relcraft.Launcher;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// bin/NAME verify's comparison: a release folder and its release.json (written here the way
/// AssembleRelease.Manifest writes it, hashed by the platform's SHA-256), then changes to the disk.
/// </summary>
public sealed class VerifyTests : IDisposable
{
    private readonly TempDirectory _root = new("verify");

    public void Dispose() => _root.Dispose();

    private static readonly (string, string)[] Kv =
    [
        ("bin/kv", "#!/bin/sh\n"),
        ("lib/kv-0.1.0/kv.dll", "app"),
        ("runtime/dotnet", new string('x', 3_000_000)),
        ("releases/0.1.0/env.sh", "export A=1\n"),
        ("releases/start.data", "0.1.0\n"),
    ];

    /// <summary>Writes the files and releases/VSN/release.json naming them (plus symlinks as "link" entries).</summary>
    private void Release(string vsn, (string Path, string Content)[] files, params (string Path, string Target)[] links)
    {
        var entries = new List<Dictionary<string, object>>();
        foreach (var (path, content) in files)
        {
            var full = _root.Write(path, content);
            var executable = path.StartsWith("bin/", StringComparison.Ordinal);
            File.SetUnixFileMode(full, executable ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4);
            entries.Add(new()
            {
                ["path"] = path,
                ["size"] = new FileInfo(full).Length,
                ["sha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(full))).ToLowerInvariant(),
                ["mode"] = executable ? "0755" : "0644",
            });
        }
        foreach (var (path, target) in links)
        {
            File.CreateSymbolicLink(_root.Combine(path), target);
            entries.Add(new() { ["path"] = path, ["link"] = target });
        }
        WriteManifest(vsn, entries);
    }

    private void WriteManifest(string vsn, object files) =>
        _root.Write($"releases/{vsn}/release.json", JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["name"] = "kv", ["version"] = vsn, ["rid"] = "linux-x64", ["files"] = files,
        }));

    private Verify.Outcome Check(string vsn = "0.1.0", string? tmp = null) => Verify.Check(_root.Path, vsn, tmp);

    private static string[] Lines(Verify.Outcome outcome) => outcome.Problems.Select(p => p.ToString()).ToArray();

    [Fact]
    public void A_release_as_built_is_intact()
    {
        Release("0.1.0", Kv);
        var outcome = Check();
        Assert.Empty(outcome.Problems);
        // start.data is state (upgrade rewrites it), release.json is the reference: four files checked.
        Assert.Equal("kv 0.1.0: 4 files intact", Verify.Summary("kv", "0.1.0", outcome));
    }

    [Fact]
    public void Each_changed_missing_and_unexpected_file_is_named_with_what_differs()
    {
        Release("0.1.0", Kv);
        File.WriteAllText(_root.Combine("lib/kv-0.1.0/kv.dll"), "APP");          // same size, other bytes
        File.AppendAllText(_root.Combine("releases/0.1.0/env.sh"), "export B=2\n"); // longer
        File.SetUnixFileMode(_root.Combine("bin/kv"), (UnixFileMode)0x1FF);         // 0777
        File.Delete(_root.Combine("runtime/dotnet"));
        _root.Write("lib/kv-0.1.0/extra.dll", "dropped in");

        var outcome = Check();
        Assert.Equal(
        [
            "changed: bin/kv (mode)",
            "changed: lib/kv-0.1.0/kv.dll (sha256)",
            "changed: releases/0.1.0/env.sh (size)",
            "missing: runtime/dotnet",
            "unexpected: lib/kv-0.1.0/extra.dll",
        ], Lines(outcome));
        Assert.Equal("kv 0.1.0: 5 problems in 4 files (3 changed, 1 missing, 1 unexpected)", Verify.Summary("kv", "0.1.0", outcome));
    }

    [Fact]
    public void A_change_past_the_first_block_of_a_large_file_is_found()
    {
        Release("0.1.0", Kv);
        using (var stream = File.OpenWrite(_root.Combine("runtime/dotnet")))
        {
            stream.Position = 2_500_000;
            stream.WriteByte((byte)'y');
        }
        Assert.Equal(["changed: runtime/dotnet (sha256)"], Lines(Check()));
    }

    [Fact]
    public void Tmp_RELEASE_TMP_inside_the_release_start_data_and_a_private_cookie_are_not_reported()
    {
        Release("0.1.0", Kv);
        _root.Write("tmp/kv.pid", "1 2\n");
        _root.Write("tmp/log/kv.log", "log");
        _root.Write("var/run/kv.pid", "1 2\n");
        File.WriteAllText(_root.Combine("releases/start.data"), "0.2.0\n");
        var cookie = _root.Write("releases/COOKIE", new string('c', 64));
        File.SetUnixFileMode(cookie, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.Empty(Check(tmp: _root.Combine("var", "run")).Problems);
        // RELEASE_TMP elsewhere: var/ is then just a folder nobody asked for.
        Assert.Equal(["unexpected: var/run/kv.pid"], Lines(Check(tmp: "/elsewhere")));
    }

    [Fact]
    public void A_cookie_others_can_read_is_reported()
    {
        Release("0.1.0", Kv);
        var cookie = _root.Write("releases/COOKIE", new string('c', 64));
        File.SetUnixFileMode(cookie, (UnixFileMode)0x1A4);
        Assert.Equal(["changed: releases/COOKIE (mode)"], Lines(Check()));
    }

    [Fact]
    public void Other_installed_versions_belong_to_their_own_manifest()
    {
        Release("0.1.0", Kv);
        // An upgrade installed 0.2.0 beside: its releases/ and lib/ folders, a newer Relcraft's tools too.
        Release("0.2.0", [("lib/kv-0.2.0/kv.dll", "app 2"), ("lib/relcraft-0.2.0/relcraft", "tool"), ("bin/kv", "#!/bin/sh\n")]);
        _root.Write("lib/kv-0.2.0/not-in-any-manifest", "checked only when 0.2.0 is");
        _root.Write("lib/stray/file", "no version names lib/stray");

        Assert.Equal(["unexpected: lib/stray/file"], Lines(Check("0.1.0")));
        // RELEASE_VSN=0.2.0: the other way round (runtime/ is shared, so it is checked by whichever version is verified).
        Assert.Equal(
        [
            "unexpected: lib/kv-0.2.0/not-in-any-manifest",
            "unexpected: lib/stray/file",
            "unexpected: runtime/dotnet",
        ], Lines(Check("0.2.0")));
    }

    [Fact]
    public void A_symlink_is_checked_by_its_target()
    {
        Release("0.1.0", Kv, ("lib/kv-0.1.0/kv.runtimeconfig.json", "../../releases/0.1.0/kv.runtimeconfig.json"));
        Assert.Empty(Check().Problems); // dangling is fine: it is the link that the manifest names

        File.Delete(_root.Combine("lib/kv-0.1.0/kv.runtimeconfig.json"));
        File.CreateSymbolicLink(_root.Combine("lib/kv-0.1.0/kv.runtimeconfig.json"), "/etc/passwd");
        Assert.Equal(["changed: lib/kv-0.1.0/kv.runtimeconfig.json (link)"], Lines(Check()));

        File.Delete(_root.Combine("lib/kv-0.1.0/kv.runtimeconfig.json"));
        File.WriteAllText(_root.Combine("lib/kv-0.1.0/kv.runtimeconfig.json"), "{}");
        Assert.Equal(["changed: lib/kv-0.1.0/kv.runtimeconfig.json (link)"], Lines(Check()));

        File.Delete(_root.Combine("lib/kv-0.1.0/kv.dll"));
        File.CreateSymbolicLink(_root.Combine("lib/kv-0.1.0/kv.dll"), "kv.runtimeconfig.json");
        Assert.Contains("changed: lib/kv-0.1.0/kv.dll (link)", Lines(Check()));
    }

    [Fact]
    public void A_folder_where_a_file_belongs_is_a_change_of_type()
    {
        Release("0.1.0", Kv);
        File.Delete(_root.Combine("lib/kv-0.1.0/kv.dll"));
        _root.Write("lib/kv-0.1.0/kv.dll/inside", "x");
        Assert.Equal(["changed: lib/kv-0.1.0/kv.dll (type)", "unexpected: lib/kv-0.1.0/kv.dll/inside"], Lines(Check()));
    }

    [Fact]
    public void No_manifest_or_one_pointing_outside_the_release_is_one_line()
    {
        var missing = Assert.Throws<LauncherException>(() => Check());
        Assert.Equal($"{_root.Combine("releases", "0.1.0", "release.json")} is missing: nothing to verify against", missing.Message);

        WriteManifest("0.1.0", new[] { new Dictionary<string, object> { ["path"] = "../../etc/passwd", ["size"] = 1, ["sha256"] = "00", ["mode"] = "0644" } });
        var outside = Assert.Throws<LauncherException>(() => Check());
        Assert.EndsWith("is not a release manifest: file path '../../etc/passwd' leaves the release", outside.Message);

        _root.Write("releases/0.1.0/release.json", "{ not json");
        Assert.Contains("is not a release manifest", Assert.Throws<LauncherException>(() => Check()).Message);
    }

    [Fact]
    public void Verify_takes_no_arguments()
    {
        Release("0.1.0", Kv);
        var release = new Relcraft.Launcher.Release(new Dictionary<string, string>
        {
            ["RELEASE_ROOT"] = _root.Path, ["RELEASE_NAME"] = "kv", ["RELEASE_VSN"] = "0.1.0",
        });
        var e = Assert.Throws<LauncherException>(() => Verify.Run(release, ["--fast"]));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }
}

/// <summary>The launcher's streamed SHA-256 (verify hashes ~70 MB of runtime through it) equals the platform's.</summary>
public sealed class Sha256Tests
{
    [Fact]
    public void Streamed_in_any_pieces_equals_the_platforms_SHA256()
    {
        var random = new Random(20261202);
        foreach (var length in new[] { 0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 100_000 })
        {
            var message = new byte[length];
            random.NextBytes(message);
            var expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(message));
            Assert.Equal(expected, Convert.ToHexString(Sha256.Hash(message)));
            for (var trial = 0; trial < 5; trial++)
            {
                var sha = new Sha256();
                for (var offset = 0; offset < length;)
                {
                    var piece = Math.Min(length - offset, random.Next(0, 200));
                    sha.Append(message.AsSpan(offset, piece));
                    offset += piece;
                }
                Assert.Equal(expected, Convert.ToHexString(sha.Finish()));
            }
        }
    }

    [Fact]
    public void A_file_hashes_as_its_bytes_do()
    {
        using var dir = new TempDirectory("sha");
        var bytes = new byte[3 << 20];
        new Random(7).NextBytes(bytes);
        var path = Path.Combine(dir.Path, "big");
        File.WriteAllBytes(path, bytes);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)), Convert.ToHexString(Sha256.HashFile(path, new byte[4096])));
    }
}
