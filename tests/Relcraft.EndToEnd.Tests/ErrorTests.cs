using System.Text.RegularExpressions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// Every user mistake is an MSBuild error RELCRAFTnnnn — never a stack trace — and fails the build.
/// One small console app, its project rewritten for each case.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ErrorTests(ScratchAppFixture fixture) : IClassFixture<ScratchAppFixture>
{
    private TestApp App => fixture.App;

    /// <param name="Release">the value of -p:Release</param>
    /// <param name="Files">files to write first, relative to the project folder</param>
    public sealed record Case(string Code, string Xml, string Release = "true", string[]? Args = null, (string Path, string Text)[]? Files = null);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["unknown release"] = new("RELCRAFT1001", """<ItemGroup><Release Include="alpha" /><Release Include="beta" /></ItemGroup>""", Release: "gamma"),
        ["invalid name of a Release item"] = new("RELCRAFT1002", """<ItemGroup><Release Include="Bad_Name" /></ItemGroup>""", Release: "Bad_Name"),
        ["invalid name on the command line"] = new("RELCRAFT1002", "", Release: "Bad"),
        ["duplicate release"] = new("RELCRAFT1003", """<ItemGroup><Release Include="alpha" /><Release Include="alpha" /></ItemGroup>"""),
        ["Project that does not exist"] = new("RELCRAFT1004", """<ItemGroup><Release Include="alpha" Project="../missing/Missing.csproj" /></ItemGroup>"""),
        ["Project that is a class library"] = new("RELCRAFT1005", """<ItemGroup><Release Include="alpha" Project="../lib/Lib.csproj" /></ItemGroup>"""),
        ["IncludeRuntime that is not a dotnet root"] = new("RELCRAFT1006", "", Args: ["-p:ReleaseIncludeRuntime=not-a-dotnet-root/"],
            Files: [("not-a-dotnet-root/readme.txt", "no host/fxr here\n")]),
        ["runtime option without Value"] = new("RELCRAFT1007", """<ItemGroup><ReleaseRuntimeOption Include="System.GC.Server" /></ItemGroup>"""),
        ["unknown step"] = new("RELCRAFT1008", "<PropertyGroup><ReleaseSteps>assemble;zip</ReleaseSteps></PropertyGroup>"),
        ["overlay escaping the release"] = new("RELCRAFT1009", """<ItemGroup><ReleaseOverlay Include="extra.txt" Destination="../../etc/x" /></ItemGroup>""",
            Files: [("extra.txt", "x\n")]),
        ["overlay of a missing file"] = new("RELCRAFT1010", """<ItemGroup><ReleaseOverlay Include="missing.txt" /></ItemGroup>"""),
        ["unknown template placeholder"] = new("RELCRAFT1011", "<PropertyGroup><ReleaseTemplatesPath>rel-nope/</ReleaseTemplatesPath></PropertyGroup>",
            Files: [("rel-nope/env.sh.template", "export X={{NOPE}}\n")]),
        ["invalid ReleaseEnv name"] = new("RELCRAFT1013", """<ItemGroup><ReleaseEnv Include="1BAD" Value="x" /></ItemGroup>"""),
    };

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Mistake_FailsWithItsCode_AndNoStackTrace(string name)
    {
        var c = Cases[name];
        if (c.Code == "RELCRAFT1005" && !Directory.Exists(Path.Combine(App.Root, "lib")))
            ProcessRunner.Run("dotnet", ["new", "classlib", "-n", "Lib", "-o", "lib"], App.Root).ShouldSucceed();
        foreach (var (path, text) in c.Files ?? []) App.WriteFile(path, text);
        App.SetProjectXml(c.Xml);

        var result = App.Publish(c.Release, c.Args ?? []).ShouldFail();

        Assert.Matches($@"error {c.Code}: ", result.Output);
        Assert.DoesNotContain("MSB4018", result.Output); // "task failed unexpectedly": an exception escaped
        var trace = result.Output.Split('\n').FirstOrDefault(l => Regex.IsMatch(l, @"^\s+at \S+\(.*\)"));
        Assert.True(trace is null, $"stack trace in the output: {trace}\n{result}");
        if (c.Code == "RELCRAFT1001") Assert.Contains("Known releases: alpha, beta", result.Output);
    }
}
