using System.Reflection;
using System.Runtime.Loader;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Relcraft.Sdk.Tests.Infrastructure;

namespace Relcraft.Sdk.Tests;

/// <summary>
/// MSBuild loads a task assembly that has a .deps.json into an AssemblyLoadContext of its own and
/// resolves the task's dependencies from that deps.json: NuGet.Packaging then comes from
/// tasks/net8.0/, never from the .NET SDK's copy that MSBuild itself runs on. This loads the task
/// folder the same way and runs the runtime-pack reader (a real pack, and a broken one for the
/// error path): everything the task needed must have been in its folder, or be MSBuild's, or the
/// shared framework's. The package ships only part of NuGet.Packaging's dependency tree; this is
/// the test that says the part is enough.
/// </summary>
public sealed class TaskLoadContextTests : IDisposable
{
    /// <summary>What MSBuild's per-task context does, minus its last resort (MSBuild's own folder), which would hide a missing file.</summary>
    private sealed class TaskFolderContext(string taskAssembly) : AssemblyLoadContext($"task {taskAssembly}", isCollectible: true)
    {
        private static readonly string[] MSBuildAssemblies = ["MSBuild", "Microsoft.Build", "Microsoft.Build.Framework", "Microsoft.Build.Tasks.Core", "Microsoft.Build.Utilities.Core"];
        private readonly AssemblyDependencyResolver _resolver = new(taskAssembly);

        public List<string> LeftToTheHost { get; } = [];

        protected override Assembly? Load(AssemblyName name)
        {
            if (MSBuildAssemblies.Contains(name.Name)) return null;
            if (_resolver.ResolveAssemblyToPath(name) is { } path) return LoadFromAssemblyPath(path);
            LeftToTheHost.Add(name.Name!);
            return null;
        }
    }

    private readonly TempDirectory _dir = new("alc");
    private readonly string _taskAssembly = Path.Combine(RepoPaths.TasksDirectory, "Relcraft.Sdk.dll");
    private readonly TaskFolderContext _context;

    public TaskLoadContextTests() => _context = new TaskFolderContext(_taskAssembly);

    public void Dispose()
    {
        _context.Unload();
        _dir.Dispose();
    }

    private (ITask Task, FakeBuildEngine Engine) ResolveRuntime(string packDirectory)
    {
        var task = (ITask)Activator.CreateInstance(_context.LoadFromAssemblyPath(_taskAssembly).GetType("Relcraft.Sdk.Tasks.ResolveReleaseRuntime", throwOnError: true)!)!;
        var engine = new FakeBuildEngine();
        task.BuildEngine = engine;
        Set(task, "Release", new TaskItem("kv", new Dictionary<string, string> { ["IncludeRuntime"] = "true", ["RuntimeIdentifier"] = "linux-arm64" }));
        Set(task, "AppFiles", new ITaskItem[]
        {
            new TaskItem(_dir.Write("App.dll", "app"), new Dictionary<string, string> { ["RelativePath"] = "App.dll" }),
            new TaskItem(_dir.Write("App.runtimeconfig.json", """{ "runtimeOptions": { "framework": { "name": "Microsoft.NETCore.App", "version": "10.0.0" } } }"""),
                new Dictionary<string, string> { ["RelativePath"] = "App.runtimeconfig.json" }),
        });
        Set(task, "EntryAssembly", "App.dll");
        Set(task, "SdkRuntimeIdentifier", "linux-x64");
        Set(task, "NetCoreRoot", _dir.Path);
        Set(task, "RuntimePacks", new ITaskItem[]
        {
            new TaskItem("Microsoft.NETCore.App.Runtime.linux-arm64", new Dictionary<string, string>
            {
                ["FrameworkName"] = "Microsoft.NETCore.App",
                ["PackageDirectory"] = packDirectory,
                ["NuGetPackageId"] = "Microsoft.NETCore.App.Runtime.linux-arm64",
            }),
        });
        return (task, engine);
    }

    [Fact]
    public void The_runtime_pack_reader_runs_on_what_the_task_folder_carries()
    {
        Assert.True(File.Exists(Path.ChangeExtension(_taskAssembly, ".deps.json")), $"no deps.json beside {_taskAssembly}");

        var (task, engine) = ResolveRuntime(RepoPaths.RuntimePackLinuxArm64);
        Assert.True(task.Execute(), engine.Describe());
        Assert.NotEmpty((ITaskItem[])task.GetType().GetProperty("RuntimeFiles")!.GetValue(task)!);

        _dir.Write("broken-pack/x.nuspec", "<package><metadata><id>x");
        var (broken, brokenEngine) = ResolveRuntime(_dir.Combine("broken-pack"));
        Assert.False(broken.Execute());
        Assert.Equal(["RELCRAFT1012"], brokenEngine.ErrorCodes);

        var nuget = _context.Assemblies.Where(a => a.GetName().Name!.StartsWith("NuGet.", StringComparison.Ordinal)).ToList();
        Assert.Contains(nuget, a => a.GetName().Name == "NuGet.Packaging");
        Assert.All(nuget, a => Assert.StartsWith(RepoPaths.TasksDirectory, a.Location));

        var sharedFramework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var missing = _context.LeftToTheHost.Distinct().Where(n => !File.Exists(Path.Combine(sharedFramework, n + ".dll"))).ToList();
        Assert.True(missing.Count == 0, $"the task needed assemblies its folder does not carry: {string.Join(", ", missing)}");
    }

    private static void Set(ITask task, string property, object value) => task.GetType().GetProperty(property)!.SetValue(task, value);
}
