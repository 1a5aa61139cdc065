using System.Text;

namespace Relcraft.Launcher;

/// <summary>One ReleaseSocket item: its name, where it listens (references resolved), and whether Kestrel or raw code takes it.</summary>
internal sealed record DeclaredSocket(string Name, string Listen, bool Kestrel);

/// <summary>
/// releases/VSN/sockets, written by the build: one line per ReleaseSocket item,
/// <c>name TAB listen TAB kestrel|raw</c>. listen may hold ${VAR}, ${VAR:-default} and
/// ${VAR:?message}, resolved from the launcher's environment (env.sh already sourced).
/// The launcher's own small reader until a shared one exists; install is its only user.
/// </summary>
internal static class SocketsFile
{
    public static string PathOf(Release release) => Path.Combine(release.VsnDir, "sockets");

    public static IReadOnlyList<DeclaredSocket> Read(Release release)
    {
        var path = PathOf(release);
        return File.Exists(path) ? Parse(File.ReadAllText(path), release.Env, path) : [];
    }

    public static IReadOnlyList<DeclaredSocket> Parse(string text, IReadOnlyDictionary<string, string> env, string displayPath)
    {
        var sockets = new List<DeclaredSocket>();
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var fields = line.Split('\t');
            if (fields.Length != 3 || fields[0].Length == 0 || fields[1].Length == 0 || fields[2] is not ("kestrel" or "raw"))
                throw new LauncherException($"{displayPath}:{lineNumber}: expected 'name<TAB>listen<TAB>kestrel|raw', got '{line}'");
            sockets.Add(new DeclaredSocket(fields[0], Substitute(fields[1], env, $"socket {fields[0]}"), fields[2] == "kestrel"));
        }
        return sockets;
    }

    /// <summary>Shell-style references: ${VAR} (empty when unset), ${VAR:-default} (when unset or empty), ${VAR:?message} (a one-line error).</summary>
    public static string Substitute(string value, IReadOnlyDictionary<string, string> env, string what)
    {
        var result = new StringBuilder();
        var i = 0;
        while (i < value.Length)
        {
            var start = value.IndexOf("${", i, StringComparison.Ordinal);
            var end = start < 0 ? -1 : value.IndexOf('}', start);
            if (end < 0) { result.Append(value, i, value.Length - i); break; }
            result.Append(value, i, start - i);
            var reference = value[(start + 2)..end];
            var op = reference.IndexOf(':');
            var name = op < 0 ? reference : reference[..op];
            var current = env.TryGetValue(name, out var v) ? v : "";
            if (op < 0) result.Append(current);
            else if (reference.AsSpan(op).StartsWith(":-")) result.Append(current.Length > 0 ? current : reference[(op + 2)..]);
            else if (reference.AsSpan(op).StartsWith(":?"))
            {
                if (current.Length == 0)
                    throw new LauncherException($"{what}: {name}: {(reference.Length > op + 2 ? reference[(op + 2)..] : "is not set")}");
                result.Append(current);
            }
            else throw new LauncherException($"{what}: '${{{reference}}}' is not ${{VAR}}, ${{VAR:-default}} or ${{VAR:?message}}");
            i = end + 1;
        }
        return result.ToString();
    }
}
