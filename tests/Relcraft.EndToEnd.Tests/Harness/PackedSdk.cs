namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>Every test class is in this one collection: the SDK is packed once per run, and tests run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<PackedSdk>
{
    public const string Name = "end-to-end";
}

/// <summary>
/// Packs Relcraft.Sdk from the repository exactly as it is packed for users, into a feed of its own,
/// with a version unique to this run: MSBuild's SDK resolver caches an SDK by version, so a fresh
/// version is what makes every run use the code under test (without a private NUGET_PACKAGES, which
/// would download the runtime packs again each time).
/// </summary>
public sealed class PackedSdk : IDisposable
{
    /// <summary>Folder holding Relcraft.Sdk.sln.</summary>
    public string RepoRoot { get; }
    /// <summary>Everything this run writes lives here: "…/relcraft e2e/run-…/" (the space is deliberate).</summary>
    public string WorkRoot { get; }
    public string Feed { get; }
    public string Version { get; }
    public string PackagePath { get; }

    public PackedSdk()
    {
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        RepoRoot = FindRepoRoot();
        Version = $"0.1.0-e2e.{stamp}";
        WorkRoot = Path.Combine(Path.GetTempPath(), "relcraft e2e", $"run-{stamp}");
        Feed = Path.Combine(WorkRoot, "feed");
        Directory.CreateDirectory(Feed);

        PackagePath = Path.Combine(Feed, $"Relcraft.Sdk.{Version}.nupkg");
        try
        {
            ProcessRunner.Run("dotnet", ["pack", "-c", "Release", "-o", Feed, $"-p:Version={Version}"],
                RepoRoot, timeout: TimeSpan.FromMinutes(10)).ShouldSucceed();
            Assert.True(File.Exists(PackagePath), $"dotnet pack did not write {PackagePath}");
        }
        catch
        {
            Dispose(); // xunit does not dispose a fixture whose constructor threw
            throw;
        }
    }

    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Relcraft.Sdk.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Relcraft.Sdk.sln above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        Processes.StopAllMentioning(WorkRoot);
        try { Directory.Delete(WorkRoot, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        var parent = Path.GetDirectoryName(WorkRoot)!;
        if (Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any()) Directory.Delete(parent);
        // The package this run put in the global packages folder is never used again.
        ForgetCachedPackage("Relcraft.Sdk");
    }

    /// <summary>Deletes this run's version of package <paramref name="id"/> (packed with the SDK) from the global packages folder.</summary>
    public void ForgetCachedPackage(string id)
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Path.Combine(packages, id.ToLowerInvariant(), Version.ToLowerInvariant());
        try { if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true); } catch (IOException) { }
    }

    /// <summary>Fails the caller when the feed lacks the Relcraft.Runtime packed by this run.</summary>
    public void RequireRuntimePackage()
    {
        var path = Path.Combine(Feed, $"Relcraft.Runtime.{Version}.nupkg");
        Assert.True(File.Exists(path),
            $"the feed packed by PackedSdk has no {Path.GetFileName(path)} (it holds: {string.Join(", ", Directory.GetFiles(Feed).Select(Path.GetFileName))})");
    }
}
