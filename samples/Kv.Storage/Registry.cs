using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Kv;

/// <summary>A thread-safe map from bucket name to <see cref="Bucket"/> (the guide's <c>KV.Registry</c>).</summary>
public sealed class Registry
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>The process-wide registry used by the server and the storage node.</summary>
    public static Registry Default { get; } = new();

    /// <summary>Returns the bucket called <paramref name="name"/>, creating it if needed (idempotent).</summary>
    public Bucket Create(string name) => _buckets.GetOrAdd(name, static _ => new Bucket());

    public bool TryLookup(string name, [NotNullWhen(true)] out Bucket? bucket) =>
        _buckets.TryGetValue(name, out bucket);

    public int Count => _buckets.Count;

    /// <summary>A sorted snapshot of the bucket names.</summary>
    public IReadOnlyList<string> Names => _buckets.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>A copy of every bucket's entries, by bucket name (what a release hands to its next version).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Snapshot() =>
        _buckets.ToDictionary(b => b.Key, b => b.Value.Snapshot(), StringComparer.Ordinal);

    /// <summary>Replaces every bucket with those in <paramref name="snapshot"/>.</summary>
    public void Restore(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> snapshot)
    {
        _buckets.Clear();
        foreach (var (name, entries) in snapshot)
        {
            var bucket = Create(name);
            foreach (var (key, value) in entries) bucket.Put(key, value);
        }
    }
}
