using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using NuGet.Frameworks;
using NuGet.Packaging.Core;
using NuGet.Versioning;

namespace Relcraft.Sdk.Tasks;

/// <summary>
/// Compute step: which runtime files go into runtime/ and how the launcher starts the app.
/// Same RID as the build machine: the installed dotnet root (muxer, hostfxr, only the shared
/// frameworks the app's runtimeconfig names). Another RID: the runtime packs the SDK
/// restored for it, read as the NuGet packages they are (<see cref="RuntimePack"/>) — they
/// carry hostfxr and the frameworks but no muxer, so the app's
/// apphost (built with AppHostRelativeDotNet) starts it. IncludeRuntime=false: nothing.
/// </summary>
public sealed class ResolveReleaseRuntime : RelcraftTask
{
    [Required] public ITaskItem Release { get; set; } = null!;
    /// <summary>The app's publish output (RelativePath metadata) and its entry assembly file name.</summary>
    [Required] public ITaskItem[] AppFiles { get; set; } = [];
    [Required] public string EntryAssembly { get; set; } = "";
    /// <summary>The RID of the machine (and dotnet) running this build.</summary>
    [Required] public string SdkRuntimeIdentifier { get; set; } = "";
    /// <summary>The dotnet root running this build.</summary>
    [Required] public string NetCoreRoot { get; set; } = "";
    /// <summary>Take the runtime from the runtime packs even for the build machine's RID (how tests exercise the cross-RID layout here).</summary>
    public bool PreferRuntimePacks { get; set; }
    /// <summary>@(ResolvedRuntimePack) from the .NET SDK.</summary>
    public ITaskItem[] RuntimePacks { get; set; } = [];

    [Output] public ITaskItem[] RuntimeFiles { get; private set; } = [];
    [Output] public ITaskItem[] Frameworks { get; private set; } = [];
    [Output] public string LaunchMode { get; private set; } = "";

    private readonly List<ITaskItem> _files = [];

    public override bool Execute()
    {
        var appRuntimeConfig = AppLayout.RuntimeConfig(AppFiles, EntryAssembly)?.ItemSpec;
        if (appRuntimeConfig is null || !File.Exists(appRuntimeConfig))
        {
            Error("ProjectNotExecutable", Release.ItemSpec, Release.GetMetadata("Project") is { Length: > 0 } p ? p : ProjectFile ?? "");
            return false;
        }
        var required = RuntimeConfig.Frameworks(appRuntimeConfig).ToList();
        if (!required.Any(f => f.Name == "Microsoft.NETCore.App"))
            required.Insert(0, new RuntimeConfig.Framework("Microsoft.NETCore.App", required.FirstOrDefault()?.Version ?? "8.0.0"));

        var include = Release.GetMetadata("IncludeRuntime");
        var rid = Release.GetMetadata("RuntimeIdentifier");
        if (include == "false")
        {
            LaunchMode = "system";
            Frameworks = required.Select(f => Fx(f.Name, f.Version)).ToArray();
            return true;
        }

        var root = include == "true" ? NetCoreRoot : include;
        var sameRid = string.Equals(rid, SdkRuntimeIdentifier, StringComparison.OrdinalIgnoreCase);
        var frameworks = new List<ITaskItem>();
        if ((sameRid && !PreferRuntimePacks) || include != "true")
        {
            LaunchMode = "bundled";
            // An installed dotnet root is no package (no nuspec; host/fxr and shared/NAME/VERSION folders
            // side by side), so it is read as folders, picking versions the way hostfxr rolls forward.
            var muxer = Path.Combine(root, rid.StartsWith("win", StringComparison.OrdinalIgnoreCase) ? "dotnet.exe" : "dotnet");
            var fxr = HighestVersionDirectory(Path.Combine(root, "host", "fxr"), null);
            if (!File.Exists(muxer) || fxr is null) { Error("NoRuntimePack", "dotnet host", rid, $"{root} has no dotnet muxer or host/fxr."); return false; }
            Add(muxer, Path.GetFileName(muxer));
            AddTree(fxr, $"host/fxr/{Path.GetFileName(fxr)}");
            foreach (var fx in required)
            {
                var dir = HighestVersionDirectory(Path.Combine(root, "shared", fx.Name), fx.Version);
                if (dir is null) { Error("NoRuntimePack", fx.Name, rid, $"{root} has no shared/{fx.Name} version {fx.Version} or a later patch."); return false; }
                AddTree(dir, $"shared/{fx.Name}/{Path.GetFileName(dir)}");
                frameworks.Add(Fx(fx.Name, Path.GetFileName(dir)));
            }
        }
        else
        {
            LaunchMode = "apphost";
            var appFramework = AppFramework(required);
            var hostfxrAdded = false;
            foreach (var fx in required)
            {
                var item = RuntimePacks.FirstOrDefault(p => p.GetMetadata("FrameworkName") == fx.Name && Directory.Exists(p.GetMetadata("PackageDirectory")));
                if (item is null) { Error("NoRuntimePack", fx.Name, rid, "the .NET SDK resolved no runtime pack for it (is ReleaseReadyToRun off, or the RID unknown?)."); return false; }
                var pack = RuntimePack.Read(item.GetMetadata("PackageDirectory"), rid, appFramework, ExpectedIdentity(item), out var problem);
                if (pack is null) { Error("NoRuntimePack", fx.Name, rid, problem); return false; }
                foreach (var file in pack.ManagedFiles)
                    Add(file, $"shared/{fx.Name}/{pack.Version}/{Path.GetFileName(file)}");
                foreach (var file in pack.NativeFiles)
                {
                    var name = Path.GetFileName(file);
                    if (name.StartsWith("libhostfxr", StringComparison.Ordinal) || name == "hostfxr.dll")
                    {
                        if (!hostfxrAdded) Add(file, $"host/fxr/{pack.Version}/{name}");
                        hostfxrAdded = true;
                        continue;
                    }
                    Add(file, $"shared/{fx.Name}/{pack.Version}/{name}");
                }
                frameworks.Add(Fx(fx.Name, pack.Version));
            }
        }
        RuntimeFiles = _files.ToArray();
        Frameworks = frameworks.ToArray();
        return !Log.HasLoggedErrors;
    }

    /// <summary>The TFM the app was built for, from the Microsoft.NETCore.App version it runs on (10.0.x: net10.0).</summary>
    private static NuGetFramework AppFramework(IEnumerable<RuntimeConfig.Framework> required)
    {
        var netCore = required.First(f => f.Name == "Microsoft.NETCore.App");
        var version = NuGetVersion.TryParse(netCore.Version, out var v) ? v : new NuGetVersion(8, 0, 0);
        return new NuGetFramework(FrameworkConstants.FrameworkIdentifiers.NetCoreApp, new Version(version.Major, version.Minor));
    }

    /// <summary>The package the SDK says is in PackageDirectory (null parts when it did not say).</summary>
    private static PackageIdentity? ExpectedIdentity(ITaskItem pack)
    {
        var id = pack.GetMetadata("NuGetPackageId");
        if (id.Length == 0) return null;
        return new PackageIdentity(id, NuGetVersion.TryParse(pack.GetMetadata("NuGetPackageVersion"), out var version) ? version : null);
    }

    private static ITaskItem Fx(string name, string version)
    {
        var item = new TaskItem(name);
        item.SetMetadata("Version", version);
        return item;
    }

    private void Add(string source, string relativePath)
    {
        var item = new TaskItem(source);
        item.SetMetadata("RelativePath", relativePath);
        _files.Add(item);
    }

    private void AddTree(string directory, string prefix)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            Add(file, $"{prefix}/{Path.GetRelativePath(directory, file).Replace('\\', '/')}");
    }

    /// <summary>The highest version folder with the same major as <paramref name="minimum"/> and not below it (the runtime's own roll-forward to the latest patch).</summary>
    internal static string? HighestVersionDirectory(string parent, string? minimum)
    {
        if (!Directory.Exists(parent)) return null;
        NuGetVersion? floor = minimum is null ? null : NuGetVersion.TryParse(minimum, out var m) ? m : null;
        return Directory.EnumerateDirectories(parent)
            .Select(d => (Dir: d, Version: NuGetVersion.TryParse(Path.GetFileName(d), out var v) ? v : null))
            .Where(x => x.Version is not null && (floor is null || (x.Version.Major == floor.Major && x.Version >= floor)))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Dir)
            .FirstOrDefault();
    }
}
