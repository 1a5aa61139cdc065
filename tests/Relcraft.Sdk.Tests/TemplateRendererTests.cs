using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>Templates and the sh quoting the launcher and env.sh depend on; the shell tests run the real /bin/sh.</summary>
public sealed class TemplateRendererTests
{
    private static readonly TemplateRenderer Renderer = new(new Dictionary<string, string>
    {
        ["RELEASE_NAME"] = "kv",
        ["RELEASE_VSN"] = "0.1.0",
    });

    [Fact]
    public void Known_placeholders_are_replaced()
    {
        var text = Renderer.Render("bin/{{RELEASE_NAME}} {{ RELEASE_VSN }} {{RELEASE_NAME}}", out var unknown);
        Assert.Null(unknown);
        Assert.Equal("bin/kv 0.1.0 kv", text);
    }

    [Fact]
    public void Text_without_placeholders_is_unchanged()
    {
        const string template = "#!/bin/sh\necho \"${HOME}\" { }\n";
        Assert.Equal(template, Renderer.Render(template, out var unknown));
        Assert.Null(unknown);
    }

    [Fact]
    public void An_unknown_placeholder_is_reported_not_passed_through()
    {
        var text = Renderer.Render("{{RELEASE_NAME}} {{RELEASE_NMAE}} {{OTHER}}", out var unknown);
        Assert.Null(text);
        Assert.Equal("RELEASE_NMAE", unknown);
    }

    [Fact]
    public void Known_lists_the_placeholders_in_order()
    {
        Assert.Equal(["RELEASE_NAME", "RELEASE_VSN"], Renderer.Known);
    }

    public static TheoryData<string> AwkwardValues() => new()
    {
        "plain",
        "",
        "with spaces  and\ttabs",
        "it's",
        "'",
        "''",
        "\"double\" quotes",
        "$HOME ${HOME} $(id) `id`",
        "back\\slash\\",
        "semi;colon && echo pwned | cat > /tmp/x",
        "multi\nline",
        "*?[glob]",
        "-n",
        "ünïcødé",
    };

    [Theory]
    [MemberData(nameof(AwkwardValues))]
    public void ShellQuote_round_trips_through_sh(string value)
    {
        var printed = Posix.Run("/bin/sh", ["-c", $"printf '%s' {TemplateRenderer.ShellQuote(value)}"]);
        Assert.Equal(value, printed);
    }

    [Theory]
    [MemberData(nameof(AwkwardValues))]
    public void ShellDefaults_sets_and_exports_a_variable_that_is_absent(string value)
    {
        var script = TemplateRenderer.ShellDefaults([new("RELCRAFT_TEST_VAR", value)]) +
                     "sh -c 'printf %s \"$RELCRAFT_TEST_VAR\"'"; // a child sees it only if exported
        var printed = Posix.Run("/bin/sh", ["-c", script], new Dictionary<string, string?> { ["RELCRAFT_TEST_VAR"] = null });
        Assert.Equal(value, printed);
    }

    [Theory]
    [InlineData("from the operator")]
    [InlineData("")]
    public void ShellDefaults_does_not_override_the_environment(string operatorValue)
    {
        var script = TemplateRenderer.ShellDefaults([new("RELCRAFT_TEST_VAR", "from the project")]) +
                     "printf '%s' \"$RELCRAFT_TEST_VAR\"";
        var printed = Posix.Run("/bin/sh", ["-c", script], new Dictionary<string, string?> { ["RELCRAFT_TEST_VAR"] = operatorValue });
        Assert.Equal(operatorValue, printed);
    }

    [Fact]
    public void ShellDefaults_handles_several_variables()
    {
        var script = TemplateRenderer.ShellDefaults([new("A_VAR", "a 1"), new("B_VAR", "b'2")]) + "printf '%s|%s' \"$A_VAR\" \"$B_VAR\"";
        var printed = Posix.Run("/bin/sh", ["-c", script], new Dictionary<string, string?> { ["A_VAR"] = null, ["B_VAR"] = "kept" });
        Assert.Equal("a 1|kept", printed);
    }

    [Fact]
    public void ShellDefaults_of_nothing_is_empty()
    {
        Assert.Equal("", TemplateRenderer.ShellDefaults([]));
    }
}
