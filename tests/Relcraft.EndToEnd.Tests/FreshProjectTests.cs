using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>The very first publish of a project that has never been built (no bin/ folder yet).</summary>
[Collection(EndToEndCollection.Name)]
public sealed class FreshProjectTests(PackedSdk sdk)
{
    [Fact]
    public void FirstPublish_OfANeverBuiltProject_PutsTheReleaseInBinRel()
    {
        using var app = TestApp.Create(sdk, "console", "Fresh.App", createBinFolder: false);
        Assert.False(Directory.Exists(Path.Combine(app.Dir, "bin")));

        var result = app.Publish().ShouldSucceed();
        Assert.Contains("Release created at bin/rel/fresh-app", result.Output);
        var strays = Directory.GetDirectories(app.Dir).Select(Path.GetFileName).Where(n => n!.StartsWith("bin", StringComparison.Ordinal) && n != "bin").ToList();
        Assert.True(strays.Count == 0, $"the release went to a stray folder: {string.Join(", ", strays.Select(s => $"'{s}'"))}");
        Assert.True(File.Exists(Path.Combine(app.ReleaseDir("fresh-app"), "bin", "fresh-app")), "no bin/rel/fresh-app/bin/fresh-app after the first publish");
    }
}
