using Relcraft.Sdk.Tasks;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>ReleaseInit (mix release.init): editable templates in rel/, never overwritten without Force.</summary>
public sealed class InitReleaseTemplatesTests : IDisposable
{
    private readonly TempDirectory _project = new("init");
    private readonly FakeBuildEngine _engine = new();
    private string Rel => _project.Combine("rel");

    private static readonly (string Written, string Template)[] Files =
    [
        ("env.sh.template", "env.sh"),
        ("env.bat.template", "env.bat"),
        ("runtime.json", "runtime.json"),
        ("overlays/README.md", "overlays.README.md"),
    ];

    public void Dispose() => _project.Dispose();

    private InitReleaseTemplates Task(bool force = false) => new()
    {
        BuildEngine = _engine,
        TemplatesDirectory = RepoPaths.Templates,
        Destination = Rel,
        Force = force,
    };

    [Fact]
    public void Writes_the_four_templates()
    {
        var task = Task();
        Assert.True(task.Execute(), _engine.Describe());

        foreach (var (written, template) in Files)
            Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Templates, template)), File.ReadAllText(Path.Combine(Rel, written)));
        Assert.Equal(Files.Select(f => Path.Combine(Rel, f.Written)).Order(), task.Written.Select(i => i.ItemSpec).Order());
    }

    [Fact]
    public void A_second_run_without_Force_fails_with_1014_and_changes_nothing()
    {
        Assert.True(Task().Execute());
        var edited = Path.Combine(Rel, "env.sh.template");
        File.WriteAllText(edited, "# my edits\n");
        var before = Posix.Snapshot(Rel);

        var again = Task();
        Assert.False(again.Execute());

        Assert.NotEmpty(_engine.Errors);
        Assert.All(_engine.Errors, e => Assert.Equal("RELCRAFT1014", e.Code));
        Assert.Equal("# my edits\n", File.ReadAllText(edited));
        Assert.Equal(before, Posix.Snapshot(Rel));
        Assert.Empty(again.Written);
    }

    [Fact]
    public void One_existing_file_is_enough_to_refuse_and_nothing_else_is_written()
    {
        Directory.CreateDirectory(Rel);
        File.WriteAllText(Path.Combine(Rel, "runtime.json"), "{ \"mine\": 1 }");

        Assert.False(Task().Execute());

        Assert.Equal(["RELCRAFT1014"], _engine.ErrorCodes);
        Assert.Equal(["runtime.json"], Directory.EnumerateFileSystemEntries(Rel).Select(Path.GetFileName));
    }

    [Fact]
    public void Force_overwrites()
    {
        Assert.True(Task().Execute());
        var edited = Path.Combine(Rel, "env.sh.template");
        File.WriteAllText(edited, "# my edits\n");

        Assert.True(Task(force: true).Execute(), _engine.Describe());

        Assert.Empty(_engine.Errors);
        Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Templates, "env.sh")), File.ReadAllText(edited));
    }
}
