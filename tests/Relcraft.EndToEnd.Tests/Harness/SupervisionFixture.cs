namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// "Sup.Web": `dotnet new web` with Assets/Supervision/Program.cs and a runtime.json that needs PORT,
/// released twice from one project, each with a ReleaseSocket "http" (chosen by -p:Release):
/// sup-web listens on 127.0.0.1:${PORT:-4040}, sup-strict on 127.0.0.1:${PORT:?set PORT}.
/// The release "sup-bad" takes its Listen from -p:BadListen and is only ever built to fail.
/// </summary>
public sealed class SupervisionFixture : IDisposable
{
    public const string Web = "sup-web";
    public const string Strict = "sup-strict";
    public const string Bad = "sup-bad";
    public const string Version = "1.0.0";
    public const string RuntimeJson = """{"App": {"Port": "${PORT:?PORT must be set}"}}""";

    // Relcraft.Hosting hands Kestrel the supervisor's sockets; true would make the app opt in itself (UseSystemd),
    // which only a test that wants to tell the two apart needs.
    public const bool KestrelOptsInToSystemdSockets = false;
    private const string KestrelOptIn = "builder.WebHost.ConfigureKestrel(o => o.UseSystemd());";

    public const string ProjectXml = $$"""
          <PropertyGroup>
            <Version>{{Version}}</Version>
          </PropertyGroup>
          <ItemGroup>
            <Release Include="{{Web}}" />
            <Release Include="{{Strict}}" />
            <Release Include="{{Bad}}" />
          </ItemGroup>
          <ItemGroup Condition="'$(Release)' == '{{Web}}'">
            <ReleaseSocket Include="http" Listen="127.0.0.1:${PORT:-4040}" Kestrel="true" />
          </ItemGroup>
          <ItemGroup Condition="'$(Release)' == '{{Strict}}'">
            <ReleaseSocket Include="http" Listen="127.0.0.1:${PORT:?set PORT}" />
          </ItemGroup>
          <ItemGroup Condition="'$(Release)' == '{{Bad}}'">
            <ReleaseSocket Include="http" Listen="$(BadListen)" />
          </ItemGroup>
        """;

    public TestApp App { get; }
    public InstalledRelease WebRelease { get; }
    public InstalledRelease StrictRelease { get; }

    public SupervisionFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "web", "Sup.Web");
        try
        {
            var program = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Assets", "Supervision", "Program.cs"));
            Assert.Contains("/*SOCKETS*/", program);
            App.WriteFile("Program.cs", program.Replace("/*SOCKETS*/", KestrelOptsInToSystemdSockets ? KestrelOptIn : ""));
            App.WriteFile("rel/runtime.json", RuntimeJson + "\n");
            App.SetProjectXml(ProjectXml);
            App.Publish(Web).ShouldSucceed();
            App.Publish(Strict).ShouldSucceed();
            WebRelease = App.Release(Web);
            StrictRelease = App.Release(Strict);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose() => App.Dispose();
}
