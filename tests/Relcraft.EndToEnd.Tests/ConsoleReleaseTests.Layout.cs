using System.Text.Json;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

public sealed partial class ConsoleReleaseTests
{
    [Fact]
    public void Publish_SaysWhatItAssembledAndWhere()
    {
        var output = _fixture.Published.Output;
        Assert.Contains($"* assembling {Name}-{Version} (linux-x64)", output);
        Assert.Contains("Release created at", output);
        Assert.Contains($"bin/rel/{Name}/bin/{Name} start", output);
    }

    [Fact]
    public void Layout_HasLauncherRuntimeAppAndTools()
    {
        var launcher = RelPath($"bin/{Name}");
        Assert.True(File.Exists(launcher), "bin/NAME is missing");
        Assert.Equal("0755", Files.Octal(Files.Mode(launcher)));
        Assert.StartsWith("#!/bin/sh\n", File.ReadAllText(launcher));

        Assert.True(File.Exists(RelPath("runtime/dotnet")), "runtime/dotnet is missing");
        Assert.True(File.Exists(Path.Combine(Files.SingleDirectory(RelPath("runtime/host/fxr")), "libhostfxr.so")));
        var netcore = Files.SingleDirectory(RelPath("runtime/shared/Microsoft.NETCore.App"));
        Assert.True(File.Exists(Path.Combine(netcore, "libcoreclr.so")));
        Assert.Equal(["Microsoft.NETCore.App"], Directory.GetDirectories(RelPath("runtime/shared")).Select(Path.GetFileName));

        Assert.True(File.Exists(RelPath($"lib/{Name}-{Version}/Probe.App.dll")), "the app is missing from lib/NAME-VSN/");
        Assert.True(File.Exists(RelPath($"lib/relcraft-{_sdk.Version}/Relcraft.Launcher.dll")), "the launcher tool is missing from lib/relcraft-VSN/");
    }

    [Fact]
    public void Cookie_IsPrivateAndLongEnough()
    {
        var cookie = RelPath("releases/COOKIE");
        Assert.Equal("0600", Files.Octal(Files.Mode(cookie)));
        Assert.True(File.ReadAllText(cookie).Trim().Length >= 32, "the cookie is shorter than 32 characters");
    }

    [Fact]
    public void StartData_NamesTheVersion() =>
        Assert.Equal(Version, File.ReadAllText(RelPath("releases/start.data")).Trim());

    [Fact]
    public void RuntimeConfig_InReleasesFolder_CarriesReleaseRuntimeOptions()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(RelPath($"releases/{Version}/{Name}.runtimeconfig.json")));
        var properties = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.Equal("from-runtimeconfig", properties.GetProperty("Relcraft.E2E.Marker").ToString());
        Assert.Equal("false", properties.GetProperty("System.GC.Concurrent").ToString().ToLowerInvariant());
        Assert.True(File.Exists(RelPath($"releases/{Version}/runtime.json")), "releases/VSN/runtime.json is missing");
    }

    [Fact]
    public void EnvSh_IsRenderedFromTheProjectsTemplate()
    {
        var envSh = File.ReadAllText(RelPath($"releases/{Version}/env.sh"));
        Assert.Contains("export FROM_ENV_SH=yes", envSh);
        Assert.Contains("FROM_RELEASE_ENV", envSh);
    }

    [Fact]
    public void Manifest_DescribesTheRelease()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(RelPath($"releases/{Version}/release.json")));
        var root = json.RootElement;
        Assert.Equal(Name, root.GetProperty("name").GetString());
        Assert.Equal(Version, root.GetProperty("version").GetString());
        Assert.Equal("linux-x64", root.GetProperty("rid").GetString());
        Assert.Equal($"lib/{Name}-{Version}/Probe.App.dll", root.GetProperty("entry").GetString());
        var framework = Assert.Single(root.GetProperty("frameworks").EnumerateArray());
        Assert.Equal("Microsoft.NETCore.App", framework.GetProperty("name").GetString());
        Assert.Equal(Path.GetFileName(Files.SingleDirectory(RelPath("runtime/shared/Microsoft.NETCore.App"))), framework.GetProperty("version").GetString());
    }

    [Fact]
    public void Manifest_ListsEveryFileWithItsSizeModeAndSha256()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(RelPath($"releases/{Version}/release.json")));
        var files = json.RootElement.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("path").GetString()!);

        // Everything on disk is listed, except the secret cookie and the manifest itself.
        var onDisk = Files.List(Root);
        onDisk.Remove("releases/COOKIE");
        onDisk.Remove($"releases/{Version}/release.json");
        Assert.Equal(onDisk, new SortedSet<string>(files.Keys, StringComparer.Ordinal));

        foreach (var (path, entry) in files)
        {
            Assert.Equal(new FileInfo(RelPath(path)).Length, entry.GetProperty("size").GetInt64());
            Assert.Equal(Files.Octal(Files.Mode(RelPath(path))), entry.GetProperty("mode").GetString());
        }
        foreach (var path in new[] { $"bin/{Name}", "runtime/dotnet", $"lib/{Name}-{Version}/Probe.App.dll", $"releases/{Version}/env.sh", $"releases/{Version}/{Name}.runtimeconfig.json" })
            Assert.Equal(Files.Sha256(RelPath(path)), files[path].GetProperty("sha256").GetString());
    }

    [Fact]
    public void WindowsLauncher_IsWrittenWithCrlfAndItsCommands()
    {
        var bat = File.ReadAllText(RelPath($"bin/{Name}.bat"));
        // A shim over the same C# launcher as bin/NAME: env.bat with the arguments, then every command to Relcraft.Launcher.
        Assert.Contains("call \"%RELEASE_ROOT%\\releases\\%RELEASE_VSN%\\env.bat\" %*", bat);
        Assert.Contains("exec \"%RELCRAFT_TOOLS_DIR%\\Relcraft.Launcher.dll\" %*", bat);
        Assert.DoesNotContain(":start", bat);
        Assert.DoesNotContain("\n", bat.Replace("\r\n", ""));
        Assert.True(File.Exists(RelPath($"releases/{Version}/env.bat")), "releases/VSN/env.bat is missing");
    }
}
