namespace Relcraft.EndToEnd.Tests.Harness;

// Published apps shared by the tests of one class (publishing takes 5–20 s each).
// A fixture that cannot publish fails every test of its class with the build output.

/// <summary>
/// "Probe.App": the console app of Assets/Probe, released as probe-app 1.2.3 with a tarball, Windows
/// launchers, an env.sh template, a ReleaseEnv default and two runtime options.
/// </summary>
public sealed class ProbeReleaseFixture : IDisposable
{
    public const string Name = "probe-app";
    public const string Version = "1.2.3";

    public const string ProjectXml = """
          <PropertyGroup>
            <Version>1.2.3</Version>
            <ReleaseSteps>assemble;tar</ReleaseSteps>
            <ReleaseExecutablesFor>unix;windows</ReleaseExecutablesFor>
          </PropertyGroup>
          <ItemGroup>
            <ReleaseEnv Include="FROM_RELEASE_ENV" Value="from project" />
            <ReleaseRuntimeOption Include="Relcraft.E2E.Marker" Value="from-runtimeconfig" />
            <ReleaseRuntimeOption Include="System.GC.Concurrent" Value="false" />
          </ItemGroup>
        """;

    public TestApp App { get; }
    public RunResult Published { get; }
    public InstalledRelease Release { get; }

    public ProbeReleaseFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "console", "Probe.App");
        App.CopyAsset("Probe/Program.cs", "Program.cs");
        App.WriteFile("rel/env.sh.template", "# rendered by the end-to-end tests\nexport FROM_ENV_SH=yes\nexport ENV_SH_ARGS=\"$*\"\n");
        App.SetProjectXml(ProjectXml);
        Published = App.Publish().ShouldSucceed();
        Release = App.Release(Name);
    }

    public void Dispose() => App.Dispose();
}

/// <summary>`dotnet new web`, released as web-app.</summary>
public sealed class WebReleaseFixture : IDisposable
{
    public TestApp App { get; }
    public InstalledRelease Release { get; }

    public WebReleaseFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "web", "Web.App");
        App.Publish().ShouldSucceed();
        Release = App.Release("web-app");
    }

    public void Dispose() => App.Dispose();
}

/// <summary>`dotnet new worker` plus Assets/Worker/SlowStart.cs (a hosted service that takes 2 s to start), released as ticker-service.</summary>
public sealed class WorkerReleaseFixture : IDisposable
{
    public TestApp App { get; }
    public InstalledRelease Release { get; }

    public WorkerReleaseFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "worker", "Ticker.Service"); // not "Worker.*": the namespace would hide the template's Worker class
        App.CopyAsset("Worker/SlowStart.cs", "SlowStart.cs");
        var program = Path.Combine(App.Dir, "Program.cs");
        const string hosted = "builder.Services.AddHostedService<Worker>();";
        var text = File.ReadAllText(program);
        Assert.Contains(hosted, text);
        File.WriteAllText(program, text.Replace(hosted, hosted + "\nbuilder.Services.AddHostedService<SlowStart>();"));
        App.Publish().ShouldSucceed();
        Release = App.Release("ticker-service");
    }

    public void Dispose() => App.Dispose();
}

/// <summary>
/// "Scratch.App": the probe console app, not published up front; its tests rewrite the project
/// (<see cref="TestApp.SetProjectXml"/>) and publish it as they need.
/// </summary>
public sealed class ScratchAppFixture : IDisposable
{
    public const string Name = "scratch-app";
    public TestApp App { get; }

    public ScratchAppFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "console", "Scratch.App");
        App.CopyAsset("Probe/Program.cs", "Program.cs");
    }

    public void Dispose() => App.Dispose();
}

/// <summary>
/// "Arm64.Web": `dotnet new web` published with -r linux-arm64, released as arm64-web. Its launcher
/// runs from "/" (not the release root); each command may take 11 minutes, longer than the 600 s
/// the test gives the launcher's own timeouts, so a slow emulated .NET fails with the launcher's message.
/// </summary>
public sealed class Arm64WebReleaseFixture : IDisposable
{
    public const string Name = "arm64-web";

    public TestApp App { get; }
    public InstalledRelease Release { get; }

    public Arm64WebReleaseFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "web", "Arm64.Web");
        App.Publish("true", "-r", "linux-arm64").ShouldSucceed();
        Release = new InstalledRelease(App.ReleaseDir(Name), Name) { WorkingDirectory = "/", CommandTimeout = TimeSpan.FromMinutes(11) };
    }

    public void Dispose() => App.Dispose();
}
