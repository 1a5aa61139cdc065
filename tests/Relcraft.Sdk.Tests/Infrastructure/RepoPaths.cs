using System.Reflection;

namespace Relcraft.Sdk.Tests.Infrastructure;

/// <summary>Paths in the source tree, found from the test output folder (never hard-coded).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string SdkDirectory => Path.Combine(Root, "sdk");
    public static string Templates => Path.Combine(Root, "sdk", "templates");
    public static string StringsResx => Path.Combine(Root, "src", "Relcraft.Sdk", "Strings.resx");
    public static string SdkSources => Path.Combine(Root, "src", "Relcraft.Sdk");

    /// <summary>The task assembly under test: the copy built next to this test assembly.</summary>
    public static string TasksAssembly => Path.Combine(AppContext.BaseDirectory, "Relcraft.Sdk.dll");

    /// <summary>Relcraft.Sdk's own output folder: what tasks/net8.0/ in the package holds (the assembly, its deps.json, its dependencies).</summary>
    public static string TasksDirectory => BuildMetadata("TasksDirectory");

    /// <summary>The extracted Microsoft.NETCore.App.Runtime.linux-arm64 package the test project's restore downloads.</summary>
    public static string RuntimePackLinuxArm64 => BuildMetadata("RuntimePackLinuxArm64");

    private static string BuildMetadata(string key) =>
        typeof(RepoPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"the test assembly has no {key} metadata");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Relcraft.Sdk.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Relcraft.Sdk.sln above {AppContext.BaseDirectory}.");
    }
}
