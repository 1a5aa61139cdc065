using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Relcraft.Sdk.Tasks;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>ComputeRelease's task: which release a build assembles and with which options.</summary>
public sealed class ResolveReleaseTests : IDisposable
{
    private readonly TempDirectory _project = new("resolve");
    private readonly FakeBuildEngine _engine = new();

    public void Dispose() => _project.Dispose();

    private ResolveRelease Task(string requested = "true", params ITaskItem[] releases) => new()
    {
        BuildEngine = _engine,
        Requested = requested,
        AssemblyName = "My.App",
        ProjectDirectory = _project.Path,
        BaseOutputPath = "bin/",
        RuntimeIdentifier = "linux-x64",
        Releases = releases,
        Version = "1.2.3",
    };

    private static ITaskItem Release(string name, params (string Key, string Value)[] metadata)
    {
        var item = new TaskItem(name);
        foreach (var (k, v) in metadata) item.SetMetadata(k, v);
        return item;
    }

    private static ITaskItem Step(string target, string? before = null, string? after = null)
    {
        var item = new TaskItem(target);
        if (before is not null) item.SetMetadata("Before", before);
        if (after is not null) item.SetMetadata("After", after);
        return item;
    }

    private void AssertSucceeds(ResolveRelease task)
    {
        Assert.True(task.Execute(), _engine.Describe());
        Assert.Empty(_engine.Errors);
        Assert.NotNull(task.Release);
    }

    private void AssertFailsWith(ResolveRelease task, string code)
    {
        Assert.False(task.Execute());
        Assert.Contains(code, _engine.ErrorCodes);
        Assert.All(_engine.Errors, e => Assert.StartsWith("RELCRAFT", e.Code));
    }

    // ---- which release ----

    [Fact]
    public void Without_Release_items_the_implicit_release_is_named_after_the_assembly()
    {
        var task = Task();
        AssertSucceeds(task);
        Assert.Equal("my-app", task.Release!.ItemSpec);
        Assert.Equal("my-app", task.KnownReleases);
    }

    [Fact]
    public void ReleaseName_names_the_implicit_release()
    {
        var task = Task();
        task.Name = "kv";
        AssertSucceeds(task);
        Assert.Equal("kv", task.Release!.ItemSpec);
    }

    [Fact]
    public void The_implicit_release_can_be_requested_by_name()
    {
        var task = Task("my-app");
        AssertSucceeds(task);
        Assert.Equal("my-app", task.Release!.ItemSpec);
    }

    [Fact]
    public void Release_true_picks_the_first_Release_item()
    {
        var task = Task("true", Release("foo"), Release("bar"));
        AssertSucceeds(task);
        Assert.Equal("foo", task.Release!.ItemSpec);
        Assert.Equal("foo;bar", task.KnownReleases);
    }

    [Fact]
    public void Release_true_is_case_insensitive()
    {
        var task = Task("True", Release("foo"), Release("bar"));
        AssertSucceeds(task);
        Assert.Equal("foo", task.Release!.ItemSpec);
    }

    [Fact]
    public void ReleaseDefault_picks_the_default_release()
    {
        var task = Task("true", Release("foo"), Release("bar"));
        task.DefaultRelease = "bar";
        AssertSucceeds(task);
        Assert.Equal("bar", task.Release!.ItemSpec);
    }

    [Fact]
    public void Release_NAME_picks_that_release()
    {
        var task = Task("bar", Release("foo"), Release("bar"));
        AssertSucceeds(task);
        Assert.Equal("bar", task.Release!.ItemSpec);
    }

    [Fact]
    public void An_unknown_release_fails_with_1001_listing_the_known_ones()
    {
        var task = Task("baz", Release("foo"), Release("bar"));
        AssertFailsWith(task, "RELCRAFT1001");
        var error = Assert.Single(_engine.Errors);
        Assert.Contains("baz", error.Message);
        Assert.Contains("foo", error.Message);
        Assert.Contains("bar", error.Message);
    }

    [Fact]
    public void An_unknown_ReleaseDefault_fails_with_1001()
    {
        var task = Task("true", Release("foo"));
        task.DefaultRelease = "nope";
        AssertFailsWith(task, "RELCRAFT1001");
    }

    [Fact]
    public void Errors_are_reported_against_the_project_file()
    {
        var task = Task("baz", Release("foo"));
        task.ProjectFile = Path.Combine(_project.Path, "App.csproj");
        AssertFailsWith(task, "RELCRAFT1001");
        Assert.Equal(task.ProjectFile, _engine.Errors.Single().File);
    }

    [Theory]
    [InlineData("Foo")]
    [InlineData("1foo")]
    [InlineData("foo.bar")]
    [InlineData("foo bar")]
    public void An_invalid_release_name_fails_with_1002(string name)
    {
        AssertFailsWith(Task("true", Release(name)), "RELCRAFT1002");
    }

    [Fact]
    public void An_invalid_requested_name_fails_with_1002()
    {
        AssertFailsWith(Task("Not/A/Name", Release("foo")), "RELCRAFT1002");
    }

    [Fact]
    public void An_implicit_name_that_is_not_valid_fails_with_1002()
    {
        var task = Task();
        task.AssemblyName = "1App";
        AssertFailsWith(task, "RELCRAFT1002");
    }

    [Fact]
    public void A_duplicate_release_fails_with_1003()
    {
        AssertFailsWith(Task("true", Release("foo"), Release("bar"), Release("foo")), "RELCRAFT1003");
    }

    [Fact]
    public void Project_metadata_naming_a_missing_file_fails_with_1004()
    {
        AssertFailsWith(Task("true", Release("foo", ("Project", "../Nope/Nope.csproj"))), "RELCRAFT1004");
    }

    [Fact]
    public void Project_metadata_is_resolved_against_the_project_directory()
    {
        var other = _project.Write("Storage/Storage.csproj", "<Project />");
        var task = Task("true", Release("foo", ("Project", "Storage/Storage.csproj")));
        AssertSucceeds(task);
        Assert.Equal(other, task.Release!.GetMetadata("Project"));
    }

    // ---- options ----

    [Fact]
    public void IncludeRuntime_that_is_not_a_dotnet_root_fails_with_1006()
    {
        Directory.CreateDirectory(_project.Combine("not-dotnet"));
        var task = Task();
        task.IncludeRuntime = "not-dotnet";
        AssertFailsWith(task, "RELCRAFT1006");
    }

    [Fact]
    public void IncludeRuntime_accepts_a_folder_with_host_fxr_and_the_shared_framework()
    {
        Directory.CreateDirectory(_project.Combine("dotnet-root", "host", "fxr"));
        Directory.CreateDirectory(_project.Combine("dotnet-root", "shared", "Microsoft.NETCore.App"));
        var task = Task();
        task.IncludeRuntime = "dotnet-root";
        AssertSucceeds(task);
        Assert.Equal(_project.Combine("dotnet-root") + "/", task.Release!.GetMetadata("IncludeRuntime"));
    }

    [Theory]
    [InlineData(null, "true")]
    [InlineData("TRUE", "true")]
    [InlineData("False", "false")]
    public void IncludeRuntime_booleans_are_normalised(string? value, string expected)
    {
        var task = Task();
        task.IncludeRuntime = value;
        AssertSucceeds(task);
        Assert.Equal(expected, task.Release!.GetMetadata("IncludeRuntime"));
    }

    [Theory]
    [InlineData("deploy")]
    [InlineData("assemble;deploy")]
    [InlineData("tar;assemble")]
    [InlineData("assemble;assemble")]
    [InlineData("tar")]
    [InlineData("assemble;tar;tar")]
    public void Bad_steps_fail_with_1008(string steps)
    {
        var task = Task();
        task.Steps = steps;
        AssertFailsWith(task, "RELCRAFT1008");
    }

    [Fact]
    public void An_invalid_version_fails_with_1015()
    {
        var task = Task();
        task.Version = "1.0/../../x";
        AssertFailsWith(task, "RELCRAFT1015");
    }

    [Fact]
    public void ExecutablesFor_mac_fails_with_1017()
    {
        var task = Task();
        task.ExecutablesFor = "unix;mac";
        AssertFailsWith(task, "RELCRAFT1017");
    }

    [Fact]
    public void ExecutablesFor_defaults_by_platform_of_the_RID()
    {
        var unix = Task();
        AssertSucceeds(unix);
        Assert.Equal("unix", unix.Release!.GetMetadata("ExecutablesFor"));

        var windows = Task();
        windows.RuntimeIdentifier = "win-x64";
        AssertSucceeds(windows);
        Assert.Equal("windows", windows.Release!.GetMetadata("ExecutablesFor"));
    }

    [Fact]
    public void Mode_fast_fails_with_1018()
    {
        var task = Task();
        task.Mode = "fast";
        AssertFailsWith(task, "RELCRAFT1018");
    }

    [Theory]
    [InlineData("short")]
    [InlineData("0123456789abcdef0123456789abcdef has spaces")]
    public void A_bad_cookie_fails_with_1021(string cookie)
    {
        var task = Task();
        task.Cookie = cookie;
        AssertFailsWith(task, "RELCRAFT1021");
        Assert.DoesNotContain(cookie, _engine.Errors.Single().Message); // secrets stay out of logs
    }

    [Fact]
    public void Defaults_fill_every_option()
    {
        var task = Task();
        task.Version = null;
        AssertSucceeds(task);
        var r = task.Release!;
        Assert.Equal("0.1.0", r.GetMetadata("Version"));
        Assert.Equal("true", r.GetMetadata("IncludeRuntime"));
        Assert.Equal("assemble", r.GetMetadata("Steps"));
        Assert.Equal("embedded", r.GetMetadata("Mode"));
        Assert.Equal("false", r.GetMetadata("Strip"));
        Assert.Equal("", r.GetMetadata("Cookie"));
        Assert.Equal("linux-x64", r.GetMetadata("RuntimeIdentifier"));
        Assert.Equal(_project.Combine("rel") + "/", r.GetMetadata("TemplatesPath"));
    }

    [Fact]
    public void Path_defaults_under_BaseOutputPath_and_the_tarball_sits_beside_it()
    {
        var task = Task("true", Release("kv"));
        AssertSucceeds(task);
        Assert.Equal(_project.Combine("bin", "rel", "kv") + "/", task.Release!.GetMetadata("Path"));
        Assert.Equal(_project.Combine("bin", "rel", "kv-1.2.3.tar.gz"), task.Release!.GetMetadata("Tarball"));
    }

    [Fact]
    public void Properties_apply_to_every_release()
    {
        var task = Task("bar", Release("foo"), Release("bar"));
        task.Path = "out/release";
        task.Steps = "assemble;tar";
        AssertSucceeds(task);
        Assert.Equal(_project.Combine("out", "release") + "/", task.Release!.GetMetadata("Path"));
        Assert.Equal(_project.Combine("out", "bar-1.2.3.tar.gz"), task.Release!.GetMetadata("Tarball"));
        Assert.Equal("assemble;tar", task.Release!.GetMetadata("Steps"));
    }

    [Fact]
    public void Metadata_on_the_Release_item_overrides_the_property()
    {
        var task = Task("bar",
            Release("foo"),
            Release("bar", ("Version", "9.9.9"), ("Path", "/srv/bar"), ("Steps", "assemble,tar"), ("Mode", "interactive"), ("IncludeRuntime", "false")));
        task.Path = "out/release";
        task.Steps = "assemble";
        task.Mode = "embedded";
        AssertSucceeds(task);
        var r = task.Release!;
        Assert.Equal("9.9.9", r.GetMetadata("Version"));
        Assert.Equal("/srv/bar/", r.GetMetadata("Path"));
        Assert.Equal("/srv/bar-9.9.9.tar.gz", r.GetMetadata("Tarball"));
        Assert.Equal("assemble;tar", r.GetMetadata("Steps"));
        Assert.Equal("interactive", r.GetMetadata("Mode"));
        Assert.Equal("false", r.GetMetadata("IncludeRuntime"));
    }

    [Fact]
    public void Metadata_on_another_Release_item_does_not_leak()
    {
        var task = Task("foo", Release("foo"), Release("bar", ("Version", "9.9.9")));
        AssertSucceeds(task);
        Assert.Equal("1.2.3", task.Release!.GetMetadata("Version"));
    }

    // ---- steps ----

    [Fact]
    public void StepTargets_are_the_built_in_steps_in_order()
    {
        var task = Task();
        task.Steps = "assemble;tar";
        AssertSucceeds(task);
        Assert.Equal(["_RelcraftAssemble", "_RelcraftTar"], task.StepTargets);
    }

    [Fact]
    public void ReleaseSteps_are_ordered_around_the_built_in_steps()
    {
        var task = Task();
        task.Steps = "assemble;tar";
        task.ExtraSteps =
        [
            Step("Upload", after: "tar"),
            Step("Sign", after: "assemble"),
            Step("Prepare", before: "assemble"),
            Step("Check", before: "tar"),
        ];
        AssertSucceeds(task);
        Assert.Equal(["Prepare", "_RelcraftAssemble", "Sign", "Check", "_RelcraftTar", "Upload"], task.StepTargets);
    }

    [Theory]
    [InlineData("assemble", "tar")]
    [InlineData(null, null)]
    [InlineData("deploy", null)]
    [InlineData(null, "tar")] // tar is a known step, but not one of this release's steps
    public void A_misplaced_ReleaseStep_fails_with_1016(string? before, string? after)
    {
        var task = Task();
        task.Steps = "assemble";
        task.ExtraSteps = [Step("Sign", before, after)];
        AssertFailsWith(task, "RELCRAFT1016");
        Assert.Single(_engine.Errors); // reported once, not once per step
    }
}
