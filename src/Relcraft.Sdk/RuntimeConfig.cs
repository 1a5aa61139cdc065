using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Relcraft.Sdk;

/// <summary>The app's *.runtimeconfig.json: which frameworks it runs on, and the release's copy with ReleaseRuntimeOption items merged in.</summary>
internal static class RuntimeConfig
{
    public sealed record Framework(string Name, string Version);

    public static IReadOnlyList<Framework> Frameworks(string runtimeConfigPath)
    {
        var root = JsonNode.Parse(File.ReadAllText(runtimeConfigPath))?["runtimeOptions"];
        var list = new List<Framework>();
        if (root?["framework"] is JsonObject single) list.Add(Read(single));
        if (root?["frameworks"] is JsonArray many)
            foreach (var f in many.OfType<JsonObject>()) list.Add(Read(f));
        return list;

        static Framework Read(JsonObject o) => new((string?)o["name"] ?? "", (string?)o["version"] ?? "");
    }

    /// <summary>
    /// The app's runtimeconfig with configProperties extended by the release's options (options win).
    /// With <paramref name="bundled"/> (the frameworks copied into runtime/), each framework is pinned to
    /// the version bundled and roll-forward is off: once an upgrade has put another version's runtime
    /// beside it in runtime/shared/, each version still runs on the runtime it was built with.
    /// </summary>
    public static byte[] Merge(string runtimeConfigPath, IEnumerable<KeyValuePair<string, string>> options, IReadOnlyList<Framework>? bundled = null)
    {
        var doc = JsonNode.Parse(File.ReadAllText(runtimeConfigPath)) as JsonObject ?? new JsonObject();
        var runtimeOptions = doc["runtimeOptions"] as JsonObject ?? (JsonObject)(doc["runtimeOptions"] = new JsonObject());
        if (bundled is { Count: > 0 })
        {
            var named = new List<JsonObject>();
            if (runtimeOptions["framework"] is JsonObject single) named.Add(single);
            if (runtimeOptions["frameworks"] is JsonArray many) named.AddRange(many.OfType<JsonObject>());
            foreach (var fx in named)
                if (bundled.FirstOrDefault(b => b.Name == (string?)fx["name"]) is { } pinned) fx["version"] = pinned.Version;
            runtimeOptions["rollForward"] = "Disable";
        }
        var props = runtimeOptions["configProperties"] as JsonObject ?? (JsonObject)(runtimeOptions["configProperties"] = new JsonObject());
        foreach (var (name, value) in options) props[name] = Typed(value);
        var json = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        return Encoding.UTF8.GetBytes(json.Replace("\r\n", "\n") + "\n");
    }

    /// <summary>runtimeconfig values are typed: true/false and numbers stay JSON booleans and numbers.</summary>
    private static JsonNode Typed(string value)
    {
        if (bool.TryParse(value, out var b)) return JsonValue.Create(b);
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) return JsonValue.Create(n);
        return JsonValue.Create(value);
    }
}
