using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// The release of a console app (<see cref="ProbeReleaseFixture"/>): its layout (.Layout.cs), its launcher
/// (.Launcher.cs) and its tarball (.Tarball.cs). Every launcher run hides the machine's .NET.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ConsoleReleaseTests : IClassFixture<ProbeReleaseFixture>, IDisposable
{
    private const string Name = ProbeReleaseFixture.Name;
    private const string Version = ProbeReleaseFixture.Version;
    private readonly ProbeReleaseFixture _fixture;
    private readonly PackedSdk _sdk;
    private readonly List<InstalledRelease> _others = [];
    private readonly List<IDisposable> _cleanup = [];

    public ConsoleReleaseTests(ProbeReleaseFixture fixture, PackedSdk sdk)
    {
        _fixture = fixture;
        _sdk = sdk;
    }

    private InstalledRelease Release => _fixture.Release;
    private string Root => _fixture.Release.Root;
    private string RelPath(string relative) => Path.Combine(Root, relative);

    /// <summary>After every test, pass or fail: stop what it started, and leave tmp/ empty for the next one.</summary>
    public void Dispose()
    {
        foreach (var item in _cleanup) item.Dispose();
        Release.StopEverything();
        foreach (var other in _others) other.StopEverything();
        if (Directory.Exists(Release.Tmp)) Directory.Delete(Release.Tmp, recursive: true);
    }
}
