using System.Text.RegularExpressions;
using System.Xml.Linq;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// Users (and their CI scripts) key on RELCRAFTnnnn codes, so each message must carry one at its
/// front, codes must never be shared, and every code the tasks log must exist.
/// </summary>
public sealed class MessageCodeTests
{
    private static readonly Regex CodePrefix = new(@"^(RELCRAFT\d{4}): ", RegexOptions.CultureInvariant);

    private static IReadOnlyList<(string Name, string Value)> Messages() =>
        XDocument.Load(RepoPaths.StringsResx).Root!.Elements("data")
            .Select(d => ((string)d.Attribute("name")!, (string)d.Element("value")!))
            .ToList();

    [Fact]
    public void Resx_has_messages()
    {
        Assert.NotEmpty(Messages());
    }

    [Fact]
    public void Every_message_starts_with_its_code()
    {
        var withoutCode = Messages().Where(m => !CodePrefix.IsMatch(m.Value)).Select(m => m.Name).ToList();
        Assert.True(withoutCode.Count == 0, "Messages without a 'RELCRAFTnnnn: ' prefix: " + string.Join(", ", withoutCode));
    }

    [Fact]
    public void No_two_messages_share_a_code()
    {
        var shared = Messages()
            .GroupBy(m => CodePrefix.Match(m.Value).Groups[1].Value)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}")
            .ToList();
        Assert.True(shared.Count == 0, "Codes used by more than one message: " + string.Join("; ", shared));
    }

    [Fact]
    public void Every_resource_the_tasks_log_exists()
    {
        // Error("Name", …) and Log.Log*FromResources(…, "Name", …): a missing name would throw at build time instead of reporting.
        var names = Messages().Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var used = Directory.EnumerateFiles(RepoPaths.SdkSources, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"(?:\bError\(\s*|FromResources\([^""]*?)""(\w+)""").Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(used);
        Assert.Empty(used.Except(names));
    }

    [Fact]
    public void Codes_raised_directly_by_the_targets_are_known_codes()
    {
        var codes = Messages().Select(m => CodePrefix.Match(m.Value).Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var inTargets = Directory.EnumerateFiles(Path.Combine(RepoPaths.SdkDirectory, "build"))
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"RELCRAFT\d{4}").Select(m => m.Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Empty(inTargets.Except(codes));
    }

    [Fact]
    public void The_compiled_resources_match_the_source()
    {
        // What the task assembly logs at run time is the resx embedded under Relcraft.Sdk.Strings.
        foreach (var (name, value) in Messages())
            Assert.Equal(value, RelcraftTask.Resources.GetString(name));
    }

    [Fact]
    public void Every_code_is_documented_in_the_readme_or_docs()
    {
        // DESIGN §1: "codes are listed in the README or docs".
        var docs = new[] { Path.Combine(RepoPaths.Root, "README.md") }
            .Concat(Directory.Exists(Path.Combine(RepoPaths.Root, "docs")) ? Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md", SearchOption.AllDirectories) : [])
            .Where(File.Exists)
            .Select(File.ReadAllText);
        var text = string.Join("\n", docs);
        var undocumented = Messages().Select(m => CodePrefix.Match(m.Value).Groups[1].Value).Where(code => !text.Contains(code, StringComparison.Ordinal)).ToList();
        Assert.True(undocumented.Count == 0, "Codes not listed in README.md or docs/: " + string.Join(", ", undocumented));
    }
}
