using System.Collections.Concurrent;

namespace Kv;

/// <summary>A thread-safe string-to-string map (the guide's <c>KV.Bucket</c>).</summary>
public sealed class Bucket
{
    private readonly ConcurrentDictionary<string, string> _entries = new(StringComparer.Ordinal);

    /// <summary>Returns the value stored under <paramref name="key"/>, or null.</summary>
    public string? Get(string key) => _entries.TryGetValue(key, out var value) ? value : null;

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, replacing any old value.</summary>
    public void Put(string key, string value) => _entries[key] = value;

    /// <summary>Removes <paramref name="key"/> and returns its old value, or null if it was absent.</summary>
    public string? Delete(string key) => _entries.TryRemove(key, out var value) ? value : null;

    public int Count => _entries.Count;

    /// <summary>A copy of the entries.</summary>
    public IReadOnlyDictionary<string, string> Snapshot() => new Dictionary<string, string>(_entries, StringComparer.Ordinal);
}
