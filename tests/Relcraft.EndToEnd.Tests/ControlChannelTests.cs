using Relcraft.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Relcraft.EndToEnd.Tests;

/// <summary>
/// The control channel and the commands around it, against the release of Assets/Control
/// (<see cref="ControlAppFixture"/>): ping and rpc (.Rpc.cs), eval (.Eval.cs), remote and console
/// (.Shells.cs), socket and cookie security (.Security.cs), malformed traffic (.Fuzz.cs), hooks and
/// custom commands (.Hooks.cs), embedded and interactive modes (.Modes.cs), Roslyn unloaded when
/// idle (.ScriptingIdle.cs).
/// Client exit codes: 0 ok, 1 evaluation failed, 2 usage, 3 not running, 4 authentication failed,
/// 5 rpc timed out, 6 protocol error. Every launcher run hides the machine's .NET.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ControlChannelTests(ControlAppFixture fixture, PackedSdk sdk, ITestOutputHelper output) : IClassFixture<ControlAppFixture>, IDisposable
{
    private const string Name = ControlAppFixture.Name;
    private readonly List<IDisposable> _cleanup = [];
    private readonly List<string> _deleteAfter = [];
    private readonly List<InstalledRelease> _used = [];

    private InstalledRelease Release => fixture.Release;

    /// <summary>After every test, pass or fail: end what it started, and leave tmp/ empty for the next one.</summary>
    public void Dispose()
    {
        foreach (var item in _cleanup) item.Dispose();
        foreach (var release in _used.Append(Release).Distinct())
        {
            release.StopEverything();
            if (Directory.Exists(release.Tmp)) Directory.Delete(release.Tmp, recursive: true);
        }
        foreach (var path in _deleteAfter)
        {
            try
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                else File.Delete(path);
            }
            catch (IOException) { }
        }
    }

    private static Dictionary<string, string?> Env(params (string Name, string? Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value);

    /// <summary>daemon, then the pid it wrote (after checking it names a live process).</summary>
    private int Daemon(InstalledRelease? release = null, IReadOnlyDictionary<string, string?>? env = null)
    {
        release ??= Release;
        _used.Add(release);
        release.Run(env, "daemon").ShouldSucceed();
        var pid = release.Pid();
        Assert.True(pid is not null, $"daemon returned 0 but wrote no pid file {release.PidFile()}");
        Assert.True(Processes.IsAlive(pid.Value), $"daemon returned 0 but pid {pid} is not running\n{release.Log()}");
        return pid.Value;
    }

    private RunResult Rpc(string expression, IReadOnlyDictionary<string, string?>? env = null) => Release.Run(env, "rpc", expression);

    /// <summary>rpc that must succeed; its stdout without the final newline.</summary>
    private string RpcValue(string expression, InstalledRelease? release = null) =>
        (release ?? Release).Run("rpc", expression).ShouldSucceed().StdOut.TrimEnd('\n');

    private InteractiveProcess Launch(IReadOnlyDictionary<string, string?>? env, params string[] args) => Launch(Release, env, args);

    private InteractiveProcess Launch(InstalledRelease release, IReadOnlyDictionary<string, string?>? env, params string[] args)
    {
        _used.Add(release);
        var process = InteractiveProcess.Launch(release, env, args);
        _cleanup.Add(process);
        return process;
    }

    /// <summary>A path for a file that evaluated code must NOT create: in this run's folder, removed afterwards.</summary>
    private string MarkerPath(string name)
    {
        var path = Path.Combine(sdk.WorkRoot, $"{name}-{Guid.NewGuid():N}.marker");
        _deleteAfter.Add(path);
        return path;
    }

    private static string CSharpString(string text) => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
