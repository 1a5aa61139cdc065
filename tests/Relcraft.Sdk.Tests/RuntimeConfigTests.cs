using System.Text.Json.Nodes;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>The app's runtimeconfig: which frameworks to bundle, and the release's copy with ReleaseRuntimeOption items.</summary>
public sealed class RuntimeConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new("runtimeconfig");

    public void Dispose() => _dir.Dispose();

    private const string AppConfig = """
        {
          "runtimeOptions": {
            "tfm": "net10.0",
            "framework": { "name": "Microsoft.NETCore.App", "version": "10.0.0" },
            "configProperties": {
              "System.Runtime.Serialization.EnableUnsafeBinaryFormatterSerialization": false,
              "System.GC.Concurrent": true,
              "Keep.Me": "yes"
            }
          }
        }
        """;

    private JsonNode Merge(string config, params (string Name, string Value)[] options)
    {
        var path = _dir.Write("app.runtimeconfig.json", config);
        var bytes = RuntimeConfig.Merge(path, options.Select(o => new KeyValuePair<string, string>(o.Name, o.Value)));
        return JsonNode.Parse(bytes)!;
    }

    [Fact]
    public void A_bundled_runtime_pins_each_framework_to_the_version_bundled_with_roll_forward_off()
    {
        const string web = """
            { "runtimeOptions": { "tfm": "net10.0", "frameworks": [
                { "name": "Microsoft.NETCore.App", "version": "10.0.0" },
                { "name": "Microsoft.AspNetCore.App", "version": "10.0.0" } ] } }
            """;
        var path = _dir.Write("web.runtimeconfig.json", web);
        var options = JsonNode.Parse(RuntimeConfig.Merge(path, [],
            [new("Microsoft.NETCore.App", "10.0.12"), new("Microsoft.AspNetCore.App", "10.0.13")]))!["runtimeOptions"]!;
        Assert.Equal("Disable", options["rollForward"]!.GetValue<string>());
        Assert.Equal(["10.0.12", "10.0.13"], options["frameworks"]!.AsArray().Select(f => f!["version"]!.GetValue<string>()));

        // The machine's runtime (IncludeRuntime=false): the app's own roll-forward stays.
        var system = JsonNode.Parse(RuntimeConfig.Merge(path, []))!["runtimeOptions"]!;
        Assert.Null(system["rollForward"]);
        Assert.Equal("10.0.0", system["frameworks"]![0]!["version"]!.GetValue<string>());
    }

    [Fact]
    public void Options_are_typed_bool_int_and_string()
    {
        var props = Merge(AppConfig, ("System.GC.Server", "true"), ("System.GC.HeapCount", "4"), ("System.GC.Name", "libclrgc.so"), ("X.Negative", "-2"), ("X.False", "False"))["runtimeOptions"]!["configProperties"]!;
        Assert.True(props["System.GC.Server"]!.GetValue<bool>());
        Assert.Equal(4L, props["System.GC.HeapCount"]!.GetValue<long>());
        Assert.Equal("libclrgc.so", props["System.GC.Name"]!.GetValue<string>());
        Assert.Equal(-2L, props["X.Negative"]!.GetValue<long>());
        Assert.False(props["X.False"]!.GetValue<bool>());
    }

    [Fact]
    public void Values_that_only_look_numeric_stay_strings()
    {
        var props = Merge(AppConfig, ("X.Version", "1.5"), ("X.Hex", "0x10"))["runtimeOptions"]!["configProperties"]!;
        Assert.Equal("1.5", props["X.Version"]!.GetValue<string>());
        Assert.Equal("0x10", props["X.Hex"]!.GetValue<string>());
    }

    [Fact]
    public void Existing_configProperties_are_kept_and_the_option_wins()
    {
        var doc = Merge(AppConfig, ("System.GC.Concurrent", "false"));
        var props = doc["runtimeOptions"]!["configProperties"]!.AsObject();
        Assert.False(props["System.GC.Concurrent"]!.GetValue<bool>());
        Assert.Equal("yes", props["Keep.Me"]!.GetValue<string>());
        Assert.False(props["System.Runtime.Serialization.EnableUnsafeBinaryFormatterSerialization"]!.GetValue<bool>());
        Assert.Equal("10.0.0", doc["runtimeOptions"]!["framework"]!["version"]!.GetValue<string>());
        Assert.Equal("net10.0", doc["runtimeOptions"]!["tfm"]!.GetValue<string>());
    }

    [Fact]
    public void ConfigProperties_are_created_when_the_app_has_none()
    {
        var doc = Merge("""{ "runtimeOptions": { "tfm": "net10.0" } }""", ("System.GC.Server", "true"));
        Assert.True(doc["runtimeOptions"]!["configProperties"]!["System.GC.Server"]!.GetValue<bool>());
    }

    [Fact]
    public void Merge_output_is_stable_and_ends_with_a_newline()
    {
        var path = _dir.Write("app.runtimeconfig.json", AppConfig);
        var a = RuntimeConfig.Merge(path, [new("System.GC.Server", "true")]);
        var b = RuntimeConfig.Merge(path, [new("System.GC.Server", "true")]);
        Assert.Equal(a, b);
        Assert.Equal((byte)'\n', a[^1]);
        Assert.DoesNotContain((byte)'\r', a);
    }

    [Fact]
    public void Frameworks_reads_a_single_framework()
    {
        var path = _dir.Write("app.runtimeconfig.json", AppConfig);
        Assert.Equal([new RuntimeConfig.Framework("Microsoft.NETCore.App", "10.0.0")], RuntimeConfig.Frameworks(path));
    }

    [Fact]
    public void Frameworks_reads_a_frameworks_array()
    {
        var path = _dir.Write("web.runtimeconfig.json", """
            {
              "runtimeOptions": {
                "tfm": "net10.0",
                "frameworks": [
                  { "name": "Microsoft.NETCore.App", "version": "10.0.0" },
                  { "name": "Microsoft.AspNetCore.App", "version": "10.0.1" }
                ]
              }
            }
            """);
        Assert.Equal(
            [new RuntimeConfig.Framework("Microsoft.NETCore.App", "10.0.0"), new RuntimeConfig.Framework("Microsoft.AspNetCore.App", "10.0.1")],
            RuntimeConfig.Frameworks(path));
    }

    [Fact]
    public void Frameworks_of_a_self_contained_config_is_empty()
    {
        var path = _dir.Write("sc.runtimeconfig.json", """{ "runtimeOptions": { "tfm": "net10.0", "includedFrameworks": [ { "name": "Microsoft.NETCore.App", "version": "10.0.1" } ] } }""");
        Assert.Empty(RuntimeConfig.Frameworks(path));
    }
}
