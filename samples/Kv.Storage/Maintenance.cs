namespace Kv;

/// <summary>One-off administrative tasks, meant to be called from a release's <c>eval</c> command.</summary>
public static class Maintenance
{
    /// <summary>
    /// Pretends to compact the storage under <paramref name="dir"/> and says so.
    /// (Storage is in memory; this exists to show <c>bin/kv eval "Kv.Maintenance.Compact(...)"</c>.)
    /// </summary>
    public static string Compact(string dir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        return $"compacted {Path.GetFullPath(dir)}";
    }
}
