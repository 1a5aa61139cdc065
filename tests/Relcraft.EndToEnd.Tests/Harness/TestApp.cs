using System.Text.RegularExpressions;

namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// A real project made with `dotnet new`, consuming the packed Relcraft.Sdk through a nuget.config
/// next to it, in a folder of its own under the run's "relcraft e2e" folder (deleted on dispose).
/// </summary>
public sealed class TestApp : IDisposable
{
    private readonly string _baseProject;

    /// <summary>This app's own folder; the project is in <see cref="Dir"/>, siblings may be added.</summary>
    public string Root { get; }
    public string Dir { get; }
    public string Name { get; }
    public string ProjectFile { get; }
    public PackedSdk Sdk { get; }

    /// <summary>
    /// <paramref name="template"/>: console, web, worker or classlib. <paramref name="name"/> is the project
    /// (and assembly) name; the release is named after it, lower-cased with '.' → '-'.
    /// </summary>
    public static TestApp Create(PackedSdk sdk, string template, string name, bool createBinFolder = true)
    {
        var root = Path.Combine(sdk.WorkRoot, $"{name.ToLowerInvariant()}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="feed" value="{sdk.Feed}" />
              </packageSources>
            </configuration>
            """);
        ProcessRunner.Run("dotnet", ["new", template, "-n", name, "-o", "app"], root).ShouldSucceed();
        return new TestApp(sdk, root, name, createBinFolder);
    }

    /// <summary><see cref="Create(PackedSdk, string, string, bool)"/>, then <paramref name="arrange"/> it (files, publish); deleted again if that throws.</summary>
    public static TestApp Create(PackedSdk sdk, string template, string name, Action<TestApp> arrange)
    {
        var app = Create(sdk, template, name);
        try
        {
            arrange(app);
            return app;
        }
        catch
        {
            app.Dispose();
            throw;
        }
    }

    /// <summary>The PackageReference to the Relcraft.Runtime packed by this run, for <see cref="SetProjectXml"/>.</summary>
    public string RuntimePackageReference
    {
        get
        {
            Sdk.RequireRuntimePackage();
            return $"<PackageReference Include=\"Relcraft.Runtime\" Version=\"{Sdk.Version}\" />";
        }
    }

    private TestApp(PackedSdk sdk, string root, string name, bool createBinFolder)
    {
        Sdk = sdk;
        Root = root;
        Name = name;
        Dir = Path.Combine(root, "app");
        ProjectFile = Path.Combine(Dir, $"{name}.csproj");
        var text = File.ReadAllText(ProjectFile);
        _baseProject = Regex.Replace(text, @"<Project[^>]*>", m => $"{m.Value}\n  <Sdk Name=\"Relcraft.Sdk\" Version=\"{sdk.Version}\" />", RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.Contains("Relcraft.Sdk", _baseProject);
        File.WriteAllText(ProjectFile, _baseProject);
        // Works around the first-publish bug pinned by FreshProjectTests: while bin/ does not exist yet,
        // MSBuild leaves BaseOutputPath "bin\" unconverted and the release lands in a folder named "bin\".
        if (createBinFolder) Directory.CreateDirectory(Path.Combine(Dir, "bin"));
    }

    /// <summary>Resets the project to what `dotnet new` wrote plus the Sdk line, then adds <paramref name="xml"/> to it.</summary>
    public void SetProjectXml(params string[] xml)
    {
        var body = string.Join("\n", xml);
        File.WriteAllText(ProjectFile, _baseProject.Replace("</Project>", body + "\n</Project>"));
    }

    /// <summary>Writes a file relative to the project folder.</summary>
    public string WriteFile(string relativePath, string content)
    {
        var path = Path.Combine(Dir, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Copies one of the test's Assets/ files into the project folder.</summary>
    public void CopyAsset(string asset, string relativePath) =>
        WriteFile(relativePath, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Assets", asset)));

    /// <summary>dotnet publish -p:Release=<paramref name="release"/> [args], in the project folder.</summary>
    public RunResult Publish(string release = "true", params string[] args) =>
        Dotnet(["publish", $"-p:Release={release}", .. args]);

    public RunResult Dotnet(params string[] args) =>
        ProcessRunner.Run("dotnet", args, Dir, timeout: TimeSpan.FromMinutes(5));

    /// <summary>bin/rel/NAME under the project.</summary>
    public string ReleaseDir(string releaseName) => Path.Combine(Dir, "bin", "rel", releaseName);

    public InstalledRelease Release(string releaseName, bool hideDotnet = true) => new(ReleaseDir(releaseName), releaseName, hideDotnet);

    public void Dispose()
    {
        Processes.StopAllMentioning(Root);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
