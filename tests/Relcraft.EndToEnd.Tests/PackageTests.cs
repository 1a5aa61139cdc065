using System.IO.Compression;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>The package itself, and the harness's promise that launcher runs cannot see the machine's .NET.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class PackageTests(PackedSdk sdk)
{
    /// <summary>Pinned: a file added to or dropped from the package must be a decision, made here too.</summary>
    private static readonly string[] ExpectedEntries =
    [
        "README.md",
        "Sdk/Sdk.props",
        "Sdk/Sdk.targets",
        "build/Relcraft.Publish.targets",
        "build/Relcraft.Sdk.props",
        "build/Relcraft.Sdk.targets",
        "tasks/net8.0/Microsoft.Extensions.FileSystemGlobbing.dll",
        // NuGet.Packaging and the part of its dependencies the runtime-pack reader loads (TaskLoadContextTests).
        "tasks/net8.0/NuGet.Common.dll",
        "tasks/net8.0/NuGet.Frameworks.dll",
        "tasks/net8.0/NuGet.Packaging.dll",
        "tasks/net8.0/NuGet.Versioning.dll",
        "tasks/net8.0/Relcraft.Sdk.deps.json",
        "tasks/net8.0/Relcraft.Sdk.dll",
        "templates/env.bat",
        "templates/env.sh",
        "templates/launcher.bat",
        "templates/launcher.sh",
        "templates/overlays.README.md",
        "templates/runtime.json",
        "tools/relcraft/any/Microsoft.CodeAnalysis.CSharp.Scripting.dll",
        "tools/relcraft/any/Microsoft.CodeAnalysis.CSharp.dll",
        "tools/relcraft/any/Microsoft.CodeAnalysis.Scripting.dll",
        "tools/relcraft/any/Microsoft.CodeAnalysis.dll",
        "tools/relcraft/any/Relcraft.Agent.dll",
        "tools/relcraft/any/Relcraft.Hosting.dll",
        "tools/relcraft/any/Relcraft.Launcher.deps.json",
        "tools/relcraft/any/Relcraft.Launcher.dll",
        "tools/relcraft/any/Relcraft.Launcher.runtimeconfig.json",
        "tools/relcraft/any/Relcraft.Scripting.deps.json",
        "tools/relcraft/any/Relcraft.Scripting.dll",
        "tools/relcraft/any/System.Collections.Immutable.dll",
        "tools/relcraft/any/System.Reflection.Metadata.dll",
        "tools/relcraft/net10.0-linux-arm64/Microsoft.CodeAnalysis.CSharp.Scripting.dll",
        "tools/relcraft/net10.0-linux-arm64/Microsoft.CodeAnalysis.CSharp.dll",
        "tools/relcraft/net10.0-linux-arm64/Microsoft.CodeAnalysis.Scripting.dll",
        "tools/relcraft/net10.0-linux-arm64/Microsoft.CodeAnalysis.dll",
        "tools/relcraft/net10.0-linux-arm64/Relcraft.Agent.dll",
        "tools/relcraft/net10.0-linux-arm64/Relcraft.Hosting.dll",
        "tools/relcraft/net10.0-linux-arm64/Relcraft.Launcher.deps.json",
        "tools/relcraft/net10.0-linux-arm64/Relcraft.Launcher.dll",
        "tools/relcraft/net10.0-linux-arm64/Relcraft.Launcher.runtimeconfig.json",
        "tools/relcraft/net10.0-linux-arm64/Relcraft.Scripting.deps.json",
        "tools/relcraft/net10.0-linux-arm64/Relcraft.Scripting.dll",
        "tools/relcraft/net10.0-linux-arm64/System.Collections.Immutable.dll",
        "tools/relcraft/net10.0-linux-arm64/System.Reflection.Metadata.dll",
        "tools/relcraft/net10.0-linux-x64/Microsoft.CodeAnalysis.CSharp.Scripting.dll",
        "tools/relcraft/net10.0-linux-x64/Microsoft.CodeAnalysis.CSharp.dll",
        "tools/relcraft/net10.0-linux-x64/Microsoft.CodeAnalysis.Scripting.dll",
        "tools/relcraft/net10.0-linux-x64/Microsoft.CodeAnalysis.dll",
        "tools/relcraft/net10.0-linux-x64/Relcraft.Agent.dll",
        "tools/relcraft/net10.0-linux-x64/Relcraft.Hosting.dll",
        "tools/relcraft/net10.0-linux-x64/Relcraft.Launcher.deps.json",
        "tools/relcraft/net10.0-linux-x64/Relcraft.Launcher.dll",
        "tools/relcraft/net10.0-linux-x64/Relcraft.Launcher.runtimeconfig.json",
        "tools/relcraft/net10.0-linux-x64/Relcraft.Scripting.deps.json",
        "tools/relcraft/net10.0-linux-x64/Relcraft.Scripting.dll",
        "tools/relcraft/net10.0-linux-x64/System.Collections.Immutable.dll",
        "tools/relcraft/net10.0-linux-x64/System.Reflection.Metadata.dll",
        "tools/relcraft/native/linux-arm64/relcraft",
        "tools/relcraft/native/linux-x64/relcraft",
    ];

    [Fact]
    public void Package_HoldsExactlyThePinnedFiles()
    {
        using var zip = ZipFile.OpenRead(sdk.PackagePath);
        var entries = zip.Entries.Select(e => e.FullName)
            .Where(n => !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal)
                        && n != "[Content_Types].xml" && !n.EndsWith(".nuspec", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        var missing = ExpectedEntries.Except(entries).ToList();
        var unexpected = entries.Except(ExpectedEntries).ToList();
        Assert.True(missing.Count == 0 && unexpected.Count == 0,
            $"package {Path.GetFileName(sdk.PackagePath)} differs from the pinned list\n" +
            $"missing:\n  {string.Join("\n  ", missing)}\nunexpected:\n  {string.Join("\n  ", unexpected)}");
    }

    [Fact]
    public void Package_IsAnMSBuildSdkWithTheRunsVersion()
    {
        using var zip = ZipFile.OpenRead(sdk.PackagePath);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var reader = new StreamReader(nuspec.Open());
        var text = reader.ReadToEnd();
        Assert.Contains($"<version>{sdk.Version}</version>", text);
        Assert.Contains("MSBuildSdk", text);
    }

    [Fact]
    public void Harness_HidesTheMachineDotnetFromLauncherRuns()
    {
        var probe = $"{InstalledRelease.MachineDotnetRoot}/dotnet";
        ProcessRunner.Run("test", ["-e", probe]).ShouldSucceed();
        var (file, args) = InstalledRelease.WithoutMachineDotnet("test", ["-e", probe]);
        ProcessRunner.Run(file, args).ShouldFail();
        (file, args) = InstalledRelease.WithoutMachineDotnet("sh", ["-c", "command -v dotnet && dotnet --version"]);
        ProcessRunner.Run(file, args).ShouldFail();
    }
}
