using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// Boot configuration of a Generic Host app (<see cref="BootConfigFixture"/>): releases/VSN/runtime.json
/// resolved before Main into the host's IConfiguration, and a ReleaseConfigProvider from Relcraft.Runtime.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class BootConfigTests(BootConfigFixture fixture) : IClassFixture<BootConfigFixture>, IDisposable
{
    private const string MainMarker = "CFG-MAIN-RAN";
    private InstalledRelease Release => fixture.Release;

    public void Dispose()
    {
        Release.StopEverything();
        if (Directory.Exists(Release.Tmp)) Directory.Delete(Release.Tmp, recursive: true);
    }

    /// <summary>The operator's environment for one run: PORT, GREETING and App__Greeting unset unless given.</summary>
    private static Dictionary<string, string?> Env(params (string Name, string? Value)[] values)
    {
        var env = new Dictionary<string, string?> { ["PORT"] = null, ["GREETING"] = null, ["App__Greeting"] = null, ["App__Port"] = null };
        foreach (var (name, value) in values) env[name] = value;
        return env;
    }

    /// <summary>`start once`: the app prints config:KEY=VALUE as its host's IConfiguration has them, and exits.</summary>
    private Dictionary<string, string> StartOnce(Dictionary<string, string?> env)
    {
        var result = Release.Run(env, "start", "once").ShouldSucceed();
        Assert.Contains(MainMarker, result.StdOut);
        return ProbeOutput.Parse(result.StdOut);
    }

    [Fact]
    public void RuntimeJson_IsInTheRelease()
    {
        var path = Path.Combine(Release.Root, "releases", BootConfigFixture.Version, "runtime.json");
        Assert.Equal(BootConfigFixture.RuntimeJson, File.ReadAllText(path).Trim());
    }

    [Fact]
    public void RequiredVariableUnset_StopsTheBootBeforeMain_WithItsMessage()
    {
        var result = Release.Run(Env(), "start", "once").ShouldFail(1);
        Assert.Contains($"ERROR: releases/{BootConfigFixture.Version}/runtime.json: PORT: set PORT to the TCP port", result.StdErr);
        Assert.DoesNotContain(MainMarker, result.Output);
        Assert.DoesNotContain("   at ", result.Output);
    }

    [Fact]
    public void RequiredVariableUnset_DaemonFailsWithTheMessageInTheLogTail()
    {
        var result = Release.Run(Env(), "daemon").ShouldFail(1);
        Assert.Contains("PORT: set PORT to the TCP port", result.StdErr);
        Assert.DoesNotContain(MainMarker, Release.Log());
        Release.Run("status").ShouldFail(3);
    }

    [Fact]
    public void Default_Applies()
    {
        var config = StartOnce(Env(("PORT", "4711")));
        Assert.Equal("4711", config["config:App:Port"]);
        Assert.Equal("hello", config["config:App:Greeting"]);
    }

    [Fact]
    public void VariableReferencedByRuntimeJson_OverridesTheDefault()
    {
        var config = StartOnce(Env(("PORT", "4711"), ("GREETING", "hi")));
        Assert.Equal("hi", config["config:App:Greeting"]);
    }

    [Fact]
    public void RealEnvironmentVariable_WinsOverRuntimeJson()
    {
        var config = StartOnce(Env(("PORT", "4711"), ("GREETING", "hi"), ("App__Greeting", "x")));
        Assert.Equal("x", config["config:App:Greeting"]);
        Assert.Equal("4711", config["config:App:Port"]);
    }

    [Fact]
    public void ConfigProvider_AddsKeys_HavingSeenRuntimeJsonsValues()
    {
        var config = StartOnce(Env(("PORT", "4711"), ("GREETING", "hi")));
        Assert.Equal("yes", config["config:App:FromProvider"]);
        Assert.Equal("hi", config["config:App:ProviderSawGreeting"]);
    }

    [Fact]
    public void RunningDaemon_SeesTheConfigurationThroughItsHost()
    {
        var env = Env(("PORT", "4712"));
        Release.Run(env, "daemon").ShouldSucceed();
        string Rpc(string expression) => Release.Run(env, "rpc", expression).ShouldSucceed().StdOut.TrimEnd('\n');

        Assert.Equal("hello", Rpc("Cfg.Svc.Live.Configuration[\"App:Greeting\"]"));
        Assert.Equal("4712", Rpc("Cfg.Svc.Live.Configuration[\"App:Port\"]"));
        Assert.Equal("yes", Rpc("Cfg.Svc.Live.Configuration[\"App:FromProvider\"]"));
        Assert.Equal("hello", Rpc("Environment.GetEnvironmentVariable(\"App__Greeting\")"));

        Release.Run("stop").ShouldSucceed();
    }
}
