using System.Xml.Linq;
using Microsoft.Build.Utilities;
using NuGet.Frameworks;
using NuGet.Packaging.Core;
using NuGet.Versioning;
using Relcraft.Sdk.Tasks;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// The runtime pack a `-r linux-arm64` release takes its runtime from, read for real: the
/// Microsoft.NETCore.App.Runtime.linux-arm64 package this project's restore downloads.
/// </summary>
public sealed class RuntimePackTests
{
    private const string Rid = "linux-arm64";
    private static readonly string PackDirectory = RepoPaths.RuntimePackLinuxArm64;
    private static readonly NuGetFramework Net10 = NuGetFramework.Parse("net10.0");

    private static RuntimePack Read()
    {
        var pack = RuntimePack.Read(PackDirectory, Rid, Net10, expected: null, out var problem);
        Assert.True(pack is not null, problem);
        return pack!;
    }

    private static string PackagePath(string fullPath) => Path.GetRelativePath(PackDirectory, fullPath).Replace('\\', '/');

    [Fact]
    public void The_identity_is_the_nuspecs()
    {
        var pack = Read();
        Assert.Equal("Microsoft.NETCore.App.Runtime.linux-arm64", pack.Identity.Id);
        Assert.Equal(Path.GetFileName(Path.TrimEndingDirectorySeparator(PackDirectory)), pack.Version);
    }

    [Fact]
    public void The_files_are_what_the_packs_own_RuntimeList_names_plus_the_frameworks_json()
    {
        // data/RuntimeList.xml is the pack's list of its runtime files (the SDK reads it for self-contained
        // publishes); the reader must find the same files, and the framework's deps/runtimeconfig beside them.
        var listed = XDocument.Load(Path.Combine(PackDirectory, "data", "RuntimeList.xml")).Root!.Elements("File")
            .Select(f => (string)f.Attribute("Path")!).ToHashSet(StringComparer.Ordinal);
        var pack = Read();
        var read = pack.ManagedFiles.Concat(pack.NativeFiles).Select(PackagePath).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(listed.Except(read));
        Assert.Equal(
            ["runtimes/linux-arm64/lib/net10.0/Microsoft.NETCore.App.deps.json", "runtimes/linux-arm64/lib/net10.0/Microsoft.NETCore.App.runtimeconfig.json"],
            read.Except(listed).Order(StringComparer.Ordinal));
        Assert.Contains("runtimes/linux-arm64/native/libhostfxr.so", pack.NativeFiles.Select(PackagePath));
        Assert.Contains("runtimes/linux-arm64/lib/net10.0/System.Private.CoreLib.dll", pack.ManagedFiles.Select(PackagePath));
        Assert.All(pack.ManagedFiles.Concat(pack.NativeFiles), f => Assert.True(File.Exists(f), f));
    }

    [Fact]
    public void The_expected_identity_is_checked()
    {
        var version = NuGetVersion.Parse(Path.GetFileName(Path.TrimEndingDirectorySeparator(PackDirectory)));
        Assert.NotNull(RuntimePack.Read(PackDirectory, Rid, Net10, new PackageIdentity("microsoft.netcore.app.runtime.LINUX-ARM64", version), out _));
        Assert.Null(RuntimePack.Read(PackDirectory, Rid, Net10, new PackageIdentity("Microsoft.AspNetCore.App.Runtime.linux-arm64", version), out var problem));
        Assert.Contains("Microsoft.AspNetCore.App.Runtime.linux-arm64", problem);
    }

    [Fact]
    public void Another_RID_or_an_older_app_framework_is_not_in_it()
    {
        Assert.Null(RuntimePack.Read(PackDirectory, "linux-musl-arm64", Net10, expected: null, out var noRid));
        Assert.Contains("runtimes/linux-musl-arm64", noRid);
        Assert.Null(RuntimePack.Read(PackDirectory, Rid, NuGetFramework.Parse("net8.0"), expected: null, out var noTfm));
        Assert.Contains("net8.0", noTfm);
    }

    [Fact]
    public void ResolveReleaseRuntime_lays_the_pack_out_as_a_dotnet_root()
    {
        using var dir = new TempDirectory("real-pack");
        var engine = new FakeBuildEngine();
        var version = Path.GetFileName(Path.TrimEndingDirectorySeparator(PackDirectory));
        var task = new ResolveReleaseRuntime
        {
            BuildEngine = engine,
            Release = new TaskItem("kv", new Dictionary<string, string> { ["IncludeRuntime"] = "true", ["RuntimeIdentifier"] = Rid }),
            AppFiles =
            [
                new TaskItem(dir.Write("App.dll", "app"), new Dictionary<string, string> { ["RelativePath"] = "App.dll" }),
                new TaskItem(dir.Write("App.runtimeconfig.json", """{ "runtimeOptions": { "tfm": "net10.0", "framework": { "name": "Microsoft.NETCore.App", "version": "10.0.0" } } }"""),
                    new Dictionary<string, string> { ["RelativePath"] = "App.runtimeconfig.json" }),
            ],
            EntryAssembly = "App.dll",
            SdkRuntimeIdentifier = "linux-x64",
            NetCoreRoot = dir.Combine("no-dotnet-here"),
            RuntimePacks =
            [
                new TaskItem("Microsoft.NETCore.App.Runtime.linux-arm64", new Dictionary<string, string>
                {
                    ["FrameworkName"] = "Microsoft.NETCore.App",
                    ["PackageDirectory"] = PackDirectory,
                    ["NuGetPackageId"] = "Microsoft.NETCore.App.Runtime.linux-arm64",
                    ["NuGetPackageVersion"] = version,
                }),
            ],
        };
        Assert.True(task.Execute(), engine.Describe());

        Assert.Equal("apphost", task.LaunchMode);
        var files = task.RuntimeFiles.Select(f => f.GetMetadata("RelativePath")).ToList();
        Assert.Equal(files.Count, files.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal([$"host/fxr/{version}/libhostfxr.so"], files.Where(f => f.StartsWith("host/", StringComparison.Ordinal)));
        Assert.All(files.Where(f => !f.StartsWith("host/", StringComparison.Ordinal)), f => Assert.StartsWith($"shared/Microsoft.NETCore.App/{version}/", f));
        Assert.Contains($"shared/Microsoft.NETCore.App/{version}/libcoreclr.so", files);
        Assert.Contains($"shared/Microsoft.NETCore.App/{version}/libhostpolicy.so", files);
        Assert.Contains($"shared/Microsoft.NETCore.App/{version}/Microsoft.NETCore.App.deps.json", files);
        Assert.Equal(new[] { ("Microsoft.NETCore.App", version) }, task.Frameworks.Select(f => (f.ItemSpec, f.GetMetadata("Version"))));
    }
}
