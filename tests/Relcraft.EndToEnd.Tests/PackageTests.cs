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

    [Theory]
    [InlineData("net10.0-linux-x64", System.Reflection.PortableExecutable.Machine.Amd64)]
    [InlineData("net10.0-linux-arm64", System.Reflection.PortableExecutable.Machine.Arm64)]
    public void Package_RoslynInTheNet10Flavours_IsItsNetStandard20Build_CompiledReadyToRunForTheRid(string flavour, System.Reflection.PortableExecutable.Machine machine)
    {
        using var zip = ZipFile.OpenRead(sdk.PackagePath);
        foreach (var name in new[] { "Microsoft.CodeAnalysis", "Microsoft.CodeAnalysis.CSharp", "Microsoft.CodeAnalysis.Scripting", "Microsoft.CodeAnalysis.CSharp.Scripting", "Relcraft.Scripting" })
        {
            using var copy = new MemoryStream();
            using (var entry = zip.GetEntry($"tools/relcraft/{flavour}/{name}.dll")!.Open()) entry.CopyTo(copy);
            copy.Position = 0;
            using var pe = new System.Reflection.PortableExecutable.PEReader(copy);
            // ReadyToRun: native code for the RID beside the IL (a ManagedNativeHeader), which eval and the rpc compile process run.
            Assert.True(pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, $"{flavour}/{name}.dll is not ReadyToRun");
            // crossgen2 marks a Linux image by XOR-ing the machine with 0x7B79, so a Windows loader refuses it.
            Assert.Equal((ushort)machine, (ushort)((ushort)pe.PEHeaders.CoffHeader.Machine ^ 0x7B79));
            if (name == "Relcraft.Scripting") continue;
            // The netstandard2.0 build (net10.0's keeps a collectible context alive after unloading it).
            var metadata = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
            var references = metadata.AssemblyReferences.Select(r => metadata.GetString(metadata.GetAssemblyReference(r).Name)).ToList();
            Assert.Contains("netstandard", references);
        }
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
