using System.Diagnostics;

namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// A release on disk, driven through its launcher bin/NAME — by default inside a private mount namespace
/// where the machine's .NET (/usr/share/dotnet) is an empty tmpfs, as on a box without .NET.
/// Remembers every pid file its commands may have written, so <see cref="StopEverything"/> can end them.
/// </summary>
public sealed class InstalledRelease(string root, string name, bool hideDotnet = true)
{
    public const string MachineDotnetRoot = "/usr/share/dotnet";

    private readonly HashSet<string> _tmpDirs = [Path.Combine(root, "tmp")];
    private readonly List<RunningProcess> _foreground = [];

    public string Root { get; } = root;
    public string Name { get; } = name;
    public bool HideDotnet { get; } = hideDotnet;
    /// <summary>
    /// Where the launcher's commands run (default: the release root). An operator seldom stands in the release,
    /// so the matrix tests run them from "/" to catch anything that leans on the working directory.
    /// </summary>
    public string WorkingDirectory { get; init; } = root;
    /// <summary>How long one command of <see cref="Run(string[])"/> may take before it is killed and the test fails.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public string Launcher => Path.Combine(Root, "bin", Name);
    public string Tmp => Path.Combine(Root, "tmp");

    public string PidFile(string? node = null) => Path.Combine(Tmp, $"{node ?? Name}.pid");
    public string LogFile(string? node = null) => Path.Combine(Tmp, "log", $"{node ?? Name}.log");
    public string Log(string? node = null) => File.Exists(LogFile(node)) ? File.ReadAllText(LogFile(node)) : "";
    public int? Pid(string? node = null) => Processes.ReadPidFile(PidFile(node))?.Pid;

    /// <summary>
    /// (file, args) that run <paramref name="program"/> with /usr/share/dotnet hidden behind an empty tmpfs in a
    /// private mount namespace. unshare and sh both exec, so the pid stays the program's.
    /// </summary>
    public static (string File, string[] Args) WithoutMachineDotnet(string program, IEnumerable<string> args) =>
        ("unshare", ["-m", "sh", "-c", $"mount -t tmpfs tmpfs {MachineDotnetRoot} && exec \"$0\" \"$@\"", program, .. args]);

    public RunResult Run(params string[] args) => Run(null, args);

    public RunResult Run(IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        RunProgram(Launcher, environment, args);

    /// <summary>Runs <paramref name="program"/> (the launcher, or e.g. a symlink to it) with the release's conventions.</summary>
    public RunResult RunProgram(string program, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        Track(environment);
        var (file, arguments) = HideDotnet ? WithoutMachineDotnet(program, args) : (program, args);
        return ProcessRunner.Run(file, arguments, WorkingDirectory, environment, CommandTimeout);
    }

    /// <summary>Starts the launcher without waiting for it (for `start`, which runs in the foreground).</summary>
    public RunningProcess Begin(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        Track(environment);
        var (file, arguments) = HideDotnet ? WithoutMachineDotnet(Launcher, args) : (Launcher, args);
        var process = new RunningProcess(ProcessRunner.Start(file, arguments, WorkingDirectory, environment, redirect: true));
        _foreground.Add(process);
        return process;
    }

    private void Track(IReadOnlyDictionary<string, string?>? environment)
    {
        if (environment is not null && environment.TryGetValue("RELEASE_TMP", out var tmp) && tmp is not null) _tmpDirs.Add(tmp);
    }

    /// <summary>Ends whatever this release's commands started: pid files first, then anything still naming the release.</summary>
    public void StopEverything()
    {
        foreach (var process in _foreground) process.Dispose();
        foreach (var dir in _tmpDirs.Where(Directory.Exists))
            foreach (var pidFile in Directory.EnumerateFiles(dir, "*.pid"))
                Processes.StopFromPidFile(pidFile);
        Processes.StopAllMentioning(Root);
    }
}

/// <summary>A process we started and watch line by line; disposing stops it (by pid).</summary>
public sealed class RunningProcess : IDisposable
{
    private readonly List<string> _lines = [];
    private readonly Process _process;

    public RunningProcess(ProcessStartInfo start)
    {
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_lines) _lines.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_lines) _lines.Add(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _process.StandardInput.Close();
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Output { get { lock (_lines) return string.Join("\n", _lines); } }

    /// <summary>The first line starting with <paramref name="prefix"/>, waiting up to <paramref name="timeout"/> for it.</summary>
    public string WaitForLine(string prefix, TimeSpan? timeout = null)
    {
        string? found = null;
        var ok = Poll.Until(() => { lock (_lines) found = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)); return found is not null; },
            timeout ?? TimeSpan.FromSeconds(30));
        Assert.True(ok, $"no line starting with '{prefix}' within the deadline; output so far:\n{Output}");
        return found!;
    }

    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) Processes.Stop(_process.Id);
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

/// <summary>Reads what the probe app (Assets/Probe/Program.cs) prints: "key=value" lines.</summary>
public static class ProbeOutput
{
    public static Dictionary<string, string> Parse(string output)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            var eq = line.IndexOf('=');
            if (eq > 0) values.TryAdd(line[..eq].Trim(), line[(eq + 1)..].TrimEnd('\r'));
        }
        return values;
    }
}
