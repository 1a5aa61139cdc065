namespace Relcraft.Launcher;

/// <summary>One ReleaseSocket item: its name, where it listens (references resolved), and whether Kestrel or raw code takes it.</summary>
internal sealed record DeclaredSocket(string Name, string Listen, bool Kestrel);

/// <summary>
/// releases/VSN/sockets (see <see cref="Sockets.ParseLines"/>) with each Listen's ${VAR},
/// ${VAR:-default} and ${VAR:?message} resolved from the launcher's environment (env.sh already
/// sourced): what install writes into socket units.
/// </summary>
internal static class SocketsFile
{
    public static string PathOf(Release release) => Sockets.FileOf(release);

    public static IReadOnlyList<DeclaredSocket> Read(Release release)
    {
        var path = PathOf(release);
        return File.Exists(path) ? Parse(File.ReadAllText(path), release.Env, path) : [];
    }

    public static IReadOnlyList<DeclaredSocket> Parse(string text, IReadOnlyDictionary<string, string> env, string displayPath) =>
        Sockets.ParseLines(text, displayPath)
            .Select(spec => new DeclaredSocket(spec.Name, Sockets.Substitute(spec, name => env.TryGetValue(name, out var v) ? v : null), spec.Kestrel))
            .ToList();
}
