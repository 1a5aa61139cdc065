using System.Text.RegularExpressions;

namespace Relcraft.Agent;

/// <summary>
/// runtime.json's references to the environment — ${VAR} (empty when unset), ${VAR:-default} (when unset
/// or empty), ${VAR:?message} (an error naming VAR) — in one place for every reader: the agent (runtime.json
/// at boot), the launcher (a ReleaseSocket's Listen) and the build tasks (Listen checked with its defaults).
/// Compiled into each as source.
/// </summary>
internal static partial class EnvReferences
{
    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();

    /// <summary>
    /// <paramref name="value"/> with its references resolved by <paramref name="lookup"/>; null with
    /// <paramref name="error"/> ("VAR: message") when a ${VAR:?message} is unset. A null lookup knows only the
    /// defaults (the build's view): anything else unknown gives null without an error.
    /// </summary>
    public static string? Substitute(string value, Func<string, string?>? lookup, out string? error)
    {
        string? failure = null;
        var unknown = false;
        var result = Reference().Replace(value, m =>
        {
            var name = m.Groups[1].Value;
            var current = lookup?.Invoke(name);
            var op = m.Groups[2].Value;
            if (string.IsNullOrEmpty(current))
            {
                if (op == ":-") return m.Groups[3].Value;
                if (lookup is null) { unknown = true; return ""; }
                if (op == ":?") failure ??= $"{name}: {(m.Groups[3].Value.Length > 0 ? m.Groups[3].Value : "is not set")}";
                return "";
            }
            return current;
        });
        error = failure;
        return failure is not null || unknown ? null : result;
    }
}
