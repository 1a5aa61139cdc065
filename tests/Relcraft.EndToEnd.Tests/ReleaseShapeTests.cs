using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// Promises of the README that only an end-to-end run can keep: an app that disables startup hooks,
/// log rotation bounding a real daemon's logs, and a release whose app is another project.
/// On the probe console app (<see cref="ScratchAppFixture"/>), rewritten and published per test.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ReleaseShapeTests(ScratchAppFixture fixture) : IClassFixture<ScratchAppFixture>, IDisposable
{
    private const string Name = ScratchAppFixture.Name;
    private readonly List<InstalledRelease> _started = [];

    private TestApp App => fixture.App;

    public void Dispose()
    {
        foreach (var release in _started) release.StopEverything();
    }

    private InstalledRelease Publish(string release, string path, params string[] xml)
    {
        App.SetProjectXml(xml);
        App.Publish(release, $"-p:ReleasePath={path}/").ShouldSucceed();
        var installed = new InstalledRelease(path, release == "true" ? Name : release);
        _started.Add(installed);
        return installed;
    }

    [Fact]
    public void StartupHooksDisabled_DaemonStillWorks_AndAgentCommandsSaySoAtOnce()
    {
        var release = Publish("true", Path.Combine(App.Dir, "bin", "rel-nohooks", Name),
            "<PropertyGroup><StartupHookSupport>false</StartupHookSupport></PropertyGroup>");

        // Readiness falls back to "still alive after the grace period".
        release.Run("daemon").ShouldSucceed();
        var pid = release.Pid();
        Assert.True(pid is not null && Processes.IsAlive(pid.Value), release.Log());
        Assert.Contains("serving", release.Log());

        foreach (var command in new[] { new[] { "rpc", "1 + 1" }, ["remote"], ["eval", "1 + 1"], ["ping"] })
        {
            var result = release.Run(command);
            Assert.True(result.ExitCode == 1, $"{command[0]}: exit {result.ExitCode}, expected 1\n{result.Output}");
            var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("disables startup hooks", line);
            Assert.DoesNotContain("   at ", result.Output);
        }
        // console refuses before it starts anything: the daemon is still the only one running.
        var console = release.Run("console");
        Assert.Equal(1, console.ExitCode);
        Assert.Contains("disables startup hooks", console.StdErr);
        Assert.True(Processes.IsAlive(pid!.Value));

        release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid.Value));
    }

    [Fact]
    public void LogRotation_BoundsARunningDaemonsLogs()
    {
        var release = Publish("true", Path.Combine(App.Dir, "bin", "rel-logs", Name));
        const int maxBytes = 100_000;
        var env = new Dictionary<string, string?> { ["RELEASE_LOG_MAX_BYTES"] = $"{maxBytes}", ["RELEASE_LOG_FILES"] = "3" };
        // 8 000 lines of 100 bytes: 800 kB through a log of at most 3 × 100 kB.
        release.Run(env, "daemon", "spam", "8000").ShouldSucceed();
        var pid = release.Pid();
        Assert.True(Poll.Until(() => release.Log().Contains("spam done"), TimeSpan.FromSeconds(60)), "the app never finished writing");

        var log = release.LogFile();
        Assert.True(File.Exists(log + ".1") && File.Exists(log + ".2"), "the log did not rotate");
        Assert.False(File.Exists(log + ".3"), "RELEASE_LOG_FILES=3 kept a fourth file");
        foreach (var file in new[] { log, log + ".1", log + ".2" })
            Assert.True(new FileInfo(file).Length <= maxBytes, $"{file} is {new FileInfo(file).Length} bytes, over {maxBytes}");
        // The newest lines are kept, the oldest dropped.
        Assert.Contains("7999 ", File.ReadAllText(log) + File.ReadAllText(log + ".1"));
        Assert.DoesNotContain($"{0,10} x", File.ReadAllText(log + ".2"));

        release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid!.Value));
    }

    [Fact]
    public void PublishDirectory_FilesOfLateTargetsAreIn_AndWhatAPublishNoLongerWritesIsGone()
    {
        App.WriteFile("notes/late.txt", "copied by a target of the user's\n");
        var path = Path.Combine(App.Dir, "bin", "rel-late", Name);
        var release = Publish("true", path, """
            <Target Name="CopyLateFile" AfterTargets="Publish">
              <Copy SourceFiles="notes/late.txt" DestinationFolder="$(PublishDir)extra/" />
            </Target>
            """);
        var late = Path.Combine(release.Root, "lib", $"{Name}-1.0.0", "extra", "late.txt");
        Assert.True(File.Exists(late), "a file a late publish target copied into the publish directory is not in the release");

        // The same project without that target: the file must not survive from the last publish.
        Publish("true", path);
        Assert.False(File.Exists(late), "a file only an earlier publish wrote is still in the release");
    }

    [Fact]
    public void ProjectRelease_PublishesAndRunsTheOtherExecutable()
    {
        var side = Path.Combine(App.Root, "side");
        if (!Directory.Exists(side))
        {
            ProcessRunner.Run("dotnet", ["new", "console", "-n", "Side.Tool", "-o", "side"], App.Root).ShouldSucceed();
            File.WriteAllText(Path.Combine(side, "Program.cs"),
                "Console.WriteLine($\"side tool {string.Join('|', args)} on {typeof(object).Assembly.Location}\");\n");
        }
        var release = Publish("side", Path.Combine(App.Dir, "bin", "rel-side", "side"),
            """<ItemGroup><Release Include="side" Project="../side/Side.Tool.csproj" /></ItemGroup>""");

        Assert.True(File.Exists(Path.Combine(release.Root, "lib", "side-1.0.0", "Side.Tool.dll")), "the other project's assembly is not the app");
        Assert.False(File.Exists(Path.Combine(release.Root, "lib", "side-1.0.0", $"{App.Name}.dll")), "this project's assembly leaked into the other's release");
        var output = release.Run("start", "a", "b c").ShouldSucceed().StdOut;
        Assert.Contains("side tool a|b c on " + Path.Combine(release.Root, "runtime", "shared", "Microsoft.NETCore.App"), output);
    }
}
