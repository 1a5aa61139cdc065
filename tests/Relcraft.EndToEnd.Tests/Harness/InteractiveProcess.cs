using System.Diagnostics;
using System.Text;

namespace Relcraft.EndToEnd.Tests.Harness;

/// <summary>
/// A process whose stdin stays open for the test to write to line by line (remote, console), with its
/// stdout and stderr collected as separate line lists. Disposing stops it by pid.
/// </summary>
public sealed class InteractiveProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly List<string> _all = [];
    private bool _inputClosed;

    public InteractiveProcess(ProcessStartInfo start, string description)
    {
        Command = description;
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.StandardInputEncoding = new UTF8Encoding(false);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Add(e.Data, _stdout);
        _process.ErrorDataReceived += (_, e) => Add(e.Data, _stderr);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="args"/> through the release's launcher, the machine's .NET hidden as for every run.</summary>
    public static InteractiveProcess Launch(InstalledRelease release, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var (file, arguments) = release.HideDotnet ? InstalledRelease.WithoutMachineDotnet(release.Launcher, args) : (release.Launcher, args);
        var start = ProcessRunner.Start(file, arguments, release.Root, environment, redirect: true);
        return new InteractiveProcess(start, $"bin/{release.Name} {string.Join(' ', args)}");
    }

    public string Command { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public IReadOnlyList<string> StdOut { get { lock (_all) return [.. _stdout]; } }
    public IReadOnlyList<string> StdErr { get { lock (_all) return [.. _stderr]; } }
    public string Output { get { lock (_all) return string.Join("\n", _all); } }

    private void Add(string? line, List<string> own)
    {
        if (line is null) return;
        lock (_all)
        {
            own.Add(line);
            _all.Add(line);
        }
    }

    public void WriteLine(string line)
    {
        _process.StandardInput.Write(line + "\n");
        _process.StandardInput.Flush();
    }

    public void CloseInput()
    {
        if (_inputClosed) return;
        _inputClosed = true;
        try { _process.StandardInput.Close(); } catch (IOException) { }
    }

    /// <summary>Waits until stdout has at least <paramref name="count"/> lines; returns them.</summary>
    public IReadOnlyList<string> WaitForStdOutLines(int count, TimeSpan? timeout = null)
    {
        var ok = Poll.Until(() => { lock (_all) return _stdout.Count >= count; }, timeout ?? TimeSpan.FromSeconds(60));
        Assert.True(ok, $"{Command}: expected {count} stdout line(s) within the deadline; output so far:\n{Output}");
        return StdOut;
    }

    /// <summary>Waits for a stderr line containing <paramref name="text"/>.</summary>
    public string WaitForStdErr(string text, TimeSpan? timeout = null)
    {
        string? found = null;
        var ok = Poll.Until(() => { lock (_all) found = _stderr.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)); return found is not null; },
            timeout ?? TimeSpan.FromSeconds(60));
        Assert.True(ok, $"{Command}: no stderr line containing '{text}' within the deadline; output so far:\n{Output}");
        return found!;
    }

    /// <summary>Waits for the process and both of its output pipes to end; fails the test if it does not within <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { _process.WaitForExitAsync(cts.Token).GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { Assert.Fail($"{Command}: still running after {timeout.TotalSeconds}s; output so far:\n{Output}"); }
        return _process.ExitCode;
    }

    /// <summary>Writes <paramref name="input"/>, closes stdin and waits for the end: a RunResult as ProcessRunner.Run gives.</summary>
    public RunResult Complete(string input, TimeSpan timeout)
    {
        _process.StandardInput.Write(input);
        CloseInput();
        var code = WaitForExit(timeout);
        lock (_all)
            return new RunResult(Command, code, string.Join("", _stdout.Select(l => l + "\n")), string.Join("", _stderr.Select(l => l + "\n")),
                string.Join("", _all.Select(l => l + "\n")));
    }

    public void Dispose()
    {
        CloseInput();
        try
        {
            if (!_process.HasExited) Processes.Stop(_process.Id);
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
