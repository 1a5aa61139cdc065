using Microsoft.Build.Framework;

namespace Relcraft.Sdk.Tasks;

/// <summary>ReleaseInit (mix release.init): copies editable templates into rel/, never over existing files unless Force.</summary>
public sealed class InitReleaseTemplates : RelcraftTask
{
    [Required] public string TemplatesDirectory { get; set; } = "";
    [Required] public string Destination { get; set; } = "";
    public bool Force { get; set; }

    [Output] public ITaskItem[] Written { get; private set; } = [];

    private static readonly (string From, string To)[] Files =
    [
        ("env.sh", "env.sh.template"),
        ("env.bat", "env.bat.template"),
        ("runtime.json", "runtime.json"),
        ("overlays.README.md", "overlays/README.md"),
    ];

    public override bool Execute()
    {
        var targets = Files.Select(f => (Source: Path.Combine(TemplatesDirectory, f.From), Target: Path.Combine(Destination, f.To))).ToList();
        if (!Force)
            foreach (var (_, target) in targets.Where(t => File.Exists(t.Target)))
                Error("InitWouldOverwrite", target);
        if (Log.HasLoggedErrors) return false;

        var written = new List<ITaskItem>();
        foreach (var (source, target) in targets)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target, overwrite: true);
            written.Add(new Microsoft.Build.Utilities.TaskItem(target));
            Log.LogMessage(MessageImportance.High, $"* creating {Path.GetRelativePath(Directory.GetCurrentDirectory(), target)}");
        }
        Written = written.ToArray();
        return true;
    }
}
