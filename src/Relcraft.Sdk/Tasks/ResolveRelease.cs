using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Relcraft.Sdk.Tasks;

/// <summary>
/// Compute step: turns the project's Release items and Release* properties into the one
/// release this build assembles — an item whose metadata is every resolved option — and
/// the ordered list of targets that make up its steps. Touches no file.
/// </summary>
public sealed class ResolveRelease : RelcraftTask
{
    /// <summary>The value of -p:Release: "true" for the default release, or a release name.</summary>
    [Required] public string Requested { get; set; } = "";
    [Required] public string AssemblyName { get; set; } = "";
    [Required] public string ProjectDirectory { get; set; } = "";
    [Required] public string BaseOutputPath { get; set; } = "";
    [Required] public string RuntimeIdentifier { get; set; } = "";

    public ITaskItem[] Releases { get; set; } = [];
    public ITaskItem[] ExtraSteps { get; set; } = [];
    public string? DefaultRelease { get; set; }

    // Release* properties: the defaults every Release item may override with metadata of the same name.
    public string? Name { get; set; }
    public string? Version { get; set; }
    public string? Path { get; set; }
    public string? IncludeRuntime { get; set; }
    public string? ExecutablesFor { get; set; }
    public string? Steps { get; set; }
    public string? Strip { get; set; }
    public string? Mode { get; set; }
    public string? Cookie { get; set; }
    public string? TemplatesPath { get; set; }

    [Output] public ITaskItem? Release { get; private set; }
    [Output] public string[] StepTargets { get; private set; } = [];
    [Output] public string KnownReleases { get; private set; } = "";

    public override bool Execute()
    {
        var declared = DeclaredReleases();
        if (declared is null) return false;
        KnownReleases = string.Join(";", declared.Select(r => r.ItemSpec));

        var chosen = Choose(declared);
        if (chosen is null) return false;

        var release = ResolveOptions(chosen);
        if (release is null) return false;
        Release = release;
        StepTargets = OrderSteps(release);
        return !Log.HasLoggedErrors;
    }

    private List<ITaskItem>? DeclaredReleases()
    {
        if (Releases.Length == 0)
        {
            var implicitName = string.IsNullOrWhiteSpace(Name) ? ReleaseNames.FromAssemblyName(AssemblyName) : Name!.Trim();
            return [new TaskItem(implicitName)];
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<ITaskItem>();
        foreach (var item in Releases)
        {
            if (!seen.Add(item.ItemSpec)) { Error("DuplicateRelease", item.ItemSpec); continue; }
            result.Add(item);
        }
        return Log.HasLoggedErrors ? null : result;
    }

    private ITaskItem? Choose(List<ITaskItem> declared)
    {
        var wanted = Requested.Trim();
        if (string.Equals(wanted, "true", StringComparison.OrdinalIgnoreCase))
            wanted = string.IsNullOrWhiteSpace(DefaultRelease) ? declared[0].ItemSpec : DefaultRelease!.Trim();

        var match = declared.FirstOrDefault(r => r.ItemSpec == wanted);
        if (match is null)
        {
            if (!ReleaseNames.IsValidName(wanted)) Error("InvalidReleaseName", wanted);
            else Error("UnknownRelease", wanted, string.Join(", ", declared.Select(r => r.ItemSpec)));
            return null;
        }
        if (!ReleaseNames.IsValidName(match.ItemSpec))
        {
            Error("InvalidReleaseName", match.ItemSpec);
            return null;
        }
        return match;
    }

    private string Option(ITaskItem item, string metadata, string? property, string fallback)
    {
        var value = item.GetMetadata(metadata);
        if (!string.IsNullOrWhiteSpace(value)) return value.Trim();
        return string.IsNullOrWhiteSpace(property) ? fallback : property!.Trim();
    }

    private ITaskItem? ResolveOptions(ITaskItem chosen)
    {
        var name = chosen.ItemSpec;
        var version = Option(chosen, "Version", Version, "0.1.0");
        if (!ReleaseNames.IsValidVersion(version)) { Error("InvalidVersion", version, name); return null; }

        var baseOutput = FullDirectory(BaseOutputPath);
        var path = FullDirectory(Option(chosen, "Path", Path, System.IO.Path.Combine(baseOutput, "rel", name)));
        var tarball = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path.TrimEnd('/', '\\'))!, $"{name}-{version}.tar.gz");

        var includeRuntime = Option(chosen, "IncludeRuntime", IncludeRuntime, "true");
        if (!IsBool(includeRuntime))
        {
            var root = FullDirectory(includeRuntime);
            if (!Directory.Exists(System.IO.Path.Combine(root, "host", "fxr")) ||
                !Directory.Exists(System.IO.Path.Combine(root, "shared", "Microsoft.NETCore.App")))
            {
                Error("BadIncludeRuntime", includeRuntime, name);
                return null;
            }
            includeRuntime = root;
        }

        var isWindows = RuntimeIdentifier.StartsWith("win", StringComparison.OrdinalIgnoreCase);
        var executables = Option(chosen, "ExecutablesFor", ExecutablesFor, isWindows ? "windows" : "unix");
        foreach (var e in SplitList(executables))
            if (e != "unix" && e != "windows") { Error("UnknownExecutables", e); return null; }

        var steps = SplitList(Option(chosen, "Steps", Steps, "assemble"));
        foreach (var s in steps)
            if (!ReleaseNames.KnownSteps.Contains(s)) { Error("UnknownStep", s, name); return null; }
        if (steps.Count(s => s == "assemble") != 1 || steps.Count(s => s == "tar") > 1 ||
            (steps.Contains("tar") && steps.IndexOf("tar") < steps.IndexOf("assemble")))
        {
            Error("UnknownStep", string.Join(";", steps), name);
            return null;
        }

        var mode = Option(chosen, "Mode", Mode, "embedded");
        if (mode != "embedded" && mode != "interactive") { Error("UnknownMode", mode); return null; }

        var cookie = Option(chosen, "Cookie", Cookie, "");
        if (cookie.Length > 0 && (cookie.Length < 32 || cookie.Length > 256 || cookie.Any(c => c <= ' ' || c > '~' || c == '"' || c == '\'')))
        {
            Error("InvalidCookie", cookie.Length);
            return null;
        }

        var project = chosen.GetMetadata("Project");
        if (!string.IsNullOrWhiteSpace(project))
        {
            var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(ProjectDirectory, project.Trim()));
            if (!File.Exists(full)) { Error("ProjectNotFound", name, project.Trim(), ProjectDirectory); return null; }
            project = full;
        }

        var item = new TaskItem(name);
        item.SetMetadata("Version", version);
        item.SetMetadata("Path", path);
        item.SetMetadata("Tarball", tarball);
        item.SetMetadata("IncludeRuntime", includeRuntime.ToLowerInvariant() is "true" or "false" ? includeRuntime.ToLowerInvariant() : includeRuntime);
        item.SetMetadata("ExecutablesFor", string.Join(";", SplitList(executables)));
        item.SetMetadata("Steps", string.Join(";", steps));
        item.SetMetadata("Strip", Option(chosen, "Strip", Strip, "false").ToLowerInvariant());
        item.SetMetadata("Mode", mode);
        item.SetMetadata("Cookie", cookie);
        item.SetMetadata("TemplatesPath", FullDirectory(Option(chosen, "TemplatesPath", TemplatesPath, "rel")));
        item.SetMetadata("Project", project ?? "");
        item.SetMetadata("Entry", chosen.GetMetadata("Entry"));
        item.SetMetadata("RuntimeIdentifier", RuntimeIdentifier);
        return item;
    }

    /// <summary>The targets to run, in order: each step's target with the user's ReleaseStep targets around it.</summary>
    private string[] OrderSteps(ITaskItem release)
    {
        var steps = release.GetMetadata("Steps").Split(';');
        var order = new List<string>();
        foreach (var step in steps)
        {
            foreach (var extra in ExtraSteps)
                if (Placement(extra, steps, release.ItemSpec) is ("Before", var s) && s == step) order.Add(extra.ItemSpec);
            order.Add(step == "assemble" ? "_RelcraftAssemble" : "_RelcraftTar");
            foreach (var extra in ExtraSteps)
                if (Placement(extra, steps, release.ItemSpec) is ("After", var s) && s == step) order.Add(extra.ItemSpec);
        }
        return order.ToArray();
    }

    private readonly HashSet<string> _reportedPlacement = new(StringComparer.Ordinal);

    private (string Where, string Step)? Placement(ITaskItem extra, string[] steps, string release)
    {
        var before = extra.GetMetadata("Before").Trim();
        var after = extra.GetMetadata("After").Trim();
        if ((before.Length > 0) == (after.Length > 0) || !steps.Contains(before.Length > 0 ? before : after))
        {
            if (_reportedPlacement.Add(extra.ItemSpec))
                Error("BadStepPlacement", extra.ItemSpec, release, string.Join(", ", steps), before, after);
            return null;
        }
        return before.Length > 0 ? ("Before", before) : ("After", after);
    }

    private string FullDirectory(string path)
    {
        // MSBuild hands over "bin\" as it is when the folder does not exist yet; on Unix that is not a separator.
        if (System.IO.Path.DirectorySeparatorChar == '/') path = path.Replace('\\', '/');
        var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(ProjectDirectory, path));
        return full.EndsWith("/", StringComparison.Ordinal) || full.EndsWith("\\", StringComparison.Ordinal) ? full : full + System.IO.Path.DirectorySeparatorChar;
    }

    private static bool IsBool(string value) => value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("false", StringComparison.OrdinalIgnoreCase);

    internal static List<string> SplitList(string value) =>
        value.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
