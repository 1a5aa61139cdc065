using System.Security.Cryptography;
using System.Text;
using Relcraft.Launcher;
using System.Text.Json;
using Microsoft.Build.Framework;
using Microsoft.Extensions.FileSystemGlobbing;

namespace Relcraft.Sdk.Tasks;

/// <summary>
/// Act step: writes the release described by the resolved Release item — app, runtime,
/// launcher, rendered templates, runtimeconfig, cookie, overlays and the sha256 manifest —
/// through <see cref="ReleaseWriter"/>, which leaves an up-to-date release untouched.
/// </summary>
public sealed class AssembleRelease : RelcraftTask
{
    /// <summary>The item ResolveRelease produced.</summary>
    [Required] public ITaskItem Release { get; set; } = null!;
    /// <summary>The app's publish output; RelativePath metadata places each file in lib/NAME-VSN/.</summary>
    [Required] public ITaskItem[] AppFiles { get; set; } = [];
    /// <summary>File name of the entry assembly, e.g. Kv.dll.</summary>
    [Required] public string EntryAssembly { get; set; } = "";
    /// <summary>Folder with the packaged launcher/env templates.</summary>
    [Required] public string TemplatesDirectory { get; set; } = "";
    /// <summary>bundled (runtime/dotnet), apphost (lib/…/apphost + runtime/) or system (machine's dotnet).</summary>
    [Required] public string LaunchMode { get; set; } = "";
    public ITaskItem[] RuntimeFiles { get; set; } = [];
    public ITaskItem[] Frameworks { get; set; } = [];
    public ITaskItem[] ToolFiles { get; set; } = [];
    public ITaskItem[] Overlays { get; set; } = [];
    public ITaskItem[] EnvironmentVariables { get; set; } = [];
    public ITaskItem[] RuntimeOptions { get; set; } = [];
    /// <summary>ReleaseHook items: scripts with Event metadata (pre_start, post_start, pre_stop, post_stop).</summary>
    public ITaskItem[] Hooks { get; set; } = [];
    /// <summary>ReleaseCommand items: NAME with Expression (eval), Rpc or Script metadata.</summary>
    public ITaskItem[] Commands { get; set; } = [];
    /// <summary>ReleaseSocket items: NAME with Listen (ADDR:PORT, [V6]:PORT, unix:/path or /path; ${VAR} resolved at boot) and Kestrel.</summary>
    public ITaskItem[] Sockets { get; set; } = [];
    /// <summary>ReleaseConfigProvider items: types implementing Relcraft.Runtime.IReleaseConfigProvider.</summary>
    public ITaskItem[] ConfigProviders { get; set; } = [];
    public string? ProjectDirectory { get; set; }
    /// <summary>Hash cache in obj/.</summary>
    public string? StateFile { get; set; }

    [Output] public string ManifestPath { get; private set; } = "";
    [Output] public bool Changed { get; private set; }

    private string Name => Release.ItemSpec;
    private string Version => Release.GetMetadata("Version");
    private string Root => Release.GetMetadata("Path");

    public override bool Execute()
    {
        var plan = new ReleasePlan();
        var libDir = $"lib/{Name}-{Version}";
        var relDir = $"releases/{Version}";

        var appRuntimeConfig = AppLayout.RuntimeConfig(AppFiles, EntryAssembly);
        if (!AppFiles.Any(f => string.Equals(AppLayout.RelativePath(f), EntryAssembly, StringComparison.OrdinalIgnoreCase)))
        {
            Error("BadEntry", Name, EntryAssembly);
            return false;
        }
        if (appRuntimeConfig is null)
        {
            Error("ProjectNotExecutable", Name, Release.GetMetadata("Project") is { Length: > 0 } p ? p : ProjectFile ?? "");
            return false;
        }

        var strip = Release.GetMetadata("Strip") == "true";
        foreach (var file in AppFiles)
        {
            var rel = AppLayout.RelativePath(file);
            if (strip && rel.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase)) continue;
            if (rel.Equals(AppLayout.RelativePath(appRuntimeConfig), StringComparison.OrdinalIgnoreCase)) continue;
            plan.Copy($"{libDir}/{rel}", file.ItemSpec);
        }
        foreach (var file in RuntimeFiles) plan.Copy($"runtime/{AppLayout.RelativePath(file)}", file.ItemSpec);
        // NuGet extracts packages without execute bits: the native launcher says so in its metadata.
        foreach (var file in ToolFiles)
            plan.Copy($"lib/relcraft-{RelcraftVersion}/{AppLayout.RelativePath(file)}", file.ItemSpec,
                file.GetMetadata("Executable") == "true" ? ReleasePlan.Executable : null);

        var options = new List<KeyValuePair<string, string>>();
        foreach (var option in RuntimeOptions)
        {
            if (!option.ItemSpec.Contains('.') || option.ItemSpec.Any(char.IsWhiteSpace)) { Error("BadRuntimeOptionName", option.ItemSpec); continue; }
            var value = option.GetMetadata("Value");
            if (string.IsNullOrEmpty(value)) { Error("RuntimeOptionWithoutValue", option.ItemSpec); continue; }
            options.Add(new(option.ItemSpec, value));
        }
        var env = new List<KeyValuePair<string, string>>();
        foreach (var variable in EnvironmentVariables)
        {
            if (!ReleaseNames.IsValidEnvName(variable.ItemSpec)) { Error("InvalidEnvName", variable.ItemSpec); continue; }
            env.Add(new(variable.ItemSpec, variable.GetMetadata("Value")));
        }
        if (ConfigProviders.Length > 0)
        {
            var entryName = Path.GetFileNameWithoutExtension(EntryAssembly);
            options.Add(new("Relcraft.ConfigProviders", string.Join(";", ConfigProviders.Select(p => p.ItemSpec.Contains(',') ? p.ItemSpec : $"{p.ItemSpec}, {entryName}"))));
        }
        AddHooks(plan, relDir);
        AddCommands(plan, relDir);
        AddSockets(plan, relDir);
        if (Log.HasLoggedErrors) return false;

        var runtimeConfigName = $"{Name}.runtimeconfig.json";
        var bundled = LaunchMode == "system" ? null : Frameworks.Select(f => new RuntimeConfig.Framework(f.ItemSpec, f.GetMetadata("Version"))).ToList();
        plan.Write($"{relDir}/{runtimeConfigName}", RuntimeConfig.Merge(appRuntimeConfig.ItemSpec, options, bundled));
        if (LaunchMode == "apphost")
            plan.Link($"{libDir}/{AppLayout.RelativePath(appRuntimeConfig)}", $"../../{relDir}/{runtimeConfigName}");
        plan.Write("releases/start.data", Utf8($"{Version}\n"));
        plan.Write("releases/COOKIE", Utf8(Cookie()), ReleasePlan.Secret);

        if (!RenderTemplates(plan, relDir, env)) return false;
        if (!AddOverlays(plan)) return false;

        var hashes = FileHashes.Load(StateFile);
        var manifest = Manifest(plan, hashes);
        ManifestPath = Path.Combine(Root, relDir, "release.json");
        plan.Write($"{relDir}/release.json", manifest);

        var outcome = new ReleaseWriter(Root).Write(plan);
        hashes.Save();
        Changed = outcome.Changed;
        Log.LogMessage(MessageImportance.Normal, outcome.Changed
            ? $"Release {Name}-{Version}: {outcome.Copied} files written, {outcome.Linked} kept, {outcome.Removed} removed."
            : $"Release {Name}-{Version} is up to date.");
        return !Log.HasLoggedErrors;
    }

    private static readonly string[] HookEvents = ["pre_start", "post_start", "pre_stop", "post_stop"];
    private static readonly string[] BuiltInCommands = ["start", "console", "daemon", "stop", "restart", "pid", "status", "ping", "rpc", "remote", "eval", "version", "help", "install", "uninstall", "upgrade", "downgrade", "versions", "verify"];

    /// <summary>releases/VSN/hooks/EVENT/NN-file: the launcher runs them in that order.</summary>
    private void AddHooks(ReleasePlan plan, string relDir)
    {
        var projectDir = ProjectDirectory ?? Environment.CurrentDirectory;
        var counts = new Dictionary<string, int>();
        foreach (var hook in Hooks)
        {
            var evt = hook.GetMetadata("Event").Trim();
            if (!HookEvents.Contains(evt)) { Error("UnknownHookEvent", hook.ItemSpec, evt); continue; }
            var source = Path.GetFullPath(Path.Combine(projectDir, hook.ItemSpec));
            if (!File.Exists(source)) { Error("HookMissing", hook.ItemSpec); continue; }
            counts[evt] = counts.TryGetValue(evt, out var n) ? n + 1 : 1;
            plan.Copy($"{relDir}/hooks/{evt}/{counts[evt]:00}-{Path.GetFileName(source)}", source, ReleasePlan.Executable);
        }
    }

    /// <summary>releases/VSN/commands/NAME.eval|.rpc|.sh: the launcher's custom commands.</summary>
    private void AddCommands(ReleasePlan plan, string relDir)
    {
        var projectDir = ProjectDirectory ?? Environment.CurrentDirectory;
        foreach (var command in Commands)
        {
            var name = command.ItemSpec;
            var kinds = new[] { ("eval", command.GetMetadata("Expression")), ("rpc", command.GetMetadata("Rpc")), ("sh", command.GetMetadata("Script")) }
                .Where(k => k.Item2.Trim().Length > 0).ToList();
            if (!ReleaseNames.IsValidName(name)) { Error("BadCommand", name, "the name is not allowed."); continue; }
            if (BuiltInCommands.Contains(name)) { Error("BadCommand", name, "it is a built-in command."); continue; }
            if (kinds.Count != 1) { Error("BadCommand", name, $"it has {kinds.Count} of Expression, Rpc and Script."); continue; }
            var (kind, value) = kinds[0];
            if (kind == "sh")
            {
                var script = Path.GetFullPath(Path.Combine(projectDir, value.Trim()));
                if (!File.Exists(script)) { Error("BadCommand", name, $"its Script '{value}' does not exist."); continue; }
                plan.Copy($"{relDir}/commands/{name}.sh", script, ReleasePlan.Executable);
            }
            else
            {
                plan.Write($"{relDir}/commands/{name}.{kind}", Utf8(value.Trim() + "\n"));
            }
        }
    }

    /// <summary>
    /// releases/VSN/sockets: "NAME\tLISTEN\tkestrel|raw" per ReleaseSocket, read by the launcher, which
    /// resolves ${VAR} in LISTEN at boot and binds them (the supervisor holds them across restarts).
    /// What can be known now is checked now; a LISTEN with ${VAR} in it is checked again at boot.
    /// </summary>
    private void AddSockets(ReleasePlan plan, string relDir)
    {
        if (Sockets.Length == 0) return;
        var lines = new StringBuilder();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var socket in Sockets)
        {
            var name = socket.ItemSpec;
            var listen = socket.GetMetadata("Listen").Trim();
            var kestrel = socket.GetMetadata("Kestrel").Trim();
            if (!ReleaseNames.IsValidName(name)) { Error("BadSocket", name, "the name must match ^[a-z][a-z0-9_-]*$."); continue; }
            if (!names.Add(name)) { Error("BadSocket", name, "it is declared twice."); continue; }
            if (listen.Length == 0) { Error("BadSocket", name, "it has no Listen."); continue; }
            if (listen.IndexOfAny(['\t', '\n', '\r']) >= 0) { Error("BadSocket", name, "its Listen has a tab or line break in it."); continue; }
            if (kestrel is not ("" or "true" or "false")) { Error("BadSocket", name, $"Kestrel is '{kestrel}'; use true or false."); continue; }
            // With the defaults filled in, a Listen is checked now; one that needs a variable without default waits for the boot.
            if (Relcraft.Agent.EnvReferences.Substitute(listen, null, out _) is { } resolved && ListenAddress.Parse(resolved, out var why) is null)
            {
                Error("BadSocket", name, $"Listen '{listen}': {why}.");
                continue;
            }
            lines.Append(name).Append('\t').Append(listen).Append('\t').Append(kestrel == "false" ? "raw" : "kestrel").Append('\n');
        }
        plan.Write($"{relDir}/sockets", Utf8(lines.ToString()));
    }

    private bool RenderTemplates(ReleasePlan plan, string relDir, List<KeyValuePair<string, string>> env)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["RELEASE_NAME"] = Name,
            ["RELEASE_VSN"] = Version,
            ["RELEASE_MODE"] = Release.GetMetadata("Mode"),
            ["RELEASE_RID"] = Release.GetMetadata("RuntimeIdentifier"),
            ["RELEASE_ENTRY"] = EntryAssembly,
            ["RELCRAFT_VERSION"] = RelcraftVersion,
            ["RUNTIME_MODE"] = LaunchMode,
            ["APPHOST"] = Path.GetFileNameWithoutExtension(EntryAssembly),
        };
        var renderer = new TemplateRenderer(values);
        var userTemplates = Release.GetMetadata("TemplatesPath");
        var executables = Release.GetMetadata("ExecutablesFor").Split(';');

        if (executables.Contains("unix"))
        {
            if (!Render(renderer, Path.Combine(TemplatesDirectory, "launcher.sh"), out var launcher)) return false;
            plan.Write($"bin/{Name}", Utf8(launcher!), ReleasePlan.Executable);
            // This version's own copy: upgrade and downgrade run the launcher of the version they switch to, and put it at bin/.
            plan.Write($"{relDir}/bin/{Name}", Utf8(launcher!), ReleasePlan.Executable);
            if (!Render(renderer, Pick(userTemplates, "env.sh.template", "env.sh"), out var envSh)) return false;
            plan.Write($"{relDir}/env.sh", Utf8(EnvHeader("#", TemplateRenderer.ShellDefaults(env)) + envSh));
        }
        if (executables.Contains("windows"))
        {
            if (!Render(renderer, Path.Combine(TemplatesDirectory, "launcher.bat"), out var bat)) return false;
            plan.Write($"bin/{Name}.bat", Utf8(Crlf(bat!)));
            plan.Write($"{relDir}/bin/{Name}.bat", Utf8(Crlf(bat!)));
            if (!Render(renderer, Pick(userTemplates, "env.bat.template", "env.bat"), out var envBat)) return false;
            plan.Write($"{relDir}/env.bat", Utf8(Crlf("@echo off\n" + EnvHeader("rem", TemplateRenderer.BatchDefaults(env)) + envBat)));
        }
        if (!Render(renderer, Pick(userTemplates, "runtime.json", "runtime.json"), out var runtimeJson)) return false;
        plan.Write($"{relDir}/runtime.json", Utf8(runtimeJson!));
        return true;
    }

    private static string EnvHeader(string comment, string defaults) =>
        defaults.Length == 0 ? "" : $"{comment} ReleaseEnv items from the project: defaults the environment can override.\n{defaults}\n";

    private string Pick(string userTemplates, string userName, string builtInName)
    {
        var user = Path.Combine(userTemplates, userName);
        return File.Exists(user) ? user : Path.Combine(TemplatesDirectory, builtInName);
    }

    private bool Render(TemplateRenderer renderer, string templatePath, out string? text)
    {
        text = renderer.Render(File.ReadAllText(templatePath), out var unknown);
        if (text is not null) return true;
        Log.LogErrorWithCodeFromResources(null, templatePath, 0, 0, 0, 0, "UnknownPlaceholder", unknown!, templatePath, string.Join(", ", renderer.Known.Select(k => "{{" + k + "}}")));
        return false;
    }

    private bool AddOverlays(ReleasePlan plan)
    {
        var root = Path.GetFullPath(Root);
        var overlayDir = Path.Combine(Release.GetMetadata("TemplatesPath"), "overlays");
        if (Directory.Exists(overlayDir))
            foreach (var (source, rel) in Glob(overlayDir)) plan.Copy(rel, source);

        var projectDir = ProjectDirectory ?? Environment.CurrentDirectory;
        foreach (var overlay in Overlays)
        {
            var source = Path.GetFullPath(Path.Combine(projectDir, overlay.ItemSpec));
            var destination = overlay.GetMetadata("Destination");
            IEnumerable<(string Source, string Rel)> files;
            if (File.Exists(source))
            {
                var rel = destination.Length == 0 ? Path.GetRelativePath(projectDir, source)
                    : destination.EndsWith('/') || destination.EndsWith('\\') ? Path.Combine(destination, Path.GetFileName(source)) : destination;
                files = [(source, rel)];
            }
            else if (Directory.Exists(source))
            {
                var prefix = destination.Length == 0 ? Path.GetRelativePath(projectDir, source) : destination;
                files = Glob(source).Select(f => (f.Source, Path.Combine(prefix, f.Rel)));
            }
            else { Error("OverlayMissing", overlay.ItemSpec); continue; }

            foreach (var (file, rel) in files)
            {
                var target = Path.GetFullPath(Path.Combine(root, rel));
                if (!target.StartsWith(root, StringComparison.Ordinal) || target.Length == root.Length ||
                    ReleaseWriter.Preserved.Any(p => target.StartsWith(Path.Combine(root, p) + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
                {
                    Error("OverlayEscapes", overlay.ItemSpec, rel);
                    continue;
                }
                plan.Copy(Path.GetRelativePath(root, target), file);
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static IEnumerable<(string Source, string Rel)> Glob(string directory)
    {
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude("**/*");
        return matcher.GetResultsInFullPath(directory).OrderBy(p => p, StringComparer.Ordinal)
            .Select(p => (p, Path.GetRelativePath(directory, p)));
    }

    /// <summary>ReleaseCookie if given, else the cookie already in the release, else 32 fresh random bytes.</summary>
    private string Cookie()
    {
        var configured = Release.GetMetadata("Cookie");
        if (configured.Length > 0) return configured;
        var existing = Path.Combine(Root, "releases", "COOKIE");
        if (File.Exists(existing))
        {
            var text = File.ReadAllText(existing).Trim();
            if (text.Length >= 32) return text;
        }
        return Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
    }

    /// <summary>release.json: what a release is and the sha256 of every file in it (the cookie excepted).</summary>
    private byte[] Manifest(ReleasePlan plan, FileHashes hashes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("name", Name);
            json.WriteString("version", Version);
            json.WriteString("rid", Release.GetMetadata("RuntimeIdentifier"));
            json.WriteString("mode", Release.GetMetadata("Mode"));
            json.WriteString("relcraft", RelcraftVersion);
            json.WriteString("launch", LaunchMode);
            json.WriteString("entry", $"lib/{Name}-{Version}/{EntryAssembly}");
            json.WriteStartArray("frameworks");
            foreach (var fx in Frameworks)
            {
                json.WriteStartObject();
                json.WriteString("name", fx.ItemSpec);
                json.WriteString("version", fx.GetMetadata("Version"));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("files");
            foreach (var file in plan.Files)
            {
                if (file.RelativePath == "releases/COOKIE") continue;
                json.WriteStartObject();
                json.WriteString("path", file.RelativePath);
                if (file.LinkTarget is not null) json.WriteString("link", file.LinkTarget);
                else
                {
                    json.WriteNumber("size", file.Content?.Length ?? new FileInfo(file.SourcePath!).Length);
                    json.WriteString("sha256", file.Content is not null ? FileHashes.Compute(file.Content) : hashes.Of(file.SourcePath!));
                    json.WriteString("mode", Convert.ToString((int)file.Mode, 8).PadLeft(4, '0'));
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray().Concat("\n"u8.ToArray()).ToArray();
    }


    private static byte[] Utf8(string text) => new UTF8Encoding(false).GetBytes(text);
    private static string Crlf(string text) => text.Replace("\r\n", "\n").Replace("\n", "\r\n");
}
