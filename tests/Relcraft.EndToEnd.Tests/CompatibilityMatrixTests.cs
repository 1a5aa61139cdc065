using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// The compatibility matrix: one app per `dotnet new` kind (plus a native NuGet dependency and a Razor class
/// library), each with an appsettings.json key it must prove it read, released and driven through bin/NAME with
/// the machine's .NET hidden, from "/" rather than the release root: daemon, an answer only a working app gives,
/// rpc, stop. Every check of an app runs and all failures are reported together, so one broken aspect (say the
/// content root) does not hide the state of the others.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class CompatibilityMatrixTests(MatrixAppsFixture apps) : IClassFixture<MatrixAppsFixture>, IDisposable
{
    private static readonly TimeSpan LogDeadline = TimeSpan.FromSeconds(15);

    public static TheoryData<string> Apps => new(MatrixAppsFixture.Kinds);

    public void Dispose()
    {
        foreach (var app in apps.Built) app.Release.StopEverything();
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task Release_RunsTheApp_FromOutsideTheReleaseRoot(string kind)
    {
        var app = apps.Get(kind);
        var release = app.Release;
        Assert.NotEqual(release.Root, release.WorkingDirectory);

        var port = Processes.FreeTcpPort();
        var env = app.IsWeb ? new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" } : null;
        if (File.Exists(app.ConsoleReport)) File.Delete(app.ConsoleReport);

        release.Run(env, "daemon").ShouldSucceed();
        var pid = int.Parse(release.Run("pid").ShouldSucceed().StdOut.Trim());
        Assert.True(Processes.IsAlive(pid), $"bin/{release.Name} pid says {pid}, which is not running\n{release.Log()}");

        var failures = new List<string>();
        async Task Check(string what, Func<Task> check)
        {
            try { await check(); }
            catch (Exception e) { failures.Add($"[{what}] {e.Message}"); }
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        var greeting = app.Greeting;

        switch (kind)
        {
            case "console":
                await Check("report in RELEASE_TMP", () =>
                {
                    Assert.True(Poll.Until(() => File.Exists(app.ConsoleReport), LogDeadline), $"no {app.ConsoleReport}\n{release.Log()}");
                    var report = ProbeOutput.Parse(File.ReadAllText(app.ConsoleReport));
                    Assert.Equal($"{pid}", report["pid"]);
                    Assert.Equal(greeting, report["greeting"]);
                    return Task.CompletedTask;
                });
                break;
            case "worker":
                await Check("the Worker logs the appsettings value", () =>
                {
                    Assert.True(Poll.Until(() => release.Log().Contains($"Relcraft greeting: {greeting}", StringComparison.Ordinal), LogDeadline),
                        $"the log never shows 'Relcraft greeting: {greeting}':\n{release.Log()}");
                    return Task.CompletedTask;
                });
                break;
            case "web":
                await Check("GET /", async () => Assert.Equal("Hello World!", await GetText(http, "/")));
                break;
            case "webapi":
                await Check("GET /weatherforecast", async () =>
                {
                    using var json = JsonDocument.Parse(await GetText(http, "/weatherforecast"));
                    var days = json.RootElement.EnumerateArray().ToList();
                    Assert.Equal(5, days.Count);
                    foreach (var day in days)
                    {
                        Assert.True(DateOnly.TryParse(day.GetProperty("date").GetString(), out _), day.ToString());
                        var c = day.GetProperty("temperatureC").GetInt32();
                        Assert.Equal(32 + (int)(c / 0.5556), day.GetProperty("temperatureF").GetInt32());
                        Assert.False(string.IsNullOrEmpty(day.GetProperty("summary").GetString()), day.ToString());
                    }
                });
                break;
            case "webapp" or "mvc":
                await Check("GET / and its assets", async () =>
                {
                    var html = await GetText(http, "/");
                    Assert.Contains("<h1 class=\"display-4\">Welcome</h1>", html);
                    var assets = await AssertAssetsServed(http, html);
                    Assert.Contains(assets, a => IsScopedCssBundle(app.Project, a)); // a static web asset made by the build, not in wwwroot/
                    Assert.Contains(assets, a => a.Contains("lib/bootstrap/dist/js/", StringComparison.Ordinal));
                });
                break;
            case "blazor":
                await Check("GET / and its assets", async () =>
                {
                    var html = await GetText(http, "/");
                    Assert.Contains("<h1>Hello, world!</h1>", html);
                    var assets = await AssertAssetsServed(http, html);
                    Assert.Contains(assets, a => IsScopedCssBundle(app.Project, a));
                    Assert.Contains(assets, a => a.Contains("_framework/blazor.web.", StringComparison.Ordinal)); // from the framework, through the endpoints manifest
                });
                break;
            case "sqlite":
                await Check("GET /sqlite", async () => Assert.Matches(@"^3\.\d+\.\d+$", await GetText(http, "/sqlite")));
                await Check("native library in the release", () =>
                {
                    Assert.NotEmpty(Directory.EnumerateFiles(app.LibDir, "libe_sqlite3.so", SearchOption.AllDirectories));
                    return Task.CompletedTask;
                });
                break;
            case "rcl":
                await Check("GET / renders the library's component, with its assets", async () =>
                {
                    var html = await GetText(http, "/");
                    // Scoped CSS adds the library's b-XXXX attribute to every element of the component.
                    Assert.Matches($@"This component is defined in the <strong b-\w+>{Regex.Escape(MatrixAppsFixture.LibraryName)}</strong> library\.", html);
                    var assets = await AssertAssetsServed(http, html);
                    Assert.Contains(assets, a => a.Contains($"_content/{MatrixAppsFixture.LibraryName}/widgets.css", StringComparison.Ordinal));
                });
                await Check($"GET _content/{MatrixAppsFixture.LibraryName}/widgets.css", async () =>
                    Assert.Contains(MatrixAppsFixture.LibraryCssMarker, await GetText(http, $"_content/{MatrixAppsFixture.LibraryName}/widgets.css")));
                await Check($"GET _content/{MatrixAppsFixture.LibraryName}/background.png", async () =>
                    Assert.NotEmpty(await GetBytes(http, $"_content/{MatrixAppsFixture.LibraryName}/background.png")));
                await Check("the app's scoped CSS imports the library's, which is served", async () =>
                {
                    var bundle = await GetText(http, $"{app.Project}.styles.css");
                    var imports = Regex.Matches(bundle, @"@import\s+'([^']+)'").Select(m => m.Groups[1].Value)
                        .Where(u => u.Contains($"_content/{MatrixAppsFixture.LibraryName}/", StringComparison.Ordinal)).ToList();
                    Assert.True(imports.Count == 1, $"expected one @import of the library's bundle in {app.Project}.styles.css:\n{bundle}");
                    Assert.Contains(".my-component", await GetText(http, imports[0]));
                });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        if (app.IsWeb)
            await Check("GET /relcraft-config", async () => Assert.Equal(greeting, await GetText(http, "/relcraft-config")));
        if (app.HasHost)
            await Check("content root", () =>
            {
                var line = new Regex("^\\s*Content root path: " + Regex.Escape(app.LibDir) + "/?\\r?$", RegexOptions.Multiline);
                Assert.True(Poll.Until(() => line.IsMatch(release.Log()), LogDeadline),
                    $"the log has no line 'Content root path: {app.LibDir}':\n{release.Log()}");
                return Task.CompletedTask;
            });

        await Check("rpc System.Environment.ProcessId", () =>
        {
            Assert.Equal($"{pid}", release.Run("rpc", "System.Environment.ProcessId").ShouldSucceed().StdOut.Trim());
            return Task.CompletedTask;
        });

        release.Run("stop").ShouldSucceed();
        Assert.False(Processes.IsAlive(pid), $"pid {pid} still running after stop returned");

        Assert.True(failures.Count == 0, $"{kind} ({release.Name}): {failures.Count} check(s) failed\n{string.Join("\n", failures)}\n--- log ---\n{release.Log()}");
    }

    private static async Task<HttpResponseMessage> Get(HttpClient http, string url)
    {
        var response = await http.GetAsync(url);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Fail($"GET {new Uri(http.BaseAddress!, url)}: {(int)response.StatusCode} {response.StatusCode}\n{body[..Math.Min(body.Length, 2000)]}");
        }
        return response;
    }

    private static async Task<string> GetText(HttpClient http, string url)
    {
        using var response = await Get(http, url);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<byte[]> GetBytes(HttpClient http, string url)
    {
        using var response = await Get(http, url);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>
    /// GETs every stylesheet (&lt;link rel="stylesheet" href&gt;) and script (&lt;script src&gt;) the page references and
    /// asserts each answers 200 with content: wwwroot/ and the static web assets are really served. Returns the URLs.
    /// </summary>
    private static async Task<List<string>> AssertAssetsServed(HttpClient http, string html)
    {
        var urls = new List<string>();
        foreach (var tag in Regex.Matches(html, @"<link\b[^>]*>", RegexOptions.IgnoreCase).Select(m => m.Value))
            if (string.Equals(Attribute(tag, "rel"), "stylesheet", StringComparison.OrdinalIgnoreCase) && Attribute(tag, "href") is { Length: > 0 } href)
                urls.Add(href);
        foreach (var tag in Regex.Matches(html, @"<script\b[^>]*>", RegexOptions.IgnoreCase).Select(m => m.Value))
            if (Attribute(tag, "src") is { Length: > 0 } src)
                urls.Add(src);
        Assert.True(urls.Any(u => Regex.IsMatch(u, @"\.css(\?|$)")) && urls.Any(u => Regex.IsMatch(u, @"\.js(\?|$)")),
            $"expected the page to reference stylesheets and scripts, found [{string.Join(", ", urls)}]\n{html}");

        var problems = new List<string>();
        foreach (var url in urls)
        {
            var uri = new Uri(http.BaseAddress!, url);
            if (uri.Authority != http.BaseAddress!.Authority) { problems.Add($"{url}: not served by the app"); continue; }
            using var response = await http.GetAsync(uri);
            var length = (await response.Content.ReadAsByteArrayAsync()).Length;
            if (response.StatusCode != HttpStatusCode.OK || length == 0) problems.Add($"{url}: {(int)response.StatusCode}, {length} bytes");
        }
        Assert.True(problems.Count == 0, $"assets not served:\n{string.Join("\n", problems)}");
        return urls;
    }

    /// <summary>NAME.styles.css, or fingerprinted as @Assets writes it (NAME.HASH.styles.css), with or without ?v=.</summary>
    private static bool IsScopedCssBundle(string project, string url) =>
        Regex.IsMatch(url, $@"(^|/){Regex.Escape(project)}\.([A-Za-z0-9]+\.)?styles\.css(\?|$)");

    private static string? Attribute(string tag, string name)
    {
        var m = Regex.Match(tag, $@"(?<![\w-]){name}\s*=\s*(?:""([^""]*)""|'([^']*)'|([^\s>]+))", RegexOptions.IgnoreCase);
        if (!m.Success) return null;
        var value = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
        return WebUtility.HtmlDecode(value);
    }
}

/// <summary>One app of the matrix, published, with its release driven from "/".</summary>
public sealed record MatrixApp(string Kind, string Project, TestApp App, InstalledRelease Release, string Greeting)
{
    public bool IsWeb => Kind is not ("console" or "worker");
    public bool HasHost => Kind is not "console";
    /// <summary>lib/NAME-VSN/: the app's files, which must be the content root.</summary>
    public string LibDir => Path.Combine(Release.Root, "lib", $"{Release.Name}-{File.ReadAllText(Path.Combine(Release.Root, "releases", "start.data")).Trim()}");
    /// <summary>Where the console app reports (it has no port to ask).</summary>
    public string ConsoleReport => Path.Combine(Release.Tmp, "matrix-console.report");
}

/// <summary>
/// The matrix's apps, each created and published the first time a test asks for it (20–60 s each), then shared.
/// A failed publish is remembered (Lazy keeps the exception) and fails that app's test only.
/// </summary>
public sealed class MatrixAppsFixture(PackedSdk sdk) : IDisposable
{
    public static readonly string[] Kinds = ["console", "worker", "web", "webapi", "webapp", "mvc", "blazor", "sqlite", "rcl"];
    public const string LibraryName = "Mx.Widgets";
    public const string LibraryCssMarker = "relcraft-widgets-css";
    /// <summary>Served in nuget.tsv and the newest 10.0.x: the runtime the apps target.</summary>
    public const string SqliteVersion = "10.0.15";

    private readonly ConcurrentDictionary<string, Lazy<MatrixApp>> _apps = new();
    private readonly ConcurrentBag<TestApp> _created = [];

    public MatrixApp Get(string kind) => _apps.GetOrAdd(kind, k => new Lazy<MatrixApp>(() => Build(k))).Value;

    public IEnumerable<MatrixApp> Built => _apps.Values.Where(l => l.IsValueCreated).Select(l => l.Value);

    private MatrixApp Build(string kind)
    {
        // Project names that shadow nothing: "Mx.Console" would hide System.Console, "Mx.Worker" the Worker class.
        var (template, project) = kind switch
        {
            "console" => ("console", "Mx.Plain"),
            "worker" => ("worker", "Mx.Ticker"),
            "web" => ("web", "Mx.Empty"),
            "webapi" => ("webapi", "Mx.Forecast"),
            "webapp" => ("webapp", "Mx.Site"),
            "mvc" => ("mvc", "Mx.Store"),
            "blazor" => ("blazor", "Mx.Portal"),
            "sqlite" => ("web", "Mx.Native"),
            "rcl" => ("blazor", "Mx.Shell"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        var app = TestApp.Create(sdk, template, project);
        _created.Add(app);
        var greeting = $"hi from appsettings ({kind})";
        AddGreeting(app, greeting);

        switch (kind)
        {
            case "console":
                // No Generic Host, hence no content root and no configuration system: a host-less app finds its files
                // next to its assembly (AppContext.BaseDirectory, lib/NAME-VSN/), whatever the working directory.
                // It has no port either, so it reports through a file in RELEASE_TMP, then waits for SIGTERM.
                app.SetProjectXml("""
                      <ItemGroup>
                        <None Update="appsettings.json" CopyToOutputDirectory="PreserveNewest" CopyToPublishDirectory="PreserveNewest" />
                      </ItemGroup>
                    """);
                app.WriteFile("Program.cs", """
                    using System.Runtime.InteropServices;
                    using System.Text.Json;

                    using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json")));
                    var greeting = settings.RootElement.GetProperty("Relcraft").GetProperty("Greeting").GetString();
                    var tmp = Environment.GetEnvironmentVariable("RELEASE_TMP") ?? throw new InvalidOperationException("RELEASE_TMP is not set");

                    using var stop = new ManualResetEventSlim();
                    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Set(); });

                    var report = Path.Combine(tmp, "matrix-console.report");
                    File.WriteAllText(report + ".partial", $"pid={Environment.ProcessId}\ngreeting={greeting}\ncwd={Environment.CurrentDirectory}\n");
                    File.Move(report + ".partial", report, overwrite: true);
                    Console.WriteLine($"matrix console app running: {greeting}");
                    stop.Wait();
                    Console.WriteLine("matrix console app: SIGTERM, exiting");
                    """);
                break;
            case "worker":
                Patch(app, "Worker.cs", "(ILogger<Worker> logger)", "(ILogger<Worker> logger, Microsoft.Extensions.Configuration.IConfiguration configuration)");
                Patch(app, "Worker.cs", "while (!stoppingToken.IsCancellationRequested)",
                    "logger.LogInformation(\"Relcraft greeting: {Greeting}\", configuration[\"Relcraft:Greeting\"]);\n        while (!stoppingToken.IsCancellationRequested)");
                break;
            case "sqlite":
                app.SetProjectXml($"""
                      <ItemGroup>
                        <PackageReference Include="Microsoft.Data.Sqlite" Version="{SqliteVersion}" />
                      </ItemGroup>
                    """);
                BeforeRun(app, """
                    app.MapGet("/sqlite", () =>
                    {
                        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
                        connection.Open();
                        using var command = connection.CreateCommand();
                        command.CommandText = "SELECT sqlite_version()";
                        return (string)command.ExecuteScalar()!;
                    });
                    """);
                break;
            case "rcl":
                ProcessRunner.Run("dotnet", ["new", "razorclasslib", "-n", LibraryName, "-o", "widgets"], app.Root).ShouldSucceed();
                File.WriteAllText(Path.Combine(app.Root, "widgets", "wwwroot", "widgets.css"), $".relcraft-widgets {{ color: rebeccapurple; }} /* {LibraryCssMarker} */\n");
                app.SetProjectXml($"""
                      <ItemGroup>
                        <ProjectReference Include="../widgets/{LibraryName}.csproj" />
                      </ItemGroup>
                    """);
                Patch(app, "Components/App.razor", "<ImportMap />", $"<link rel=\"stylesheet\" href=\"_content/{LibraryName}/widgets.css\" />\n    <ImportMap />");
                File.AppendAllText(Path.Combine(app.Dir, "Components", "Pages", "Home.razor"), $"\n<{LibraryName}.Component1 />\n");
                break;
        }
        if (kind is not ("console" or "worker"))
            BeforeRun(app, """app.MapGet("/relcraft-config", (IConfiguration c) => c["Relcraft:Greeting"] ?? "(no Relcraft:Greeting)");""");

        app.Publish().ShouldSucceed();
        var name = project.ToLowerInvariant().Replace('.', '-');
        var release = new InstalledRelease(app.ReleaseDir(name), name) { WorkingDirectory = "/" };
        return new MatrixApp(kind, project, app, release, greeting);
    }

    /// <summary>Adds "Relcraft": {"Greeting": …} to the app's appsettings.json (creating it for the console app).</summary>
    private static void AddGreeting(TestApp app, string greeting)
    {
        var path = Path.Combine(app.Dir, "appsettings.json");
        var settings = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsObject() : [];
        settings["Relcraft"] = new JsonObject { ["Greeting"] = greeting };
        File.WriteAllText(path, settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Inserts <paramref name="code"/> before the template's single `app.Run();` in Program.cs.</summary>
    private static void BeforeRun(TestApp app, string code) => Patch(app, "Program.cs", "app.Run();", code + "\n\napp.Run();");

    private static void Patch(TestApp app, string file, string anchor, string replacement)
    {
        var path = Path.Combine(app.Dir, file);
        var text = File.ReadAllText(path);
        Assert.True(text.Split(anchor).Length == 2, $"expected '{anchor}' exactly once in {file}:\n{text}");
        File.WriteAllText(path, text.Replace(anchor, replacement));
    }

    public void Dispose()
    {
        foreach (var app in Built) app.Release.StopEverything();
        foreach (var app in _created) app.Dispose();
    }
}
