using System.Text;
using System.Text.RegularExpressions;

namespace Relcraft.Sdk;

/// <summary>
/// Renders {{PLACEHOLDER}} templates. Only the documented placeholders exist; anything else
/// in double braces is a mistake the user must hear about, not text to pass through.
/// </summary>
internal sealed class TemplateRenderer
{
    private static readonly Regex Placeholder = new(@"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", RegexOptions.CultureInvariant);
    private readonly IReadOnlyDictionary<string, string> _values;

    public TemplateRenderer(IReadOnlyDictionary<string, string> values) => _values = values;

    public IEnumerable<string> Known => _values.Keys.OrderBy(k => k, StringComparer.Ordinal);

    /// <summary>Renders, or returns null and the first unknown placeholder.</summary>
    public string? Render(string template, out string? unknown)
    {
        string? firstUnknown = null;
        var text = Placeholder.Replace(template, m =>
        {
            if (_values.TryGetValue(m.Groups[1].Value, out var value)) return value;
            firstUnknown ??= m.Groups[1].Value;
            return m.Value;
        });
        unknown = firstUnknown;
        return unknown is null ? text : null;
    }

    /// <summary>Quotes a value for POSIX sh: single quotes, embedded quotes closed and escaped.</summary>
    public static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''") + "'";

    /// <summary>Lines of sh that give each variable a default the operator's environment can override.</summary>
    public static string ShellDefaults(IEnumerable<KeyValuePair<string, string>> env)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in env)
            sb.Append("[ -n \"${").Append(name).Append("+set}\" ] || ").Append(name).Append('=').Append(ShellQuote(value))
              .Append("\nexport ").Append(name).Append('\n');
        return sb.ToString();
    }

    /// <summary>The same defaults for cmd.exe.</summary>
    public static string BatchDefaults(IEnumerable<KeyValuePair<string, string>> env)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in env)
            sb.Append("if not defined ").Append(name).Append(" set \"").Append(name).Append('=').Append(value.Replace("%", "%%").Replace("\"", "")).Append("\"\r\n");
        return sb.ToString();
    }
}
