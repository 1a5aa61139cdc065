namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// "Up.Web": `dotnet new web` with Assets/Upgrade/Program.cs (a counter handed over as release state), released
/// as up-web with a tarball, twice from one project: 1.0.0 (state shape 1) in bin/rel/up-web, and 2.0.0 (shape 2,
/// -p:UpStateVersion=2) under v2/ beside the project, so the 1.0.0 release stays as it was built.
/// Each test installs a copy of the 1.0.0 release of its own (<see cref="Install"/>).
/// </summary>
public sealed class UpgradeFixture : IDisposable
{
    public const string Name = "up-web";
    public const string Other = "up-other";
    public const string V1 = "1.0.0";
    public const string V2 = "2.0.0";

    private readonly Lazy<string> _foreignTarball;

    public TestApp App { get; }
    /// <summary>bin/rel/up-web as built (1.0.0): copied, never run.</summary>
    public string BuiltV1 { get; }
    public string TarballV1 { get; }
    public string TarballV2 { get; }
    /// <summary>A tarball of another release (up-other 1.0.0), built on first use.</summary>
    public string ForeignTarball => _foreignTarball.Value;

    public UpgradeFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "web", "Up.Web", app =>
        {
            app.CopyAsset("Upgrade/Program.cs", "Program.cs");
            app.SetProjectXml($$"""
                <PropertyGroup>
                  <Version>{{V1}}</Version>
                  <UpStateVersion Condition="'$(UpStateVersion)' == ''">1</UpStateVersion>
                  <DefineConstants Condition="'$(UpStateVersion)' == '2'">$(DefineConstants);STATE_V2</DefineConstants>
                </PropertyGroup>
                <ItemGroup>
                  <Release Include="{{Name}}" Steps="assemble;tar" />
                  <Release Include="{{Other}}" Steps="assemble;tar" />
                  <ReleaseSocket Include="http" Listen="127.0.0.1:${PORT:?set PORT}" Kestrel="true" />
                  {{app.RuntimePackageReference}}
                </ItemGroup>
                """);
            app.Publish(Name).ShouldSucceed();
            app.Publish(Name, $"-p:Version={V2}", "-p:UpStateVersion=2", $"-p:ReleasePath={Path.Combine(app.Root, "v2", Name)}").ShouldSucceed();
        });
        BuiltV1 = App.ReleaseDir(Name);
        TarballV1 = Path.Combine(App.Dir, "bin", "rel", $"{Name}-{V1}.tar.gz");
        TarballV2 = Path.Combine(App.Root, "v2", $"{Name}-{V2}.tar.gz");
        foreach (var file in new[] { TarballV1, TarballV2, TarballV2 + ".sha256" })
            Assert.True(File.Exists(file), $"the fixture's build wrote no {file}");
        _foreignTarball = new Lazy<string>(() =>
        {
            App.Publish(Other, $"-p:ReleasePath={Path.Combine(App.Root, "other", Other)}").ShouldSucceed();
            return Path.Combine(App.Root, "other", $"{Other}-{V1}.tar.gz");
        });
    }

    private int _installs;

    /// <summary>A copy of the built 1.0.0 release in a folder of its own (deleted with the app).</summary>
    /// <remarks>
    /// Deep on purpose: tmp/control/NAME.supervisor.sock is then longer than sockaddr_un holds, which the launcher,
    /// the supervisor and Relcraft.Runtime's ReleaseState reach through /proc/self/fd (an app there once failed in Register).
    /// </remarks>
    public InstalledRelease Install()
    {
        var root = Path.Combine(App.Root, $"installed-copy-{Interlocked.Increment(ref _installs)}-{new string('x', 40)}", Name);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(Path.Combine(root, "tmp", "control", $"{Name}.supervisor.sock")) > 108,
            $"{root} is not deep enough to exercise long socket paths");
        Directory.CreateDirectory(Path.GetDirectoryName(root)!);
        ProcessRunner.Run("cp", ["-a", BuiltV1, root]).ShouldSucceed();
        return new InstalledRelease(root, Name);
    }

    public void Dispose() => App.Dispose();
}
