using System.Globalization;

namespace Relcraft.Agent;

/// <summary>When idle scripting is unloaded: the decisions of <see cref="ScriptingLifetime"/>, without its clock and state.</summary>
internal static class ScriptingIdle
{
    public const string Variable = "RELEASE_SCRIPTING_IDLE";
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(300);

    /// <summary>
    /// RELEASE_SCRIPTING_IDLE: seconds without an evaluation after which scripting is unloaded
    /// (fractions allowed); 0 keeps it loaded for good; unset, 300. Anything else: 300, and a warning.
    /// </summary>
    public static TimeSpan? Parse(string? value, out string? warning)
    {
        warning = null;
        if (string.IsNullOrWhiteSpace(value)) return Default;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0 && seconds <= TimeSpan.MaxValue.TotalSeconds / 2)
            return seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
        warning = $"{Variable}={value} is not a number of seconds (0 keeps scripting loaded); using {Default.TotalSeconds}";
        return Default;
    }

    public static TimeSpan? FromEnvironment(TextWriter warnings)
    {
        var idle = Parse(Environment.GetEnvironmentVariable(Variable), out var warning);
        if (warning is not null) warnings.WriteLine($"relcraft agent: {warning}");
        return idle;
    }

    /// <summary>
    /// How long until idle scripting should be unloaded: zero for now; null when there is nothing to
    /// wait for — not loaded, an evaluation running, a REPL keeping state, or never (<paramref name="idle"/> null).
    /// </summary>
    public static TimeSpan? UnloadIn(bool loaded, int busy, int holds, TimeSpan sinceLastUse, TimeSpan? idle)
    {
        if (!loaded || busy > 0 || holds > 0 || idle is null) return null;
        return sinceLastUse >= idle.Value ? TimeSpan.Zero : idle.Value - sinceLastUse;
    }
}
