using Relcraft.Agent;

namespace Relcraft.Sdk.Tests;

/// <summary>When the agent unloads idle Roslyn: RELEASE_SCRIPTING_IDLE, and the decision made each time the clock may have run out.</summary>
public sealed class ScriptingIdleTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(300);

    [Theory]
    [InlineData(null, 300.0)]
    [InlineData("", 300.0)]
    [InlineData("2", 2.0)]
    [InlineData("0.5", 0.5)]
    [InlineData(" 60 ", 60.0)]
    public void Idle_is_seconds_with_300_by_default(string? value, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), ScriptingIdle.Parse(value, out var warning));
        Assert.Null(warning);
    }

    [Fact]
    public void Zero_keeps_scripting_loaded_for_good()
    {
        Assert.Null(ScriptingIdle.Parse("0", out var warning));
        Assert.Null(warning);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("5m")]
    [InlineData("1e300")]
    public void Anything_else_is_300_with_a_warning_naming_the_value(string value)
    {
        Assert.Equal(ScriptingIdle.Default, ScriptingIdle.Parse(value, out var warning));
        Assert.Contains($"RELEASE_SCRIPTING_IDLE={value}", warning);
    }

    [Fact]
    public void Idle_long_enough_unloads_now()
    {
        Assert.Equal(TimeSpan.Zero, ScriptingIdle.UnloadIn(loaded: true, busy: 0, holds: 0, sinceLastUse: Idle, Idle));
        Assert.Equal(TimeSpan.Zero, ScriptingIdle.UnloadIn(loaded: true, busy: 0, holds: 0, sinceLastUse: Idle * 2, Idle));
    }

    [Fact]
    public void Idle_not_long_enough_waits_for_the_rest()
    {
        Assert.Equal(TimeSpan.FromSeconds(120), ScriptingIdle.UnloadIn(loaded: true, busy: 0, holds: 0, TimeSpan.FromSeconds(180), Idle));
        Assert.Equal(Idle, ScriptingIdle.UnloadIn(loaded: true, busy: 0, holds: 0, TimeSpan.Zero, Idle));
    }

    [Fact]
    public void Nothing_to_wait_for_while_an_evaluation_runs_a_REPL_keeps_state_nothing_is_loaded_or_idle_is_off()
    {
        var longAgo = TimeSpan.FromHours(1);
        Assert.Null(ScriptingIdle.UnloadIn(loaded: true, busy: 1, holds: 0, longAgo, Idle));
        Assert.Null(ScriptingIdle.UnloadIn(loaded: true, busy: 0, holds: 1, longAgo, Idle));
        Assert.Null(ScriptingIdle.UnloadIn(loaded: false, busy: 0, holds: 0, longAgo, Idle));
        Assert.Null(ScriptingIdle.UnloadIn(loaded: true, busy: 0, holds: 0, longAgo, idle: null));
    }
}
