using System.Text;
using System.Text.Json;
using Relcraft.Runtime;

namespace Kv;

/// <summary>
/// The buckets, handed from one running version to the next by the supervisor on upgrade and downgrade.
/// Two shapes, chosen by building with <c>-p:KvStateVersion=2</c> (0.2.0 in the README's walkthrough):
/// 1 is one JSON object <c>{"bucket": {"key": "value"}}</c>; 2 is JSON lines, one per entry
/// <c>{"b":"bucket","k":"key","v":"value"}</c> and <c>{"b":"bucket"}</c> for an empty bucket.
/// Version 2 migrates 1 up on import and converts down to 1 when exporting for a version 1 process.
/// </summary>
public sealed class KvState(Registry registry) : IReleaseState
{
#if KV_STATE_V2
    public int Version => 2;
#else
    public int Version => 1;
#endif

    public int Export(Stream destination, int targetVersion)
    {
        var buckets = registry.Snapshot();
#if KV_STATE_V2
        if (targetVersion >= 2)
        {
            WriteLines(destination, buckets);
            return 2;
        }
#endif
        WriteObject(destination, buckets);
        return 1;
    }

    public void Import(Stream source, int version) => registry.Restore(version switch
    {
        1 => ReadObject(source),
#if KV_STATE_V2
        2 => ReadLines(source),
#endif
        _ => throw new NotSupportedException(
            $"state version {version} is newer than this code's {Version}; the newer version should have converted it down"),
    });

    private static void WriteObject(Stream destination, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> buckets)
    {
        using var json = new Utf8JsonWriter(destination);
        json.WriteStartObject();
        foreach (var (name, entries) in buckets)
        {
            json.WriteStartObject(name);
            foreach (var (key, value) in entries) json.WriteString(key, value);
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static Dictionary<string, IReadOnlyDictionary<string, string>> ReadObject(Stream source)
    {
        using var document = JsonDocument.Parse(source);
        return document.RootElement.EnumerateObject().ToDictionary(
            b => b.Name,
            b => (IReadOnlyDictionary<string, string>)b.Value.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetString()!, StringComparer.Ordinal),
            StringComparer.Ordinal);
    }

#if KV_STATE_V2
    private static void WriteLines(Stream destination, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> buckets)
    {
        foreach (var (name, entries) in buckets)
        {
            if (entries.Count == 0) WriteLine(destination, name, null, null);
            foreach (var (key, value) in entries) WriteLine(destination, name, key, value);
        }
    }

    private static void WriteLine(Stream destination, string bucket, string? key, string? value)
    {
        using (var json = new Utf8JsonWriter(destination))
        {
            json.WriteStartObject();
            json.WriteString("b", bucket);
            if (key is not null) json.WriteString("k", key);
            if (value is not null) json.WriteString("v", value);
            json.WriteEndObject();
        }
        destination.WriteByte((byte)'\n');
    }

    private static Dictionary<string, IReadOnlyDictionary<string, string>> ReadLines(Stream source)
    {
        var buckets = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        using var reader = new StreamReader(source, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            using var document = JsonDocument.Parse(line);
            var entry = document.RootElement;
            var bucket = entry.GetProperty("b").GetString()!;
            if (!buckets.TryGetValue(bucket, out var entries)) buckets[bucket] = entries = new(StringComparer.Ordinal);
            if (entry.TryGetProperty("k", out var key)) entries[key.GetString()!] = entry.GetProperty("v").GetString()!;
        }
        return buckets.ToDictionary(b => b.Key, b => (IReadOnlyDictionary<string, string>)b.Value, StringComparer.Ordinal);
    }
#endif
}
