namespace Kv;

/// <summary>
/// One line of the Mix &amp; OTP text protocol, parsed. Pure: <see cref="Parse"/> and
/// <see cref="Run"/> touch no sockets, so they are easy to unit test.
/// </summary>
/// <example>
/// <code>
/// CREATE shopping        → OK
/// PUT shopping milk 1    → OK
/// GET shopping milk      → 1, OK
/// DELETE shopping eggs   → OK
/// </code>
/// </example>
public abstract record Command
{
    public const string Ok = "OK\r\n";
    public const string NotFound = "NOT FOUND\r\n";
    public const string Unknown = "UNKNOWN COMMAND\r\n";

    public sealed record Create(string Bucket) : Command;
    public sealed record Get(string Bucket, string Key) : Command;
    public sealed record Put(string Bucket, string Key, string Value) : Command;
    public sealed record Delete(string Bucket, string Key) : Command;
    /// <summary>Anything that is not one of the commands above.</summary>
    public sealed record Invalid : Command;

    /// <summary>Parses one line (without its line ending). Never throws.</summary>
    public static Command Parse(string line)
    {
        var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return words switch
        {
            ["CREATE", var bucket] => new Create(bucket),
            ["GET", var bucket, var key] => new Get(bucket, key),
            ["PUT", var bucket, var key, var value] => new Put(bucket, key, value),
            ["DELETE", var bucket, var key] => new Delete(bucket, key),
            _ => new Invalid(),
        };
    }

    /// <summary>Runs the command against <paramref name="registry"/> and returns the full response text.</summary>
    public string Run(Registry registry)
    {
        switch (this)
        {
            case Create c:
                registry.Create(c.Bucket);
                return Ok;
            case Get g:
                return registry.TryLookup(g.Bucket, out var gb) ? $"{gb.Get(g.Key)}\r\n{Ok}" : NotFound;
            case Put p:
                if (!registry.TryLookup(p.Bucket, out var pb)) return NotFound;
                pb.Put(p.Key, p.Value);
                return Ok;
            case Delete d:
                if (!registry.TryLookup(d.Bucket, out var db)) return NotFound;
                db.Delete(d.Key);
                return Ok;
            default:
                return Unknown;
        }
    }
}
