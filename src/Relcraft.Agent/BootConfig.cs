using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Relcraft.Agent;

/// <summary>
/// releases/VSN/runtime.json (the runtime.exs analogue): JSON in .NET configuration shape whose
/// strings may use ${VAR}, ${VAR:-default} and ${VAR:?message}. Resolved at every boot before
/// Main and applied as Section__Key environment variables — which a default host builder's
/// configuration reads — unless the real environment already has that variable (it wins).
/// Then each ReleaseConfigProvider named in the runtimeconfig (Relcraft.ConfigProviders) may
/// add or change keys.
/// </summary>
internal static class BootConfig
{

    public static void Apply(string root)
    {
        var vsn = Environment.GetEnvironmentVariable("RELEASE_VSN") ?? "";
        var relative = $"releases/{vsn}/runtime.json";
        var path = Path.Combine(root, "releases", vsn, "runtime.json");
        var settings = new SortedDictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (File.Exists(path)) Read(File.ReadAllText(path), relative, settings);
        ConfigProviders.Run(settings);
        foreach (var (key, value) in settings)
        {
            var name = key.Replace(":", "__");
            if (Environment.GetEnvironmentVariable(name) is null) Environment.SetEnvironmentVariable(name, value);
        }
    }

    internal static void Read(string json, string displayPath, IDictionary<string, string?> settings)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new BootConfigException($"{displayPath}: invalid JSON at line {(e.LineNumber ?? 0) + 1}: {e.Message.Split('.')[0]}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new BootConfigException($"{displayPath}: the top level must be a JSON object");
            Flatten(doc.RootElement, "", displayPath, settings);
        }
    }

    private static void Flatten(JsonElement element, string prefix, string displayPath, IDictionary<string, string?> settings)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject()) Flatten(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}:{p.Name}", displayPath, settings);
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray()) Flatten(item, $"{prefix}:{i++}", displayPath, settings);
                break;
            case JsonValueKind.String:
                settings[prefix] = Substitute(element.GetString()!, displayPath);
                break;
            case JsonValueKind.Null:
                settings[prefix] = null;
                break;
            default:
                settings[prefix] = element.GetRawText();
                break;
        }
    }

    /// <summary>Shell-style references: ${VAR} (empty when unset), ${VAR:-default} (when unset or empty), ${VAR:?message} (stop the boot).</summary>
    internal static string Substitute(string value, string displayPath) =>
        EnvReferences.Substitute(value, Environment.GetEnvironmentVariable, out var error) ?? throw new BootConfigException($"{displayPath}: {error}");
}

internal sealed class BootConfigException(string message) : Exception(message);

/// <summary>
/// ReleaseConfigProvider items: types in the app implementing Relcraft.Runtime.IReleaseConfigProvider
/// (matched by name, so the app's copy of Relcraft.Runtime is the one that counts).
/// </summary>
internal static class ConfigProviders
{
    public static void Run(IDictionary<string, string?> settings)
    {
        if (AppContext.GetData("Relcraft.ConfigProviders") is not string list || list.Length == 0) return;
        foreach (var name in list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Type? type;
            try { type = Type.GetType(name, throwOnError: false); }
            catch (Exception e) { throw new BootConfigException($"config provider {name}: {e.Message}"); }
            if (type is null) throw new BootConfigException($"config provider {name}: type not found in the app");
            var load = type.GetInterface("Relcraft.Runtime.IReleaseConfigProvider")?.GetMethod("Load")
                ?? throw new BootConfigException($"config provider {name}: does not implement Relcraft.Runtime.IReleaseConfigProvider");
            try { load.Invoke(Activator.CreateInstance(type), [settings]); }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
            {
                throw new BootConfigException($"config provider {name}: {e.InnerException.GetType().Name}: {e.InnerException.Message}");
            }
        }
    }
}
