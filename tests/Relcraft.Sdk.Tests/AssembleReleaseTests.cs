using System.Text.Json;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Relcraft.Sdk.Tasks;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// The assemble step on a tiny fake publish output (no runtime, LaunchMode system): layout,
/// manifest, incrementality, and the mistakes it must report with a code — overlays escaping
/// the release, bad templates, bad ReleaseEnv/ReleaseRuntimeOption items.
/// </summary>
public sealed class AssembleReleaseTests : IDisposable
{
    private readonly TempDirectory _project = new("assemble");
    private readonly FakeBuildEngine _engine = new();
    private readonly ITaskItem _release;

    public AssembleReleaseTests()
    {
        var resolve = new ResolveRelease
        {
            BuildEngine = _engine,
            Requested = "true",
            AssemblyName = "Kv",
            ProjectDirectory = _project.Path,
            BaseOutputPath = "bin/",
            RuntimeIdentifier = "linux-x64",
            Version = "0.1.0",
            IncludeRuntime = "false",
        };
        Assert.True(resolve.Execute(), _engine.Describe());
        _release = resolve.Release!;
        _project.Write("publish/Kv.dll", "app");
        _project.Write("publish/Kv.deps.json", "{}");
        _project.Write("publish/Kv.runtimeconfig.json", """{ "runtimeOptions": { "tfm": "net10.0", "framework": { "name": "Microsoft.NETCore.App", "version": "10.0.0" } } }""");
    }

    public void Dispose() => _project.Dispose();

    private string Root => _release.GetMetadata("Path");

    private static ITaskItem Item(string spec, params (string Key, string Value)[] metadata)
    {
        var item = new TaskItem(spec);
        foreach (var (k, v) in metadata) item.SetMetadata(k, v);
        return item;
    }

    private AssembleRelease Task(string entry = "Kv.dll") => new()
    {
        BuildEngine = _engine,
        Release = _release,
        AppFiles = new[] { "Kv.dll", "Kv.deps.json", "Kv.runtimeconfig.json" }.Select(f => Item(_project.Combine("publish", f), ("RelativePath", f))).ToArray(),
        EntryAssembly = entry,
        TemplatesDirectory = RepoPaths.Templates,
        LaunchMode = "system",
        Frameworks = [Item("Microsoft.NETCore.App", ("Version", "10.0.0"))],
        ProjectDirectory = _project.Path,
        StateFile = _project.Combine("obj", "relcraft", "hashes.json"),
    };

    private void AssertSucceeds(AssembleRelease task)
    {
        Assert.True(task.Execute(), _engine.Describe());
        Assert.Empty(_engine.Errors);
    }

    private void AssertFailsWith(AssembleRelease task, string code)
    {
        Assert.False(task.Execute());
        Assert.Contains(code, _engine.ErrorCodes);
    }

    [Fact]
    public void Assembles_the_documented_layout()
    {
        AssertSucceeds(Task());

        foreach (var f in new[] { "bin/kv", "lib/kv-0.1.0/Kv.dll", "lib/kv-0.1.0/Kv.deps.json", "releases/COOKIE", "releases/start.data",
                     "releases/0.1.0/env.sh", "releases/0.1.0/kv.runtimeconfig.json", "releases/0.1.0/runtime.json", "releases/0.1.0/release.json" })
            Assert.True(File.Exists(Path.Combine(Root, f)), f);
        Assert.Equal("755", Posix.OctalMode(Path.Combine(Root, "bin/kv")));
        Assert.Equal("600", Posix.OctalMode(Path.Combine(Root, "releases/COOKIE")));
        Assert.Equal("0.1.0\n", File.ReadAllText(Path.Combine(Root, "releases/start.data")));
        Assert.False(File.Exists(Path.Combine(Root, "bin/kv.bat")));
        Assert.False(File.Exists(Path.Combine(Root, "lib/kv-0.1.0/Kv.runtimeconfig.json"))); // the one in force is in releases/VSN/
        Assert.True(File.ReadAllText(Path.Combine(Root, "releases/COOKIE")).Trim().Length >= 32);
    }

    [Fact]
    public void The_launcher_answers_version_without_a_runtime()
    {
        AssertSucceeds(Task());
        Assert.Equal("kv 0.1.0\n", Posix.Run(Path.Combine(Root, "bin/kv"), ["version"], new Dictionary<string, string?> { ["RELEASE_VSN"] = null, ["RELEASE_NAME"] = null, ["RELEASE_ROOT"] = null }));
    }

    [Fact]
    public void The_manifest_hashes_every_file_but_the_cookie()
    {
        var task = Task();
        AssertSucceeds(task);

        using var manifest = JsonDocument.Parse(File.ReadAllText(task.ManifestPath));
        var m = manifest.RootElement;
        Assert.Equal("kv", m.GetProperty("name").GetString());
        Assert.Equal("0.1.0", m.GetProperty("version").GetString());
        Assert.Equal("linux-x64", m.GetProperty("rid").GetString());
        Assert.Equal("lib/kv-0.1.0/Kv.dll", m.GetProperty("entry").GetString());
        var files = m.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("path").GetString()!);
        Assert.DoesNotContain("releases/COOKIE", files.Keys);
        foreach (var (path, entry) in files)
        {
            if (path == "releases/0.1.0/release.json") continue; // cannot hash itself
            Assert.Equal(FileHashes.Compute(Path.Combine(Root, path)), entry.GetProperty("sha256").GetString());
            Assert.Equal(new FileInfo(Path.Combine(Root, path)).Length, entry.GetProperty("size").GetInt64());
        }
        var onDisk = Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(Root, p)).Where(p => p != "releases/COOKIE");
        Assert.Equal(onDisk.Order(StringComparer.Ordinal), files.Keys.Where(k => k != "releases/0.1.0/release.json").Concat(["releases/0.1.0/release.json"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_second_assembly_with_no_change_touches_nothing_and_keeps_the_cookie()
    {
        AssertSucceeds(Task());
        var before = Posix.Snapshot(Root);
        var cookie = File.ReadAllText(Path.Combine(Root, "releases/COOKIE"));

        var again = Task();
        AssertSucceeds(again);

        Assert.False(again.Changed);
        Assert.Equal(before, Posix.Snapshot(Root));
        Assert.Equal(cookie, File.ReadAllText(Path.Combine(Root, "releases/COOKIE")));
    }

    [Fact]
    public void ReleaseEnv_becomes_overridable_defaults_in_env_sh()
    {
        var task = Task();
        task.EnvironmentVariables = [Item("KV_NODES", ("Value", "foo,bar")), Item("KV_GREETING", ("Value", "it's $HOME"))];
        AssertSucceeds(task);

        var envSh = Path.Combine(Root, "releases/0.1.0/env.sh");
        var script = $". '{envSh}'; printf '%s|%s' \"$KV_NODES\" \"$KV_GREETING\"";
        Assert.Equal("foo,bar|it's $HOME", Posix.Run("/bin/sh", ["-c", script], new Dictionary<string, string?> { ["KV_NODES"] = null, ["KV_GREETING"] = null }));
        Assert.Equal("a|it's $HOME", Posix.Run("/bin/sh", ["-c", script], new Dictionary<string, string?> { ["KV_NODES"] = "a", ["KV_GREETING"] = null }));
    }

    [Fact]
    public void ReleaseRuntimeOption_lands_in_the_release_runtimeconfig()
    {
        var task = Task();
        task.RuntimeOptions = [Item("System.GC.Server", ("Value", "true"))];
        AssertSucceeds(task);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "releases/0.1.0/kv.runtimeconfig.json")));
        Assert.True(doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").GetProperty("System.GC.Server").GetBoolean());
    }

    [Fact]
    public void A_runtime_option_without_a_value_fails_with_1007()
    {
        var task = Task();
        task.RuntimeOptions = [Item("System.GC.Server")];
        AssertFailsWith(task, "RELCRAFT1007");
    }

    [Fact]
    public void A_runtime_option_that_is_not_a_dotted_name_fails_with_1020()
    {
        var task = Task();
        task.RuntimeOptions = [Item("GCServer", ("Value", "true"))];
        AssertFailsWith(task, "RELCRAFT1020");
    }

    [Fact]
    public void An_invalid_ReleaseEnv_name_fails_with_1013()
    {
        var task = Task();
        task.EnvironmentVariables = [Item("1BAD-NAME", ("Value", "x"))];
        AssertFailsWith(task, "RELCRAFT1013");
        Assert.False(Directory.Exists(Root)); // nothing written on a mistake
    }

    [Fact]
    public void A_missing_entry_assembly_fails_with_1019()
    {
        AssertFailsWith(Task(entry: "Other.dll"), "RELCRAFT1019");
    }

    [Fact]
    public void An_unknown_placeholder_in_a_user_template_fails_with_1011_against_that_template()
    {
        var template = _project.Write("rel/env.sh.template", "export X={{RELEASE_NAEM}}\n");
        AssertFailsWith(Task(), "RELCRAFT1011");
        Assert.Equal(template, _engine.Errors.Single().File);
    }

    [Fact]
    public void A_user_env_template_replaces_the_built_in_one()
    {
        _project.Write("rel/env.sh.template", "# mine for {{RELEASE_NAME}}\n");
        AssertSucceeds(Task());
        Assert.Contains("# mine for kv", File.ReadAllText(Path.Combine(Root, "releases/0.1.0/env.sh")));
    }

    [Fact]
    public void Overlays_are_copied_into_the_release()
    {
        _project.Write("deploy/etc/kv.conf", "conf");
        _project.Write("rel/overlays/etc/from-rel.conf", "rel overlay");
        var task = Task();
        task.Overlays = [Item("deploy/etc/kv.conf"), Item("deploy/etc/kv.conf", ("Destination", "config/")), Item("deploy", ("Destination", "share"))];
        AssertSucceeds(task);

        Assert.Equal("conf", File.ReadAllText(Path.Combine(Root, "deploy/etc/kv.conf")));
        Assert.Equal("conf", File.ReadAllText(Path.Combine(Root, "config/kv.conf")));
        Assert.Equal("conf", File.ReadAllText(Path.Combine(Root, "share/etc/kv.conf")));
        Assert.Equal("rel overlay", File.ReadAllText(Path.Combine(Root, "etc/from-rel.conf")));
    }

    [Theory]
    [InlineData("../outside.conf")]
    [InlineData("../kv-evil/x.conf")] // a sibling whose name starts like the release's
    [InlineData("/etc/kv.conf")]
    [InlineData("a/../../outside.conf")]
    [InlineData("tmp/kv.conf")] // tmp/ belongs to the running system
    public void An_overlay_escaping_the_release_fails_with_1009(string destination)
    {
        _project.Write("deploy/kv.conf", "conf");
        var task = Task();
        task.Overlays = [Item("deploy/kv.conf", ("Destination", destination))];
        AssertFailsWith(task, "RELCRAFT1009");
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(Root.TrimEnd('/'))!, "outside.conf")));
        Assert.False(File.Exists("/etc/kv.conf") && File.ReadAllText("/etc/kv.conf") == "conf");
    }

    [Fact]
    public void A_missing_overlay_fails_with_1010()
    {
        var task = Task();
        task.Overlays = [Item("deploy/nope.conf")];
        AssertFailsWith(task, "RELCRAFT1010");
    }

    [Fact]
    public void Windows_executables_are_written_with_CRLF()
    {
        var resolve = new ResolveRelease
        {
            BuildEngine = _engine, Requested = "true", AssemblyName = "Kv", ProjectDirectory = _project.Path, BaseOutputPath = "bin/",
            RuntimeIdentifier = "linux-x64", Version = "0.1.0", IncludeRuntime = "false", ExecutablesFor = "unix;windows",
        };
        Assert.True(resolve.Execute());
        var task = Task();
        task.Release = resolve.Release!;
        AssertSucceeds(task);

        Assert.True(File.Exists(Path.Combine(Root, "bin/kv")));
        var bat = File.ReadAllText(Path.Combine(Root, "bin/kv.bat"));
        Assert.Contains("\r\n", bat);
        Assert.DoesNotMatch("[^\r]\n", bat);
        // The Windows shim hands every command to the same C# launcher as bin/NAME (content root, hooks, pid file there).
        Assert.Contains("exec \"%RELCRAFT_TOOLS_DIR%\\Relcraft.Launcher.dll\" %*", bat);
        Assert.Contains("set \"RELCRAFT_RUNTIME_MODE=system\"", bat);
        Assert.True(File.Exists(Path.Combine(Root, "releases/0.1.0/env.bat")));
    }
}
