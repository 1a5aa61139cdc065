using System.Reflection.PortableExecutable;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>ReleaseMode: embedded (default: app assemblies loaded before Main, compiled ReadyToRun) and interactive (lazy).</summary>
public sealed partial class ControlChannelTests
{
    private const string LibLoaded = "AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == \"Ctl.Lib\")";

    [Fact]
    public void Embedded_LoadsADependencyTheAppHasNotTouched_BeforeDaemonReturns()
    {
        Daemon();
        Assert.Equal("True", RpcValue(LibLoaded));
        Assert.Equal("embedded", RpcValue("Environment.GetEnvironmentVariable(\"RELEASE_MODE\")"));
        Assert.Equal("greetings from Ctl.Lib to ctl", RpcValue("Ctl.State.UseLib()"));
    }

    [Fact]
    public void Interactive_RunsDaemonAndRpc_AndLoadsADependencyOnlyOnceUsed()
    {
        var release = fixture.Interactive;
        var pid = Daemon(release);
        // First, before any other rpc: a literal static call naming a type the agent cannot find among the
        // loaded assemblies (say Environment.X(…)) makes its fast path load every app assembly to look.
        Assert.Equal("False", RpcValue(LibLoaded, release));
        Assert.Equal("greetings from Ctl.Lib to ctl", RpcValue("Ctl.State.UseLib()", release));
        Assert.Equal("True", RpcValue(LibLoaded, release));

        Assert.Equal("pong\n", release.Run("ping").ShouldSucceed().StdOut);
        Assert.Equal($"{pid}", RpcValue("Ctl.State.MainPid", release));
        Assert.Equal("interactive", RpcValue("Environment.GetEnvironmentVariable(\"RELEASE_MODE\")", release));

        release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid));
    }

    [Fact]
    public void Embedded_AppIsCompiledReadyToRun_InteractiveIsNot()
    {
        Assert.True(IsReadyToRun(Path.Combine(Release.Root, "lib", $"{Name}-{ControlAppFixture.Version}", "Ctl.App.dll")), "the embedded release's app is not ReadyToRun");
        var interactive = fixture.Interactive;
        Assert.False(IsReadyToRun(Path.Combine(interactive.Root, "lib", $"{interactive.Name}-{ControlAppFixture.Version}", "Ctl.App.dll")),
            "the interactive release's app is ReadyToRun");
    }

    private static bool IsReadyToRun(string assembly)
    {
        Assert.True(File.Exists(assembly), $"missing {assembly}");
        using var pe = new PEReader(File.OpenRead(assembly));
        return pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }
}
