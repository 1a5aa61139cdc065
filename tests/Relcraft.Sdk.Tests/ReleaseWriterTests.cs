using System.Text;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// Putting a release on disk, on real folders: modes, incremental rewrites that keep unchanged
/// files (same inode, same mtime), stale files removed, the operator's tmp/ kept, and a failed
/// write leaving the old release exactly as it was.
/// </summary>
public sealed class ReleaseWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new("writer");
    private readonly string _root;
    private readonly string _appDll;
    private readonly string _runtimeLib;

    public ReleaseWriterTests()
    {
        _root = _dir.Combine("rel", "kv");
        _appDll = _dir.Write("publish/Kv.dll", "app bytes");
        _runtimeLib = _dir.Write("publish/libthing.so", "native bytes");
        File.SetUnixFileMode(_runtimeLib, ReleasePlan.Executable);
        // Sources keep an old mtime, as build outputs do; copies must carry it.
        File.SetLastWriteTimeUtc(_appDll, new DateTime(2021, 5, 4, 3, 2, 1, DateTimeKind.Utc));
    }

    public void Dispose() => _dir.Dispose();

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private ReleasePlan Plan(string launcher = "#!/bin/sh\necho kv\n", bool withExtra = true)
    {
        var plan = new ReleasePlan();
        plan.Write("bin/kv", Utf8(launcher), ReleasePlan.Executable);
        plan.Write("releases/COOKIE", Utf8(new string('c', 64)), ReleasePlan.Secret);
        plan.Write("releases/start.data", Utf8("0.1.0\n"));
        plan.Copy("lib/kv-0.1.0/Kv.dll", _appDll);
        plan.Copy("runtime/libthing.so", _runtimeLib);
        plan.Link("lib/kv-0.1.0/Kv.runtimeconfig.json", "../../releases/0.1.0/kv.runtimeconfig.json");
        plan.Write("releases/0.1.0/kv.runtimeconfig.json", Utf8("{}\n"));
        if (withExtra) plan.Write("releases/0.1.0/extra.txt", Utf8("going away"));
        return plan;
    }

    private ReleaseWriter.Outcome Write(ReleasePlan plan) => new ReleaseWriter(_root).Write(plan);

    private string[] Leftovers() =>
        Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(_root)!).Select(Path.GetFileName).Where(n => n != "kv").ToArray()!;

    [Fact]
    public void First_write_creates_every_file_with_the_mode_asked()
    {
        var outcome = Write(Plan());

        Assert.True(outcome.Changed);
        Assert.Equal("#!/bin/sh\necho kv\n", File.ReadAllText(Path.Combine(_root, "bin/kv")));
        Assert.Equal("755", Posix.OctalMode(Path.Combine(_root, "bin/kv")));
        Assert.Equal("600", Posix.OctalMode(Path.Combine(_root, "releases/COOKIE")));
        Assert.Equal("644", Posix.OctalMode(Path.Combine(_root, "releases/start.data")));
        Assert.Equal("644", Posix.OctalMode(Path.Combine(_root, "lib/kv-0.1.0/Kv.dll")));
        Assert.Equal("755", Posix.OctalMode(Path.Combine(_root, "runtime/libthing.so")));
        Assert.Equal("app bytes", File.ReadAllText(Path.Combine(_root, "lib/kv-0.1.0/Kv.dll")));
        Assert.Equal(File.GetLastWriteTimeUtc(_appDll), File.GetLastWriteTimeUtc(Path.Combine(_root, "lib/kv-0.1.0/Kv.dll")));
        Assert.Equal("../../releases/0.1.0/kv.runtimeconfig.json", new FileInfo(Path.Combine(_root, "lib/kv-0.1.0/Kv.runtimeconfig.json")).LinkTarget);
        Assert.Equal("{}\n", File.ReadAllText(Path.Combine(_root, "lib/kv-0.1.0/Kv.runtimeconfig.json"))); // the link resolves
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void The_secret_mode_does_not_depend_on_the_umask()
    {
        // Written 0600 from the start matters less than ending 0600; but a group/other-readable cookie is a leak.
        Write(Plan());
        var mode = File.GetUnixFileMode(Path.Combine(_root, "releases/COOKIE"));
        Assert.Equal(UnixFileMode.None, mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));
    }

    [Fact]
    public void Writing_an_identical_plan_changes_nothing()
    {
        Write(Plan());
        var before = Posix.Snapshot(_root);

        var outcome = Write(Plan());

        Assert.False(outcome.Changed);
        Assert.Equal(before, Posix.Snapshot(_root)); // every inode and mtime (ns), directories included
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void A_changed_plan_rewrites_changed_files_removes_stale_ones_and_keeps_the_rest()
    {
        Write(Plan());
        var before = Posix.Snapshot(_root);

        var outcome = Write(Plan(launcher: "#!/bin/sh\necho kv v2\n", withExtra: false));

        Assert.True(outcome.Changed);
        Assert.Equal(1, outcome.Removed);
        Assert.Equal("#!/bin/sh\necho kv v2\n", File.ReadAllText(Path.Combine(_root, "bin/kv")));
        Assert.Equal("755", Posix.OctalMode(Path.Combine(_root, "bin/kv")));
        Assert.False(File.Exists(Path.Combine(_root, "releases/0.1.0/extra.txt")));

        var after = Posix.Snapshot(_root);
        foreach (var unchanged in new[] { "releases/COOKIE", "releases/start.data", "lib/kv-0.1.0/Kv.dll", "runtime/libthing.so", "releases/0.1.0/kv.runtimeconfig.json" })
        {
            Assert.Equal(before[unchanged].Inode, after[unchanged].Inode);
            Assert.Equal(before[unchanged].MTime, after[unchanged].MTime);
            Assert.Equal(before[unchanged].Mode, after[unchanged].Mode);
        }
        Assert.Equal("600", after["releases/COOKIE"].Mode);
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void A_changed_source_file_is_copied_again()
    {
        Write(Plan());
        File.WriteAllText(_appDll, "app bytes v2");

        var outcome = Write(Plan());

        Assert.True(outcome.Changed);
        Assert.Equal("app bytes v2", File.ReadAllText(Path.Combine(_root, "lib/kv-0.1.0/Kv.dll")));
    }

    [Fact]
    public void A_changed_mode_alone_is_a_change()
    {
        Write(Plan());
        File.SetUnixFileMode(Path.Combine(_root, "bin/kv"), ReleasePlan.Regular);

        Assert.True(Write(Plan()).Changed);
        Assert.Equal("755", Posix.OctalMode(Path.Combine(_root, "bin/kv")));
    }

    [Fact]
    public void A_file_added_by_hand_is_removed()
    {
        Write(Plan());
        File.WriteAllText(Path.Combine(_root, "lib/kv-0.1.0/stray.dll"), "stray");

        var outcome = Write(Plan());

        Assert.True(outcome.Changed);
        Assert.False(File.Exists(Path.Combine(_root, "lib/kv-0.1.0/stray.dll")));
    }

    [Fact]
    public void Tmp_survives_a_rewrite()
    {
        Write(Plan());
        Directory.CreateDirectory(Path.Combine(_root, "tmp", "log"));
        File.WriteAllText(Path.Combine(_root, "tmp", "kv.pid"), "1234\n");
        File.WriteAllText(Path.Combine(_root, "tmp", "log", "kv.log"), "log line\n");
        var pidInode = Posix.Snapshot(_root)["tmp/kv.pid"].Inode;

        Assert.False(Write(Plan()).Changed); // tmp/ is not a stale file
        Assert.True(Write(Plan(launcher: "#!/bin/sh\necho changed\n")).Changed);

        Assert.Equal("1234\n", File.ReadAllText(Path.Combine(_root, "tmp", "kv.pid")));
        Assert.Equal("log line\n", File.ReadAllText(Path.Combine(_root, "tmp", "log", "kv.log")));
        Assert.Equal(pidInode, Posix.Snapshot(_root)["tmp/kv.pid"].Inode); // moved, not copied
    }

    [Fact]
    public void A_failure_midway_leaves_the_old_release_intact_and_no_staging_behind()
    {
        Write(Plan());
        Directory.CreateDirectory(Path.Combine(_root, "tmp"));
        File.WriteAllText(Path.Combine(_root, "tmp", "kv.pid"), "1234\n");
        var before = Posix.Snapshot(_root);

        var broken = Plan(launcher: "#!/bin/sh\necho v2\n");
        broken.Copy("lib/kv-0.1.0/Missing.dll", _dir.Combine("publish", "does-not-exist.dll"), ReleasePlan.Regular); // sorted after files already staged

        Assert.ThrowsAny<IOException>(() => Write(broken));

        Assert.Equal(before, Posix.Snapshot(_root));
        Assert.Equal("#!/bin/sh\necho kv\n", File.ReadAllText(Path.Combine(_root, "bin/kv")));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void A_failed_first_write_leaves_nothing()
    {
        var broken = Plan();
        broken.Copy("lib/kv-0.1.0/Missing.dll", _dir.Combine("publish", "does-not-exist.dll"), ReleasePlan.Regular); // sorted after files already staged

        Assert.ThrowsAny<IOException>(() => Write(broken));

        Assert.False(Directory.Exists(_root));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void Release_path_with_a_trailing_slash_is_the_same_release()
    {
        new ReleaseWriter(_root + "/").Write(Plan());
        Assert.True(File.Exists(Path.Combine(_root, "bin/kv")));
        Assert.False(new ReleaseWriter(_root + "/").Write(Plan()).Changed);
        Assert.Empty(Leftovers());
    }
}
