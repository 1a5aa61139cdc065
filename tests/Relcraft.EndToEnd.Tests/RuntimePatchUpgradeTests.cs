using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// "Rt.Worker" (`dotnet new worker`, unchanged) released twice against different Microsoft.NETCore.App patches,
/// taken from the runtime packs (-p:ReleaseRuntimeFromPacks=true -p:RuntimeFrameworkVersion=…, both served here):
/// 1.0.0 on <see cref="Patch1"/> in bin/rel/rt-worker, 2.0.0 on <see cref="Patch2"/> as a tarball under v2/.
/// </summary>
public sealed class RuntimePatchFixture : IDisposable
{
    public const string Name = "rt-worker";
    public const string Patch1 = "10.0.13";
    public const string Patch2 = "10.0.14";

    public TestApp App { get; }
    public string TarballV2 { get; }

    public RuntimePatchFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "worker", "Rt.Worker", app =>
        {
            app.SetProjectXml($"""
                <ItemGroup>
                  <Release Include="{Name}" />
                </ItemGroup>
                """);
            app.Publish(Name, "-p:Version=1.0.0", "-p:ReleaseRuntimeFromPacks=true", $"-p:RuntimeFrameworkVersion={Patch1}").ShouldSucceed();
            app.Publish(Name, "-p:Version=2.0.0", "-p:ReleaseRuntimeFromPacks=true", $"-p:RuntimeFrameworkVersion={Patch2}",
                "-p:ReleaseSteps=assemble%3Btar", $"-p:ReleasePath={Path.Combine(app.Root, "v2", Name)}").ShouldSucceed();
        });
        TarballV2 = Path.Combine(App.Root, "v2", $"{Name}-2.0.0.tar.gz");
        Assert.True(File.Exists(TarballV2), $"the 2.0.0 build wrote no {TarballV2}");
    }

    public void Dispose() => App.Dispose();
}

/// <summary>Two versions built on different runtime patches: after upgrade and downgrade each runs on its own, installed side by side.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class RuntimePatchUpgradeTests(RuntimePatchFixture fixture) : IClassFixture<RuntimePatchFixture>, IDisposable
{
    private InstalledRelease Release { get; } = fixture.App.Release(RuntimePatchFixture.Name);

    public void Dispose()
    {
        if (Processes.ReadPidFile(Path.Combine(Release.Tmp, $"{RuntimePatchFixture.Name}.supervisor.pid"))?.Pid is int supervisor) Processes.Stop(supervisor);
        Release.StopEverything();
    }

    private string Runtime() =>
        Release.Run("rpc", "System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription").ShouldSucceed().StdOut.Trim();

    private string[] Installed(string parent) =>
        Directory.GetDirectories(Path.Combine(Release.Root, parent)).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Each_version_runs_on_the_runtime_patch_it_was_built_with()
    {
        Release.Run("daemon").ShouldSucceed();
        Assert.Equal($".NET {RuntimePatchFixture.Patch1}", Runtime());

        var up = Release.Run("upgrade", fixture.TarballV2).ShouldSucceed();
        Assert.Contains($"{RuntimePatchFixture.Name} upgraded from 1.0.0 to 2.0.0", up.StdOut);
        Assert.Equal($".NET {RuntimePatchFixture.Patch2}", Runtime());
        // Side by side: the new version brought its runtime, the old one's stays for it.
        Assert.Equal([RuntimePatchFixture.Patch1, RuntimePatchFixture.Patch2], Installed("runtime/shared/Microsoft.NETCore.App"));
        Assert.Equal([RuntimePatchFixture.Patch1, RuntimePatchFixture.Patch2], Installed("runtime/host/fxr"));
        Release.Run("verify").ShouldSucceed();

        Release.Run("downgrade", "1.0.0").ShouldSucceed();
        Assert.Equal($".NET {RuntimePatchFixture.Patch1}", Runtime());
        Release.Run("verify").ShouldSucceed();
        Release.Run("stop").ShouldSucceed();
    }
}
