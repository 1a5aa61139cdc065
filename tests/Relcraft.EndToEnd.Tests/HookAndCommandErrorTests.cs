using System.Text.RegularExpressions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// Mistakes in ReleaseHook and ReleaseCommand items are build errors with their code. One publish
/// (<see cref="BadHooksAndCommandsFixture"/>) holds all of them; each test checks one.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class HookAndCommandErrorTests(BadHooksAndCommandsFixture fixture) : IClassFixture<BadHooksAndCommandsFixture>
{
    private RunResult Build => fixture.Result;

    [Fact]
    public void TheBuildFails_WithoutAStackTrace()
    {
        Assert.NotEqual(0, Build.ExitCode);
        Assert.DoesNotContain("MSB4018", Build.Output);
        var trace = Build.Output.Split('\n').FirstOrDefault(l => Regex.IsMatch(l, @"^\s+at \S+\(.*\)"));
        Assert.True(trace is null, $"stack trace in the output: {trace}\n{Build}");
    }

    [Fact]
    public void UnknownHookEvent_IsRELCRAFT1022() =>
        Assert.Matches(@"error RELCRAFT1022: ReleaseHook 'hooks/pre\.sh' has Event 'pre_begin'", Build.Output);

    [Fact]
    public void MissingHookScript_IsRELCRAFT1023() =>
        Assert.Matches(@"error RELCRAFT1023: ReleaseHook 'hooks/missing\.sh'", Build.Output);

    [Fact]
    public void CommandNamedLikeABuiltIn_IsRELCRAFT1024() =>
        Assert.Matches(@"error RELCRAFT1024: ReleaseCommand 'start' is invalid: it is a built-in command", Build.Output);

    [Fact]
    public void CommandWithTwoKinds_IsRELCRAFT1024() =>
        Assert.Matches(@"error RELCRAFT1024: ReleaseCommand 'both' is invalid: it has 2 of Expression, Rpc and Script", Build.Output);

    [Fact]
    public void CommandWithAMissingScript_IsRELCRAFT1024() =>
        Assert.Matches(@"error RELCRAFT1024: ReleaseCommand 'gone' is invalid: its Script 'cmds/gone\.sh' does not exist", Build.Output);

    [Fact]
    public void NoReleaseIsWritten() =>
        Assert.False(Directory.Exists(fixture.App.ReleaseDir(ScratchAppFixture.Name)), "a release was assembled despite the errors");
}

/// <summary>The probe console app with every ReleaseHook/ReleaseCommand mistake at once, published once.</summary>
public sealed class BadHooksAndCommandsFixture : IDisposable
{
    public TestApp App { get; }
    public RunResult Result { get; }

    public BadHooksAndCommandsFixture(PackedSdk sdk)
    {
        App = TestApp.Create(sdk, "console", "Scratch.App");
        try
        {
            App.CopyAsset("Probe/Program.cs", "Program.cs");
            App.WriteFile("hooks/pre.sh", "#!/bin/sh\nexit 0\n");
            App.SetProjectXml("""
                  <ItemGroup>
                    <ReleaseHook Include="hooks/pre.sh" Event="pre_begin" />
                    <ReleaseHook Include="hooks/missing.sh" Event="post_stop" />
                    <ReleaseCommand Include="start" Expression="1 + 1" />
                    <ReleaseCommand Include="both" Expression="1" Rpc="2" />
                    <ReleaseCommand Include="gone" Script="cmds/gone.sh" />
                  </ItemGroup>
                """);
            Result = App.Publish();
        }
        catch
        {
            App.Dispose();
            throw;
        }
    }

    public void Dispose() => App.Dispose();
}
