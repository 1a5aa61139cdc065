using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Relcraft.Sdk.Tasks;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>Which runtime files a release carries, from a fake dotnet root and a fake runtime pack.</summary>
public sealed class ResolveReleaseRuntimeTests : IDisposable
{
    private readonly TempDirectory _dir = new("runtime");
    private readonly FakeBuildEngine _engine = new();
    private readonly string _dotnetRoot;

    public ResolveReleaseRuntimeTests()
    {
        _dotnetRoot = _dir.Combine("dotnet");
        Touch("dotnet/dotnet");
        Touch("dotnet/host/fxr/10.0.1/libhostfxr.so");
        Touch("dotnet/shared/Microsoft.NETCore.App/10.0.1/x.dll");
        Touch("dotnet/shared/Microsoft.NETCore.App/10.0.3/x.dll");
        Touch("dotnet/shared/Microsoft.NETCore.App/10.0.3/libhostpolicy.so");
        Touch("dotnet/shared/Microsoft.NETCore.App/11.0.0/x.dll"); // another major: never picked for a 10.0 app
        Touch("dotnet/shared/Microsoft.AspNetCore.App/10.0.3/y.dll");
        Touch("dotnet/sdk/10.0.100/sdk.dll"); // the SDK never goes into a release
        Touch("dotnet/packs/Microsoft.NETCore.App.Ref/10.0.3/ref.dll");
    }

    public void Dispose() => _dir.Dispose();

    private string Touch(string relative) => _dir.Write(relative, relative);

    private ITaskItem AppRuntimeConfig(string frameworks) =>
        new TaskItem(_dir.Write("publish/App.runtimeconfig.json", $$"""{ "runtimeOptions": { "tfm": "net10.0", {{frameworks}} } }"""), new Dictionary<string, string> { ["RelativePath"] = "App.runtimeconfig.json" });

    private const string NetCoreOnly = """ "framework": { "name": "Microsoft.NETCore.App", "version": "10.0.0" } """;
    private const string WithAspNetCore = """ "frameworks": [ { "name": "Microsoft.NETCore.App", "version": "10.0.0" }, { "name": "Microsoft.AspNetCore.App", "version": "10.0.0" } ] """;

    private ResolveReleaseRuntime Task(string frameworks = NetCoreOnly, string includeRuntime = "true", string rid = "linux-x64", params ITaskItem[] packs)
    {
        var release = new TaskItem("kv", new Dictionary<string, string> { ["IncludeRuntime"] = includeRuntime, ["RuntimeIdentifier"] = rid, ["Version"] = "0.1.0" });
        return new ResolveReleaseRuntime
        {
            BuildEngine = _engine,
            Release = release,
            AppFiles = [new TaskItem(_dir.Write("publish/App.dll", "app"), new Dictionary<string, string> { ["RelativePath"] = "App.dll" }), AppRuntimeConfig(frameworks)],
            EntryAssembly = "App.dll",
            SdkRuntimeIdentifier = "linux-x64",
            NetCoreRoot = _dotnetRoot,
            RuntimePacks = packs,
        };
    }

    private static Dictionary<string, string> Files(ResolveReleaseRuntime task) =>
        task.RuntimeFiles.ToDictionary(f => f.GetMetadata("RelativePath"), f => f.ItemSpec);

    private static Dictionary<string, string> Frameworks(ResolveReleaseRuntime task) =>
        task.Frameworks.ToDictionary(f => f.ItemSpec, f => f.GetMetadata("Version"));

    private void AssertSucceeds(ResolveReleaseRuntime task)
    {
        Assert.True(task.Execute(), _engine.Describe());
        Assert.Empty(_engine.Errors);
    }

    /// <summary>A linux-arm64 release given this runtime pack fails with RELCRAFT1012 alone; returns its message.</summary>
    private string FailsWith1012(ITaskItem pack)
    {
        Assert.False(Task(rid: "linux-arm64", packs: pack).Execute());
        Assert.Equal(["RELCRAFT1012"], _engine.ErrorCodes);
        return _engine.Errors[0].Message!;
    }

    [Fact]
    public void Same_RID_bundles_the_machine_runtime_at_the_latest_patch()
    {
        var task = Task();
        AssertSucceeds(task);

        Assert.Equal("bundled", task.LaunchMode);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["dotnet"] = Path.Combine(_dotnetRoot, "dotnet"),
                ["host/fxr/10.0.1/libhostfxr.so"] = Path.Combine(_dotnetRoot, "host/fxr/10.0.1/libhostfxr.so"),
                ["shared/Microsoft.NETCore.App/10.0.3/x.dll"] = Path.Combine(_dotnetRoot, "shared/Microsoft.NETCore.App/10.0.3/x.dll"),
                ["shared/Microsoft.NETCore.App/10.0.3/libhostpolicy.so"] = Path.Combine(_dotnetRoot, "shared/Microsoft.NETCore.App/10.0.3/libhostpolicy.so"),
            },
            Files(task));
        Assert.Equal(new Dictionary<string, string> { ["Microsoft.NETCore.App"] = "10.0.3" }, Frameworks(task));
    }

    [Fact]
    public void AspNetCore_comes_along_only_when_the_app_names_it()
    {
        var task = Task(WithAspNetCore);
        AssertSucceeds(task);

        Assert.Contains("shared/Microsoft.AspNetCore.App/10.0.3/y.dll", Files(task).Keys);
        Assert.Contains("shared/Microsoft.NETCore.App/10.0.3/x.dll", Files(task).Keys);
        Assert.Equal(new Dictionary<string, string> { ["Microsoft.NETCore.App"] = "10.0.3", ["Microsoft.AspNetCore.App"] = "10.0.3" }, Frameworks(task));
    }

    [Fact]
    public void A_framework_missing_from_the_dotnet_root_fails_with_1012()
    {
        var task = Task(""" "framework": { "name": "Microsoft.WindowsDesktop.App", "version": "10.0.0" } """);
        Assert.False(task.Execute());
        Assert.Equal(["RELCRAFT1012"], _engine.ErrorCodes);
    }

    [Fact]
    public void A_framework_newer_than_installed_fails_with_1012()
    {
        var task = Task(""" "framework": { "name": "Microsoft.NETCore.App", "version": "10.0.7" } """);
        Assert.False(task.Execute());
        Assert.Equal(["RELCRAFT1012"], _engine.ErrorCodes);
    }

    [Fact]
    public void IncludeRuntime_false_bundles_nothing_and_uses_the_system_dotnet()
    {
        var task = Task(includeRuntime: "false");
        AssertSucceeds(task);

        Assert.Empty(task.RuntimeFiles);
        Assert.Equal("system", task.LaunchMode);
        Assert.Equal(["Microsoft.NETCore.App"], task.Frameworks.Select(f => f.ItemSpec));
    }

    [Fact]
    public void IncludeRuntime_as_a_path_bundles_that_dotnet_root()
    {
        var other = _dir.Combine("other-dotnet");
        Touch("other-dotnet/dotnet");
        Touch("other-dotnet/host/fxr/10.0.5/libhostfxr.so");
        Touch("other-dotnet/shared/Microsoft.NETCore.App/10.0.5/z.dll");

        var task = Task(includeRuntime: other + "/");
        AssertSucceeds(task);

        Assert.Equal("bundled", task.LaunchMode);
        Assert.Equal(["dotnet", "host/fxr/10.0.5/libhostfxr.so", "shared/Microsoft.NETCore.App/10.0.5/z.dll"], Files(task).Keys.Order(StringComparer.Ordinal));
        Assert.All(task.RuntimeFiles, f => Assert.StartsWith(other, f.ItemSpec));
    }

    /// <summary>A small extracted package like the SDK's runtime packs: nuspec, the files, and the metadata ResolvedRuntimePack carries.</summary>
    private ITaskItem RuntimePack(string framework, string rid, string version, params string[] files)
    {
        var id = $"{framework}.Runtime.{rid}";
        var packDir = _dir.Combine("packs", id.ToLowerInvariant(), version);
        foreach (var f in files) Touch(Path.GetRelativePath(_dir.Path, Path.Combine(packDir, f)));
        _dir.Write(Path.GetRelativePath(_dir.Path, Path.Combine(packDir, $"{id.ToLowerInvariant()}.nuspec")), Nuspec(id, version));
        return new TaskItem(id, new Dictionary<string, string>
        {
            ["FrameworkName"] = framework,
            ["PackageDirectory"] = packDir,
            ["NuGetPackageId"] = id,
            ["NuGetPackageVersion"] = version,
        });
    }

    private static string Nuspec(string id, string version) => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
          <metadata><id>{id}</id><version>{version}</version><authors>test</authors><description>test</description></metadata>
        </package>
        """;

    [Fact]
    public void Another_RID_takes_the_runtime_pack_and_starts_through_the_apphost()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "10.0.3",
            "runtimes/linux-arm64/native/libhostfxr.so",
            "runtimes/linux-arm64/native/libhostpolicy.so",
            "runtimes/linux-arm64/lib/net10.0/a.dll");
        var task = Task(rid: "linux-arm64", packs: pack);
        AssertSucceeds(task);

        Assert.Equal("apphost", task.LaunchMode);
        Assert.Equal(
            ["host/fxr/10.0.3/libhostfxr.so", "shared/Microsoft.NETCore.App/10.0.3/a.dll", "shared/Microsoft.NETCore.App/10.0.3/libhostpolicy.so"],
            Files(task).Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(task.RuntimeFiles, f => f.ItemSpec.StartsWith(_dotnetRoot, StringComparison.Ordinal));
        Assert.Equal(new Dictionary<string, string> { ["Microsoft.NETCore.App"] = "10.0.3" }, Frameworks(task));
    }

    [Fact]
    public void PreferRuntimePacks_takes_the_packs_even_for_the_machine_RID()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-x64", "10.0.3",
            "runtimes/linux-x64/native/libhostfxr.so",
            "runtimes/linux-x64/lib/net10.0/a.dll");
        var task = Task(packs: pack);
        task.PreferRuntimePacks = true;
        AssertSucceeds(task);

        Assert.Equal("apphost", task.LaunchMode);
        Assert.Equal(["host/fxr/10.0.3/libhostfxr.so", "shared/Microsoft.NETCore.App/10.0.3/a.dll"], Files(task).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Another_RID_without_a_runtime_pack_fails_with_1012()
    {
        var task = Task(rid: "linux-arm64");
        Assert.False(task.Execute());
        Assert.Equal(["RELCRAFT1012"], _engine.ErrorCodes);
    }

    [Fact]
    public void A_runtime_pack_for_another_framework_only_is_not_enough()
    {
        var asp = RuntimePack("Microsoft.AspNetCore.App", "linux-arm64", "10.0.3", "runtimes/linux-arm64/lib/net10.0/y.dll");
        FailsWith1012(asp);
    }

    [Fact]
    public void A_runtime_pack_without_the_RID_folder_fails_with_1012()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "10.0.3", "runtimes/linux-musl-arm64/lib/net10.0/a.dll");
        FailsWith1012(pack);
    }

    [Fact]
    public void An_app_without_a_runtimeconfig_fails_with_1005()
    {
        var task = Task();
        task.AppFiles = [task.AppFiles[0]];
        Assert.False(task.Execute());
        Assert.Equal(["RELCRAFT1005"], _engine.ErrorCodes);
    }

    [Fact]
    public void The_pack_version_comes_from_its_nuspec_not_its_folder_name()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "10.0.3",
            "runtimes/linux-arm64/native/libhostfxr.so",
            "runtimes/linux-arm64/lib/net10.0/a.dll");
        var moved = _dir.Combine("packs", "unpacked-by-hand");
        Directory.Move(pack.GetMetadata("PackageDirectory"), moved);
        pack.SetMetadata("PackageDirectory", moved + "/"); // a trailing separator, as MSBuild may pass it
        var task = Task(rid: "linux-arm64", packs: pack);
        AssertSucceeds(task);

        Assert.Equal(["host/fxr/10.0.3/libhostfxr.so", "shared/Microsoft.NETCore.App/10.0.3/a.dll"], Files(task).Keys.Order(StringComparer.Ordinal));
        Assert.All(task.RuntimeFiles, f => Assert.True(File.Exists(f.ItemSpec), f.ItemSpec));
        Assert.Equal(new Dictionary<string, string> { ["Microsoft.NETCore.App"] = "10.0.3" }, Frameworks(task));
    }

    [Fact]
    public void Only_the_lib_folder_nearest_the_apps_framework_is_taken()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "10.0.3",
            "runtimes/linux-arm64/native/libhostfxr.so",
            "runtimes/linux-arm64/lib/net9.0/old.dll",
            "runtimes/linux-arm64/lib/net10.0/a.dll",
            "runtimes/linux-arm64/lib/net11.0/new.dll");
        var task = Task(rid: "linux-arm64", packs: pack);
        AssertSucceeds(task);

        Assert.Equal(["host/fxr/10.0.3/libhostfxr.so", "shared/Microsoft.NETCore.App/10.0.3/a.dll"], Files(task).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_runtime_pack_for_a_newer_framework_only_fails_with_1012()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "11.0.0",
            "runtimes/linux-arm64/native/libhostfxr.so",
            "runtimes/linux-arm64/lib/net11.0/a.dll");
        Assert.Contains("net10.0", FailsWith1012(pack));
    }

    [Fact]
    public void A_pack_folder_without_a_nuspec_fails_with_1012()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "10.0.3", "runtimes/linux-arm64/lib/net10.0/a.dll");
        File.Delete(Path.Combine(pack.GetMetadata("PackageDirectory"), "microsoft.netcore.app.runtime.linux-arm64.nuspec"));
        FailsWith1012(pack);
    }

    [Fact]
    public void A_pack_folder_with_a_broken_nuspec_fails_with_1012()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "10.0.3", "runtimes/linux-arm64/lib/net10.0/a.dll");
        File.WriteAllText(Path.Combine(pack.GetMetadata("PackageDirectory"), "microsoft.netcore.app.runtime.linux-arm64.nuspec"), "<package><metadata><id>x");
        FailsWith1012(pack);
    }

    [Fact]
    public void A_pack_folder_holding_another_package_fails_with_1012()
    {
        var pack = RuntimePack("Microsoft.NETCore.App", "linux-arm64", "10.0.3", "runtimes/linux-arm64/lib/net10.0/a.dll");
        pack.SetMetadata("NuGetPackageId", "Microsoft.NETCore.App.Runtime.linux-x64");
        Assert.Contains("Microsoft.NETCore.App.Runtime.linux-x64", FailsWith1012(pack));
    }

    [Fact]
    public void HighestVersionDirectory_rolls_forward_within_the_major_only()
    {
        var parent = _dir.Combine("dotnet", "shared", "Microsoft.NETCore.App");
        Assert.Equal(Path.Combine(parent, "10.0.3"), ResolveReleaseRuntime.HighestVersionDirectory(parent, "10.0.0"));
        Assert.Equal(Path.Combine(parent, "10.0.3"), ResolveReleaseRuntime.HighestVersionDirectory(parent, "10.0.3"));
        Assert.Equal(Path.Combine(parent, "11.0.0"), ResolveReleaseRuntime.HighestVersionDirectory(parent, null));
        Assert.Null(ResolveReleaseRuntime.HighestVersionDirectory(parent, "9.0.0"));
        Assert.Null(ResolveReleaseRuntime.HighestVersionDirectory(_dir.Combine("nowhere"), "10.0.0"));
    }
}
