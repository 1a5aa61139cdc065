namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// "Ctl.App": the console app of Assets/Control plus a class library Ctl.Lib (Assets/ControlLib) that the
/// app only touches in Ctl.State.UseLib(). Release items ctl (published up front, default embedded mode)
/// and ctli (published on first use with -p:ReleaseMode=interactive); four hooks that append
/// "EVENT $RELEASE_COMMAND" to RELEASE_TMP/hooks.log (pre_start fails when CTL_FAIL_PRE_START is set);
/// custom commands hello (Expression), count (Rpc) and script (Script).
/// Short release names on purpose: the control socket's path must stay under 108 bytes.
/// </summary>
public sealed class ControlAppFixture : IDisposable
{
    public const string Name = "ctl";
    public const string InteractiveName = "ctli";
    public const string Version = "1.0.0";
    public const string HookLog = "hooks.log";

    public const string ProjectXml = """
          <ItemGroup>
            <ProjectReference Include="../lib/Ctl.Lib.csproj" />
            <Release Include="ctl" />
            <Release Include="ctli" />
            <ReleaseHook Include="hooks/pre.sh" Event="pre_start" />
            <ReleaseHook Include="hooks/post.sh" Event="post_start" />
            <ReleaseHook Include="hooks/pre_stop.sh" Event="pre_stop" />
            <ReleaseHook Include="hooks/post_stop.sh" Event="post_stop" />
            <ReleaseCommand Include="hello" Expression="Ctl.State.Hello(args[0])" />
            <ReleaseCommand Include="count" Rpc="Ctl.State.Counter" />
            <ReleaseCommand Include="script" Script="cmds/x.sh" />
          </ItemGroup>
        """;

    private readonly Lazy<InstalledRelease> _interactive;

    public TestApp App { get; }
    public InstalledRelease Release { get; }
    /// <summary>The ctli release (ReleaseMode=interactive), published the first time a test asks for it.</summary>
    public InstalledRelease Interactive => _interactive.Value;

    public ControlAppFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "console", "Ctl.App");
        try
        {
            ProcessRunner.Run("dotnet", ["new", "classlib", "-n", "Ctl.Lib", "-o", "lib"], App.Root).ShouldSucceed();
            File.Delete(Path.Combine(App.Root, "lib", "Class1.cs"));
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Assets", "ControlLib", "Greeter.cs"), Path.Combine(App.Root, "lib", "Greeter.cs"));
            App.CopyAsset("Control/Program.cs", "Program.cs");
            App.CopyAsset("Control/State.cs", "State.cs");
            foreach (var (file, evt) in new[] { ("pre", "pre_start"), ("post", "post_start"), ("pre_stop", "pre_stop"), ("post_stop", "post_stop") })
            {
                var fail = evt == "pre_start" ? "if [ -n \"${CTL_FAIL_PRE_START:-}\" ]; then echo 'pre.sh: refusing to start' >&2; exit 1; fi\n" : "";
                App.WriteFile($"hooks/{file}.sh", $"#!/bin/sh\nprintf '%s %s\\n' {evt} \"$RELEASE_COMMAND\" >>\"$RELEASE_TMP/{HookLog}\"\n{fail}");
            }
            App.WriteFile("cmds/x.sh", """
                #!/bin/sh
                printf 'script argc=%s args=%s|%s\n' "$#" "$1" "$2"
                printf 'root=%s\nname=%s\nvsn=%s\ncommand=%s\n' "$RELEASE_ROOT" "$RELEASE_NAME" "$RELEASE_VSN" "$RELEASE_COMMAND"
                """.Replace("\r", "") + "\n");
            App.SetProjectXml(ProjectXml);
            App.Publish(Name).ShouldSucceed();
            Release = App.Release(Name);
        }
        catch
        {
            App.Dispose(); // xunit does not dispose a fixture whose constructor threw
            throw;
        }
        _interactive = new Lazy<InstalledRelease>(() =>
        {
            App.Publish(InteractiveName, "-p:ReleaseMode=interactive").ShouldSucceed();
            return App.Release(InteractiveName);
        });
    }

    public void Dispose() => App.Dispose();
}

/// <summary>
/// "Cfg.Svc": `dotnet new worker` with Assets/BootConfig (Program.cs printing its configuration, Live.cs,
/// Provider.cs), referencing the packed Relcraft.Runtime, with a ReleaseConfigProvider and this
/// rel/runtime.json: {"App": {"Port": "${PORT:?set PORT to the TCP port}", "Greeting": "${GREETING:-hello}"}}.
/// </summary>
public sealed class BootConfigFixture : IDisposable
{
    public const string Name = "cfg-svc";
    public const string Version = "1.4.0";
    public const string RuntimeJson = """{"App": {"Port": "${PORT:?set PORT to the TCP port}", "Greeting": "${GREETING:-hello}"}}""";

    private readonly PackedSdk _sdk;

    public TestApp App { get; }
    public InstalledRelease Release { get; }

    public BootConfigFixture(PackedSdk sdk)
    {
        _sdk = sdk;
        App = TestApp.Create(sdk, "worker", "Cfg.Svc", app =>
        {
            app.CopyAsset("BootConfig/Program.cs", "Program.cs");
            app.CopyAsset("BootConfig/Live.cs", "Live.cs");
            app.CopyAsset("BootConfig/Provider.cs", "Provider.cs");
            app.WriteFile("rel/runtime.json", RuntimeJson + "\n");
            app.SetProjectXml($"""
                  <PropertyGroup>
                    <Version>{Version}</Version>
                  </PropertyGroup>
                  <ItemGroup>
                    {app.RuntimePackageReference}
                    <ReleaseConfigProvider Include="Cfg.Svc.Provider" />
                  </ItemGroup>
                """);
            app.Publish().ShouldSucceed();
        });
        Release = App.Release(Name);
    }

    public void Dispose()
    {
        App.Dispose();
        // Like PackedSdk does for Relcraft.Sdk: this run's Relcraft.Runtime is never used again.
        _sdk.ForgetCachedPackage("Relcraft.Runtime");
    }
}
