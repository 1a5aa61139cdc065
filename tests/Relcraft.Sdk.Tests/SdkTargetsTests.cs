using System.Runtime.InteropServices;
using Microsoft.Build.Evaluation;
using Microsoft.Build.Execution;
using Microsoft.Build.Framework;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// The props/targets in sdk/, evaluated and run in-proc by the installed MSBuild around
/// Microsoft.NET.Sdk, imported by path with the task assembly under test. Only evaluation and
/// targets that need no restore or compile, so these stay fast.
/// </summary>
[Collection(MSBuildCollection.Name)]
public sealed class SdkTargetsTests : IDisposable
{
    private readonly TempDirectory _dir = new("targets");

    public void Dispose()
    {
        Shared.UnloadAllProjects();
        _dir.Dispose();
    }

    private string WriteProject(string body = "", string assemblyName = "My.App")
    {
        var sdk = Path.Combine(RepoPaths.SdkDirectory, "Sdk");
        var path = _dir.Combine("App", "App.csproj");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"""
            <Project>
              <PropertyGroup>
                <RelcraftTasksAssembly>{RepoPaths.TasksAssembly}</RelcraftTasksAssembly>
                <RelcraftTemplatesDirectory>{RepoPaths.Templates}/</RelcraftTemplatesDirectory>
              </PropertyGroup>
              <Import Project="Sdk.props" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{sdk}/Sdk.props" />
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <AssemblyName>{assemblyName}</AssemblyName>
                <Version>2.3.4</Version>
              </PropertyGroup>
            {body}
              <Import Project="Sdk.targets" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{sdk}/Sdk.targets" />
            </Project>
            """);
        return path;
    }

    /// <summary>One collection for the whole class: the SDK's hundreds of imports are parsed once, not per test.</summary>
    private static readonly ProjectCollection Shared = new();

    private static Project Evaluate(string projectPath, params (string Key, string Value)[] properties) =>
        Shared.LoadProject(projectPath, properties.ToDictionary(p => p.Key, p => p.Value), null);

    private static (bool Success, ProjectInstance Instance, CollectingLogger Log) Build(string projectPath, string target, params (string Key, string Value)[] properties)
    {
        var project = Evaluate(projectPath, properties);
        var instance = project.CreateProjectInstance();
        Shared.UnloadProject(project);
        var log = new CollectingLogger();
        var success = instance.Build([target], [log]);
        return (success, instance, log);
    }

    [Fact]
    public void MSBuild_and_the_tasks_come_from_where_users_get_them()
    {
        // Microsoft.Build.* from the located .NET SDK (never a copy in the test output), the tasks from the build under test.
        var sdkDirectory = Path.GetDirectoryName(Microsoft.Build.Locator.MSBuildLocator.QueryVisualStudioInstances().First().MSBuildPath.TrimEnd('/'))!;
        foreach (var assembly in new[] { typeof(Project).Assembly, typeof(ITask).Assembly, typeof(Microsoft.Build.Utilities.Task).Assembly })
        {
            Assert.StartsWith(sdkDirectory, assembly.Location);
            Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, Path.GetFileName(assembly.Location))), assembly.Location);
        }
        Assert.Equal(RepoPaths.TasksAssembly, Evaluate(WriteProject()).GetPropertyValue("RelcraftTasksAssembly"));
    }

    // ---- activation ----

    [Fact]
    public void Without_the_Release_property_nothing_activates()
    {
        var project = Evaluate(WriteProject());
        Assert.Equal("true", project.GetPropertyValue("UsingRelcraftSdk"));
        Assert.Equal("", project.GetPropertyValue("_RelcraftActive"));
        Assert.Equal("", project.GetPropertyValue("RuntimeIdentifier"));
        Assert.Equal("", project.GetPropertyValue("AppHostRelativeDotNet"));
        Assert.NotEqual("true", project.GetPropertyValue("PublishReadyToRun"));
    }

    [Fact]
    public void An_environment_variable_named_RELEASE_does_not_activate()
    {
        // MSBuild turns environment variables into properties; CI systems and container images often
        // export RELEASE (a version, a flag). A plain build must stay untouched all the same.
        var previous = Environment.GetEnvironmentVariable("RELEASE");
        Environment.SetEnvironmentVariable("RELEASE", "1");
        try
        {
            using var fresh = new ProjectCollection(); // environment properties are read when a collection is made
            var project = fresh.LoadProject(WriteProject());
            Assert.Equal("", project.GetPropertyValue("_RelcraftActive"));
            Assert.Equal("", project.GetPropertyValue("RuntimeIdentifier"));
        }
        finally { Environment.SetEnvironmentVariable("RELEASE", previous); }
    }

    [Fact]
    public void Release_false_does_not_activate()
    {
        var project = Evaluate(WriteProject(), ("Release", "false"));
        Assert.Equal("", project.GetPropertyValue("_RelcraftActive"));
        Assert.Equal("", project.GetPropertyValue("RuntimeIdentifier"));
    }

    [Theory]
    [InlineData("true")]
    [InlineData("my-app")]
    public void Release_sets_the_machine_RID_framework_dependent(string release)
    {
        var project = Evaluate(WriteProject(), ("Release", release));
        Assert.Equal("true", project.GetPropertyValue("_RelcraftActive"));
        Assert.Equal(RuntimeInformation.RuntimeIdentifier, project.GetPropertyValue("RuntimeIdentifier"));
        Assert.Equal(project.GetPropertyValue("NETCoreSdkRuntimeIdentifier"), project.GetPropertyValue("RuntimeIdentifier"));
        Assert.Equal("false", project.GetPropertyValue("SelfContained"));
        Assert.Equal("../../runtime", project.GetPropertyValue("AppHostRelativeDotNet"));
        Assert.Equal("true", project.GetPropertyValue("PublishReadyToRun"));
    }

    [Fact]
    public void An_explicit_RID_is_kept()
    {
        var project = Evaluate(WriteProject(), ("Release", "true"), ("RuntimeIdentifier", "linux-arm64"));
        Assert.Equal("linux-arm64", project.GetPropertyValue("RuntimeIdentifier"));
        Assert.Equal("false", project.GetPropertyValue("SelfContained"));
    }

    [Fact]
    public void Interactive_mode_skips_ReadyToRun()
    {
        var project = Evaluate(WriteProject("<PropertyGroup><ReleaseMode>interactive</ReleaseMode></PropertyGroup>"), ("Release", "true"));
        Assert.NotEqual("true", project.GetPropertyValue("PublishReadyToRun"));
    }

    [Theory]
    [InlineData("DesignTimeBuild")]
    [InlineData("BuildingInsideVisualStudio")]
    public void Design_time_builds_never_activate(string property)
    {
        var project = Evaluate(WriteProject(), ("Release", "true"), (property, "true"));
        Assert.Equal("", project.GetPropertyValue("_RelcraftActive"));
        Assert.Equal("", project.GetPropertyValue("RuntimeIdentifier"));
        Assert.Equal("", project.GetPropertyValue("AppHostRelativeDotNet"));
    }

    [Fact]
    public void ComputeRelease_does_not_run_without_the_Release_property()
    {
        var (success, instance, _) = Build(WriteProject(), "ComputeRelease");
        Assert.True(success);
        Assert.Empty(instance.GetItems("ResolvedRelease"));
    }

    [Fact]
    public void The_release_hooks_run_after_Publish_and_compute_before_the_build()
    {
        var project = Evaluate(WriteProject(), ("Release", "true"));
        Assert.Equal("Publish", project.Targets["AssembleRelease"].AfterTargets);
        Assert.Equal("BeforeBuild", project.Targets["ComputeRelease"].BeforeTargets);
    }

    // ---- ComputeRelease ----

    [Fact]
    public void ComputeRelease_resolves_the_implicit_release()
    {
        var project = WriteProject();
        Directory.CreateDirectory(_dir.Combine("App", "bin")); // as after a first build; a fresh project is the test below
        var (success, instance, log) = Build(project, "ComputeRelease", ("Release", "true"));
        Assert.True(success, log.Describe());

        var release = Assert.Single(instance.GetItems("ResolvedRelease"));
        var projectDir = _dir.Combine("App");
        Assert.Equal("my-app", release.EvaluatedInclude);
        Assert.Equal("2.3.4", release.GetMetadataValue("Version"));
        Assert.Equal(Path.Combine(projectDir, "bin", "rel", "my-app") + "/", release.GetMetadataValue("Path"));
        Assert.Equal(Path.Combine(projectDir, "bin", "rel", "my-app-2.3.4.tar.gz"), release.GetMetadataValue("Tarball"));
        Assert.Equal("true", release.GetMetadataValue("IncludeRuntime"));
        Assert.Equal("assemble", release.GetMetadataValue("Steps"));
        Assert.Equal("embedded", release.GetMetadataValue("Mode"));
        Assert.Equal(RuntimeInformation.RuntimeIdentifier, release.GetMetadataValue("RuntimeIdentifier"));
        Assert.Equal(Path.Combine(projectDir, "rel") + "/", release.GetMetadataValue("TemplatesPath"));

        Assert.Equal("my-app", instance.GetPropertyValue("ReleaseName"));
        Assert.Equal("2.3.4", instance.GetPropertyValue("ReleaseVersion"));
        Assert.Equal(release.GetMetadataValue("Path"), instance.GetPropertyValue("ReleaseOutputPath"));
        Assert.Equal(release.GetMetadataValue("Tarball"), instance.GetPropertyValue("ReleaseTarball"));
        Assert.Equal("my-app", instance.GetPropertyValue("ReleaseKnownNames"));
        Assert.Equal(["_RelcraftAssemble"], instance.GetItems("_RelcraftStepTarget").Select(i => i.EvaluatedInclude));
    }

    [Fact]
    public void On_a_fresh_project_the_release_goes_under_bin_not_a_folder_named_bin_backslash()
    {
        // Microsoft.NET.Sdk's BaseOutputPath is "bin\"; MSBuild only turns that '\' into '/' for a
        // task's string parameter when bin/ already exists. On a fresh clone it does not, yet.
        var (success, instance, log) = Build(WriteProject(), "ComputeRelease", ("Release", "true"));
        Assert.True(success, log.Describe());
        var release = Assert.Single(instance.GetItems("ResolvedRelease"));
        Assert.DoesNotContain("\\", release.GetMetadataValue("Path"));
        Assert.DoesNotContain("\\", release.GetMetadataValue("Tarball"));
        Assert.Equal(_dir.Combine("App", "bin", "rel", "my-app") + "/", release.GetMetadataValue("Path"));
    }

    [Fact]
    public void ComputeRelease_picks_a_named_release_with_its_metadata_and_orders_user_steps()
    {
        var body = """
              <PropertyGroup>
                <ReleaseSteps>assemble;tar</ReleaseSteps>
              </PropertyGroup>
              <ItemGroup>
                <Release Include="foo" />
                <Release Include="bar" Version="9.0.0" Path="out/bar" />
                <ReleaseStep Include="SignRelease" After="assemble" />
                <ReleaseStep Include="UploadRelease" After="tar" />
              </ItemGroup>
            """;
        var (success, instance, log) = Build(WriteProject(body), "ComputeRelease", ("Release", "bar"));
        Assert.True(success, log.Describe());

        var release = Assert.Single(instance.GetItems("ResolvedRelease"));
        Assert.Equal("bar", release.EvaluatedInclude);
        Assert.Equal("9.0.0", release.GetMetadataValue("Version"));
        Assert.Equal(_dir.Combine("App", "out", "bar") + "/", release.GetMetadataValue("Path"));
        Assert.Equal(_dir.Combine("App", "out", "bar-9.0.0.tar.gz"), release.GetMetadataValue("Tarball"));
        Assert.Equal("assemble;tar", release.GetMetadataValue("Steps"));
        Assert.Equal("foo;bar", instance.GetPropertyValue("ReleaseKnownNames"));
        Assert.Equal(["_RelcraftAssemble", "SignRelease", "_RelcraftTar", "UploadRelease"], instance.GetItems("_RelcraftStepTarget").Select(i => i.EvaluatedInclude));
    }

    [Fact]
    public void ComputeRelease_with_Release_true_takes_ReleaseDefault()
    {
        var body = """
              <PropertyGroup><ReleaseDefault>bar</ReleaseDefault></PropertyGroup>
              <ItemGroup><Release Include="foo" /><Release Include="bar" /></ItemGroup>
            """;
        var (success, instance, log) = Build(WriteProject(body), "ComputeRelease", ("Release", "true"));
        Assert.True(success, log.Describe());
        Assert.Equal("bar", Assert.Single(instance.GetItems("ResolvedRelease")).EvaluatedInclude);
    }

    [Fact]
    public void An_unknown_release_fails_with_1001_against_the_project()
    {
        var project = WriteProject("<ItemGroup><Release Include=\"foo\" /></ItemGroup>");
        var (success, _, log) = Build(project, "ComputeRelease", ("Release", "nope"));
        Assert.False(success);
        var error = Assert.Single(log.Errors);
        Assert.Equal("RELCRAFT1001", error.Code);
        Assert.Equal(project, error.File);
    }

    [Fact]
    public void A_bad_option_fails_the_build_with_its_code()
    {
        var (success, _, log) = Build(WriteProject("<PropertyGroup><ReleaseMode>fast</ReleaseMode></PropertyGroup>"), "ComputeRelease", ("Release", "true"));
        Assert.False(success);
        Assert.Equal(["RELCRAFT1018"], log.Errors.Select(e => e.Code));
    }

    [Fact]
    public void ComputeRelease_runs_before_the_build_so_mistakes_fail_fast()
    {
        // BeforeBuild is the first thing Build does after restore-free evaluation: the error comes before any compile.
        var (success, _, log) = Build(WriteProject("<ItemGroup><Release Include=\"foo\" /></ItemGroup>"), "BeforeBuild", ("Release", "nope"));
        Assert.False(success);
        Assert.Equal(["RELCRAFT1001"], log.Errors.Select(e => e.Code));
    }

    [Fact]
    public void The_state_directory_is_under_the_intermediate_output_path()
    {
        var project = Evaluate(WriteProject(), ("Release", "true"));
        var obj = Path.GetFullPath(Path.Combine(_dir.Combine("App"), project.GetPropertyValue("IntermediateOutputPath").Replace('\\', '/')));
        Assert.Equal(Path.Combine(obj, "relcraft") + "/", Path.GetFullPath(project.GetPropertyValue("_RelcraftStateDirectory").Replace('\\', '/')));
    }

    [Fact]
    public void With_artifacts_output_the_state_directory_and_release_are_under_artifacts()
    {
        // UseArtifactsOutput (set in a Directory.Build.props, as `dotnet new buildprops --use-artifacts` does) makes obj/ and bin/ absolute paths.
        File.WriteAllText(_dir.Combine("Directory.Build.props"), "<Project><PropertyGroup><UseArtifactsOutput>true</UseArtifactsOutput></PropertyGroup></Project>");
        var artifacts = _dir.Combine("artifacts") + "/";
        var projectPath = WriteProject();

        var project = Evaluate(projectPath, ("Release", "true"));
        Assert.StartsWith(artifacts, project.GetPropertyValue("IntermediateOutputPath").Replace('\\', '/'));
        var state = Path.GetFullPath(project.GetPropertyValue("_RelcraftStateDirectory").Replace('\\', '/'));
        Assert.True(state.StartsWith(artifacts + "obj/", StringComparison.Ordinal), $"_RelcraftStateDirectory is {state}, not under {artifacts}obj/");

        var (success, instance, log) = Build(projectPath, "ComputeRelease", ("Release", "true"));
        Assert.True(success, log.Describe());
        Assert.StartsWith(artifacts + "bin/", Assert.Single(instance.GetItems("ResolvedRelease")).GetMetadataValue("Path"));
    }

    // ---- ReleaseInit ----

    [Fact]
    public void ReleaseInit_writes_the_templates_into_rel()
    {
        var (success, _, log) = Build(WriteProject(), "ReleaseInit");
        Assert.True(success, log.Describe());
        foreach (var f in new[] { "env.sh.template", "env.bat.template", "runtime.json", "overlays/README.md" })
            Assert.True(File.Exists(_dir.Combine("App", "rel", f)), f);
    }

    [Fact]
    public void ReleaseInit_refuses_to_overwrite_without_Force()
    {
        var project = WriteProject();
        Assert.True(Build(project, "ReleaseInit").Success);
        File.WriteAllText(_dir.Combine("App", "rel", "runtime.json"), "{ \"mine\": true }");

        var (success, _, log) = Build(project, "ReleaseInit");
        Assert.False(success);
        Assert.NotEmpty(log.Errors);
        Assert.All(log.Errors, e => Assert.Equal("RELCRAFT1014", e.Code));
        Assert.Equal("{ \"mine\": true }", File.ReadAllText(_dir.Combine("App", "rel", "runtime.json")));

        var forced = Build(project, "ReleaseInit", ("Force", "true"));
        Assert.True(forced.Success, forced.Log.Describe());
        Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Templates, "runtime.json")), File.ReadAllText(_dir.Combine("App", "rel", "runtime.json")));
    }

    [Fact]
    public void ReleaseInit_honours_ReleaseTemplatesPath()
    {
        var (success, _, log) = Build(WriteProject("<PropertyGroup><ReleaseTemplatesPath>deploy/templates/</ReleaseTemplatesPath></PropertyGroup>"), "ReleaseInit");
        Assert.True(success, log.Describe());
        Assert.True(File.Exists(_dir.Combine("App", "deploy", "templates", "env.sh.template")));
    }

    [Fact]
    public void ReleaseInit_writes_where_ComputeRelease_reads_for_an_absolute_ReleaseTemplatesPath()
    {
        // e.g. <ReleaseTemplatesPath>$(MSBuildThisFileDirectory)rel/</ReleaseTemplatesPath> in a Directory.Build.props
        var shared = _dir.Combine("shared-rel") + "/";
        var project = WriteProject($"<PropertyGroup><ReleaseTemplatesPath>{shared}</ReleaseTemplatesPath></PropertyGroup>");

        var compute = Build(project, "ComputeRelease", ("Release", "true"));
        Assert.True(compute.Success, compute.Log.Describe());
        Assert.Equal(shared, Assert.Single(compute.Instance.GetItems("ResolvedRelease")).GetMetadataValue("TemplatesPath"));

        var (success, _, log) = Build(project, "ReleaseInit");
        Assert.True(success, log.Describe());
        Assert.True(File.Exists(Path.Combine(shared, "env.sh.template")), "ReleaseInit did not write into " + shared);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MSBuildCollection
{
    // In-proc builds share the process (current directory, BuildManager); run them alone.
    public const string Name = "In-proc MSBuild";
}

internal sealed class CollectingLogger : ILogger
{
    public List<BuildErrorEventArgs> Errors { get; } = [];
    public List<BuildWarningEventArgs> Warnings { get; } = [];
    public List<string> Messages { get; } = [];

    public LoggerVerbosity Verbosity { get; set; } = LoggerVerbosity.Normal;
    public string? Parameters { get; set; }

    public void Initialize(IEventSource eventSource)
    {
        eventSource.ErrorRaised += (_, e) => Errors.Add(e);
        eventSource.WarningRaised += (_, e) => Warnings.Add(e);
        eventSource.MessageRaised += (_, e) => { if (e.Importance == MessageImportance.High) Messages.Add(e.Message ?? ""); };
    }

    public void Shutdown() { }

    public string Describe() => string.Join("\n", Errors.Select(e => $"{e.File}: error {e.Code}: {e.Message}"));
}
