using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;

namespace Relcraft.Launcher;

/// <summary>
/// bin/NAME supervise: the parent of the app for as long as the system runs. It holds the release's
/// sockets (bound once, handed to every app process as fds 3..), restarts an app that crashed
/// (heart: growing delays, then gives up), replaces the app without closing the sockets when asked
/// (restart), and stops it gracefully on SIGTERM. `daemon` starts it detached (--detached: own
/// session, output into the rotated log, one report line on its stdout for daemon); systemd runs it
/// in the foreground (Type=notify: READY=1 with MAINPID, RELOADING=1, STOPPING=1 from here).
/// </summary>
internal sealed class Supervisor
{
    /// <summary>The pipe bin/NAME daemon reads the report from.</summary>
    private const int ReportFd = 1;

    private readonly bool _detached;
    private readonly RotatingLog _log;
    private readonly List<HeldSocket> _sockets;
    private readonly SystemdNotifier? _systemd;
    private readonly string? _watchdogUsec;
    private readonly Channel<object> _events = Channel.CreateUnbounded<object>();
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<DateTime> _crashes = new();
    private readonly DateTime _startedUtc = DateTime.UtcNow;
    private Release _release;
    private IReadOnlyList<string> _args;
    private volatile AppInstance? _current;
    private volatile RestartRequest? _switching;
    /// <summary>Set once READY=1 went to systemd: an app's first watchdog ping can arrive before that reply is sent.</summary>
    private volatile bool _toldReady;
    private readonly ConcurrentDictionary<int, AppInstance> _instances = new();
    private int _heartRestarts;
    private int _restarts;

    private sealed record Exited(AppInstance Instance);
    private sealed record RestartRequest(Release Release, IReadOnlyList<string>? Args, Socket Client, bool Record)
    {
        public string? Hold => Release.Get("RELCRAFT_TEST_HOLD");
    }

    private Supervisor(Release release, IReadOnlyList<string> args, bool detached, RotatingLog log, List<HeldSocket> sockets)
    {
        _release = release;
        _args = args;
        _detached = detached;
        _log = log;
        _sockets = sockets;
        _systemd = detached ? null : SystemdNotifier.FromEnvironment(release);
        _watchdogUsec = release.Get("WATCHDOG_PID") is { } wpid && wpid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture) ? null : release.Get("WATCHDOG_USEC");
    }

    public static string PidFileOf(Release release) => Path.Combine(release.Tmp, release.Node + ".supervisor.pid");
    public static string SocketOf(Release release) => Path.Combine(release.ControlDir, release.Node + ".supervisor.sock");
    /// <summary>RELEASE_TMP/state (0700): export requests, exported state, and the hand-off copy kept until a process has taken it.</summary>
    public static string StateDirOf(Release release) => Path.Combine(release.Tmp, "state");
    public static string HandoffFileOf(Release release) => Path.Combine(StateDirOf(release), release.Node + ".handoff");
    private string HandoffFile => HandoffFileOf(_release);

    public static int Run(Release release, IReadOnlyList<string> args)
    {
        var detached = args.Count > 0 && args[0] == "--detached";
        if (detached) args = args.Skip(1).ToList();
        if (detached && !OperatingSystem.IsWindows())
        {
            Native.setsid();
            // No terminal: stdin from /dev/null, the supervisor's own complaints into the log.
            Native.Redirect(0, "/dev/null", append: false);
            Directory.CreateDirectory(Path.GetDirectoryName(release.LogFile)!);
            Native.Redirect(2, release.LogFile, append: true);
        }
        if (!detached && Running(release) is int other) throw new LauncherException($"{release.Name} is already supervised (pid {other})");
        release.PrepareTmp();
        PrepareStateDir(release);
        Cookie.Ensure(release);
        using var log = detached
            ? new RotatingLog(release.LogFile, release.GetLong("RELEASE_LOG_MAX_BYTES", 10 * 1024 * 1024), (int)release.GetLong("RELEASE_LOG_FILES", 5))
            : RotatingLog.Passthrough(Console.OpenStandardOutput());
        List<HeldSocket> sockets;
        try { sockets = OperatingSystem.IsWindows() ? [] : Sockets.Open(release, release.Get); }
        catch (LauncherException e)
        {
            log.Line(e.Message);
            if (detached) Report($"error {e.Message}");
            throw;
        }
        foreach (var s in sockets) log.Line($"holding socket {s.Name} on {s.Address}");
        return new Supervisor(release, args, detached, log, sockets).Supervise();
    }

    private static void PrepareStateDir(Release release)
    {
        var dir = StateDirOf(release);
        try
        {
            if (OperatingSystem.IsWindows()) { Directory.CreateDirectory(dir); return; }
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new LauncherException($"cannot create {dir}"); }
    }

    /// <summary>The supervisor's pid while one runs for this node.</summary>
    public static int? Running(Release release) => PidFile.Running(PidFileOf(release));

    private int Supervise()
    {
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _stop.TrySetResult(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; _stop.TrySetResult(); });
        using var hangup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        using var control = Listen();
        PidFile.Write(PidFileOf(_release), Environment.ProcessId);
        try
        {
            return SuperviseAsync().GetAwaiter().GetResult();
        }
        finally
        {
            foreach (var s in _sockets) s.Socket.Close();
            PidFile.RemoveIfOwned(PidFileOf(_release), Environment.ProcessId);
            try { File.Delete(SocketOf(_release)); } catch (IOException) { }
        }
    }

    private async Task<int> SuperviseAsync()
    {
        var timeout = TimeSpan.FromSeconds(_release.GetLong("RELEASE_START_TIMEOUT", 60));
        AppInstance first;
        try { first = Start(_release, _args); }
        catch (LauncherException e)
        {
            _log.Line(e.Message);
            if (_detached) Report("exited 127");
            throw;
        }
        _current = first;
        PidFile.Write(_release.PidFile, first.Id);
        var outcome = await WaitReady(first, timeout);
        var report = outcome switch { "ready" => $"ready {first.Id}", "exited" => $"exited {first.ExitCode}", "stop" => $"exited {first.ExitCode}", _ => $"timeout {first.Id}" };
        _log.Line(report);
        if (_detached) Report(report);
        if (outcome == "exited")
        {
            // A system that never came up is reported, not restarted: nothing had been serving.
            Finished(first);
            return first.ExitCode;
        }
        if (outcome == "ready")
        {
            TakenOver(first);
            _systemd?.Send($"READY=1\nMAINPID={Environment.ProcessId}\nSTATUS=pid {first.Id} ready");
            _toldReady = true;
        }

        while (true)
        {
            var next = _events.Reader.ReadAsync().AsTask();
            await Task.WhenAny(next, _stop.Task);
            if (_stop.Task.IsCompleted) return await StopAll();
            switch (await next)
            {
                case Exited e when ReferenceEquals(e.Instance, _current):
                    if (await Heart(e.Instance) is int code) return code;
                    break;
                case RestartRequest r:
                    await Restart(r);
                    break;
            }
        }
    }

    // ---- app processes -------------------------------------------------------------------------

    private AppInstance Start(Release release, IReadOnlyList<string> args)
    {
        var env = AppLaunch.Environment(release);
        Cookie.HandOver(release, env);
        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "MAINPID", "INVOCATION_ID" }) env.Remove(name);
        if (_watchdogUsec is not null) env["WATCHDOG_USEC"] = _watchdogUsec;
        if (env.TryGetValue("RELEASE_COMMAND", out var command) && command is "restart" or "supervise" or "__switch") env["RELEASE_COMMAND"] = "daemon";
        // Where ReleaseState.Register (Relcraft.Runtime) asks for state to import, and finds an export request.
        env["RELCRAFT_SUPERVISOR_SOCKET"] = SocketOf(_release);
        env["RELCRAFT_STATE_DIR"] = StateDirOf(_release);
        var (file, appArgs) = AppLaunch.Command(release, env, args);
        Sockets.Describe(_sockets, env);
        var instance = AppInstance.Start(release, file, appArgs, env, _sockets.Count > 0, _log, OnNotify);
        _instances[instance.Id] = instance;
        _log.Line($"started pid {instance.Id} ({release.Name} {release.Vsn}): {file} {string.Join(' ', appArgs)}");
        _ = instance.Exited.ContinueWith(_ => _events.Writer.TryWrite(new Exited(instance)), TaskScheduler.Default);
        return instance;
    }

    /// <summary>"ready", "exited", "timeout" or "stop" — whichever comes first.</summary>
    private async Task<string> WaitReady(AppInstance instance, TimeSpan timeout)
    {
        var delay = Task.Delay(timeout);
        var first = await Task.WhenAny(instance.Ready, instance.Exited, delay, _stop.Task);
        if (first == instance.Ready && instance.Ready.Result) return "ready";
        if (instance.HasExited || first == instance.Exited) return "exited";
        if (first == _stop.Task) return "stop";
        // Ready said false (its notify socket went away) while the app lives: wait for the exit or the deadline.
        if (first == instance.Ready) { await Task.WhenAny(instance.Exited, delay, _stop.Task); return instance.HasExited ? "exited" : "timeout"; }
        return "timeout";
    }

    /// <summary>
    /// Messages from an app's NOTIFY_SOCKET besides READY=1: the watchdog ping goes on to systemd, from the serving
    /// process only, and only after this supervisor's own READY=1 (the app pings right after its READY=1, which the
    /// supervisor answers on another thread; the next ping follows within half the interval).
    /// </summary>
    private void OnNotify(AppInstance from, string message)
    {
        if (_systemd is null || !_toldReady || !ReferenceEquals(from, _current)) return;
        if (message.Split('\n').Contains("WATCHDOG=1")) _systemd.Send("WATCHDOG=1");
    }

    /// <summary>SIGTERM, then SIGKILL once RELEASE_STOP_TIMEOUT has passed; returns when it is gone.</summary>
    private async Task Retire(AppInstance instance, string why, int extraSeconds = 0)
    {
        if (instance.HasExited) return;
        _log.Line($"stopping pid {instance.Id} ({why})");
        instance.Terminate();
        var timeout = TimeSpan.FromSeconds(_release.StopTimeout + extraSeconds);
        if (await Task.WhenAny(instance.Exited, Task.Delay(timeout)) != instance.Exited)
        {
            _log.Line($"pid {instance.Id} did not stop within {_release.StopTimeout}s; killing it");
            instance.Kill();
            await instance.Exited;
        }
    }

    private void Finished(AppInstance instance)
    {
        if (!instance.MarkFinished()) return;
        _instances.TryRemove(instance.Id, out _);
        instance.WaitForOutput();
        _log.Line($"pid {instance.Id} exited with code {Describe(instance.ExitCode)}");
        PidFile.RemoveIfOwned(_release.PidFile, instance.Id);
    }

    private static string Describe(int code) => code > 128 && code < 160 && !OperatingSystem.IsWindows() ? $"{code} (signal {code - 128})" : $"{code}";

    // ---- stop ----------------------------------------------------------------------------------

    private async Task<int> StopAll()
    {
        _systemd?.Send("STOPPING=1");
        var current = _current;
        if (current is not null)
        {
            // bin/NAME stop kills at RELEASE_STOP_TIMEOUT itself (and says so); this is for a stop from systemd or a signal.
            await Retire(current, "stop", extraSeconds: 2);
            Finished(current);
        }
        DeleteHandoff();
        _log.Line("supervisor stopped");
        return 0;
    }

    // ---- heart ---------------------------------------------------------------------------------

    /// <summary>After the current app exited on its own: restart it (null), or end with an exit code.</summary>
    private async Task<int?> Heart(AppInstance gone)
    {
        Finished(gone);
        var code = gone.ExitCode;
        if (code == 0)
        {
            _log.Line($"{_release.Name} exited normally; not restarting it");
            return 0;
        }
        if (!HeartEnabled(_release))
        {
            _log.Line("heart is off (RELEASE_HEART=false); not restarting");
            return code;
        }
        var max = (int)_release.GetLong("RELEASE_HEART_MAX_RESTARTS", 5);
        var window = _release.GetLong("RELEASE_HEART_WINDOW", 60);
        var now = DateTime.UtcNow;
        _crashes.Enqueue(now);
        while (_crashes.Count > 0 && (now - _crashes.Peek()).TotalSeconds > window) _crashes.Dequeue();
        if (_crashes.Count > max)
        {
            _log.Line($"heart: {_release.Name} crashed {_crashes.Count} times within {window}s (RELEASE_HEART_MAX_RESTARTS={max}); giving up");
            return code;
        }
        var delay = HeartDelay(_crashes.Count);
        _log.Line($"heart: pid {gone.Id} exited with code {Describe(code)}; restarting in {delay.TotalMilliseconds:0} ms (restart {_crashes.Count} of {max} within {window}s)");
        if (await Task.WhenAny(Task.Delay(delay), _stop.Task) == _stop.Task) return null;
        AppInstance next;
        try { next = Start(_release, _args); }
        catch (LauncherException e)
        {
            _log.Line($"heart: {e.Message}; giving up");
            return code;
        }
        _current = next;
        _heartRestarts++;
        PidFile.Write(_release.PidFile, next.Id);
        _ = next.Ready.ContinueWith(t => { if (!t.Result) return; _log.Line($"heart: pid {next.Id} ready"); TakenOver(next); }, TaskScheduler.Default);
        return null;
    }

    /// <summary>100 ms, then doubling with each crash inside the window, at most 30 s.</summary>
    public static TimeSpan HeartDelay(int crashesInWindow) =>
        TimeSpan.FromMilliseconds(Math.Min(30_000, 100 * Math.Pow(2, Math.Max(0, crashesInWindow - 1))));

    public static bool HeartEnabled(Release release) =>
        !(release.Get("RELEASE_HEART") is { } v && (v.Equals("false", StringComparison.OrdinalIgnoreCase) || v == "0" || v.Equals("off", StringComparison.OrdinalIgnoreCase)));

    // ---- restart -------------------------------------------------------------------------------

    private async Task Restart(RestartRequest request)
    {
        using var client = request.Client;
        var reply = new StringBuilder();
        _systemd?.Send("RELOADING=1");
        _switching = request;
        try
        {
            var timeout = TimeSpan.FromSeconds(request.Release.GetLong("RELEASE_START_TIMEOUT", 60));
            var args = request.Args ?? _args;
            var old = _current;
            if (_sockets.Count > 0 || old is null || old.HasExited)
            {
                // Overlap: the new process takes the same sockets; the old one serves until the new one is ready —
                // or, when both keep state, until the new one asks for it (then the old drains and exports first).
                var (next, failure) = await StartReady(request.Release, args, timeout, request.Hold);
                if (next is null)
                {
                    reply.Append("failed ").Append(failure!.Value.Reason);
                    if (old is not null && old.HasExited) await BringBack(reply, timeout);
                    reply.Append('\n').Append(failure.Value.Tail);
                    return;
                }
                Serving(next, request, args);
                if (old is not null && !old.HasExited) { await Retire(old, $"replaced by pid {next.Id}"); Finished(old); }
                reply.Append($"ok {next.Id}\n");
            }
            else
            {
                // Nothing held to share: the old process goes first (exporting its state, for its own version); if the
                // new one fails, the previous configuration comes back, with that state.
                if (old.StateVersion is int own) await HandOff(old, own, request.Hold);
                else await Retire(old, "restart");
                Finished(old);
                var (next, failure) = await StartReady(request.Release, args, timeout, request.Hold);
                if (next is not null)
                {
                    Serving(next, request, args);
                    reply.Append($"ok {next.Id}\n");
                    return;
                }
                reply.Append("failed ").Append(failure!.Value.Reason);
                await BringBack(reply, timeout);
                reply.Append('\n').Append(failure.Value.Tail);
            }
        }
        catch (LauncherException e) { reply.Append("failed ").Append(e.Message).Append('\n'); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { reply.Append("failed ").Append(e.Message).Append('\n'); }
        finally
        {
            _switching = null;
            if (_current is { HasExited: false } now) _systemd?.Send($"READY=1\nSTATUS=pid {now.Id} ready");
            try { client.Send(Encoding.UTF8.GetBytes(reply.ToString())); }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }
    }

    /// <summary>The new process is ready: an upgrade or downgrade is recorded (start.data, bin/NAME), then it is the one serving.</summary>
    private void Serving(AppInstance next, RestartRequest request, IReadOnlyList<string> args)
    {
        Hold.At(request.Hold, "ready");
        if (request.Record)
        {
            Commit(request.Release.Root, request.Release.Name, request.Release.Vsn);
            _log.Line($"{request.Release.Name} {request.Release.Vsn} recorded in releases/start.data");
        }
        Promote(next, request.Release, args);
        Hold.At(request.Hold, "committed");
    }

    /// <summary>After a failed switch that had already stopped the old process: the previous version again, with the state it handed over.</summary>
    private async Task BringBack(StringBuilder reply, TimeSpan timeout)
    {
        var withState = File.Exists(HandoffFile);
        var (back, _) = await StartReady(_release, _args, timeout, null);
        if (back is not null)
        {
            Promote(back, _release, _args);
            reply.Append($"; {_release.Name} {_release.Vsn} runs again (pid {back.Id}){(withState && back.StateVersion is not null ? " with the state it handed over" : "")}");
        }
        else reply.Append($"; {_release.Name} {_release.Vsn} did not come back either");
    }

    /// <summary>
    /// The old process stops taking requests, finishes those in flight and, at its exit, writes its state for
    /// <paramref name="target"/> (Relcraft.Runtime reads the request file); the result becomes the hand-off copy.
    /// </summary>
    private async Task HandOff(AppInstance old, int target, string? hold)
    {
        if (!old.BeginHandOff()) { await old.Exited; return; }
        var dir = StateDirOf(_release);
        var request = Path.Combine(dir, $"export-{old.Id}.request");
        var exported = Path.Combine(dir, $"export-{old.Id}.state");
        File.WriteAllText(request, target.ToString(CultureInfo.InvariantCulture));
        await Retire(old, $"handing its state (version {old.StateVersion}) over for version {target}");
        Finished(old);
        try { File.Delete(request); } catch (IOException) { }
        if (File.Exists(exported))
        {
            File.Move(exported, HandoffFile, overwrite: true);
            _log.Line($"state of pid {old.Id} kept in {HandoffFile} until a process has taken it");
        }
        else _log.Line($"pid {old.Id} exited without exporting its state");
        Hold.At(hold, "exported");
    }

    /// <summary>A process that asked for state (and got the hand-off copy, if there was one) serves: the copy has done its job.</summary>
    private void TakenOver(AppInstance instance)
    {
        if (instance.StateVersion is not null) DeleteHandoff();
    }

    private void DeleteHandoff()
    {
        try { File.Delete(HandoffFile); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>ReleaseState.Register in an app process asks what to import: during a switch the old process hands over first.</summary>
    private async Task<string> StateFor(int pid, string? versionText)
    {
        AppInstance? asking = null;
        for (var i = 0; i < 100 && !_instances.TryGetValue(pid, out asking); i++) await Task.Delay(20);
        if (asking is null || !int.TryParse(versionText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var version)) return "none\n";
        asking.StateVersion = version;
        var current = _current;
        if (_switching is { } switching && current is not null && !ReferenceEquals(current, asking) && !current.HasExited && current.StateVersion is not null)
            await HandOff(current, version, switching.Hold);
        _log.Line($"pid {asking.Id} registered state version {version}{(File.Exists(HandoffFile) ? $"; importing {HandoffFile}" : "")}");
        return File.Exists(HandoffFile) ? $"import {HandoffFile}\n" : "none\n";
    }

    /// <summary>Writes releases/start.data (whole or not at all) and puts the version's own launcher at bin/.</summary>
    public static void Commit(string root, string name, string vsn)
    {
        var startData = Path.Combine(root, "releases", "start.data");
        var temp = $"{startData}.tmp.{Environment.ProcessId}";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            stream.Write(Encoding.UTF8.GetBytes(vsn + "\n"));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, startData, overwrite: true);
        var bin = Path.Combine(root, "releases", vsn, "bin");
        if (!Directory.Exists(bin)) return;
        foreach (var file in Directory.GetFiles(bin))
        {
            var to = Path.Combine(root, "bin", Path.GetFileName(file));
            var copy = $"{to}.tmp.{Environment.ProcessId}";
            File.Copy(file, copy, overwrite: true);
            File.Move(copy, to, overwrite: true);
        }
    }

    private async Task<(AppInstance? Ready, (string Reason, string Tail)? Failure)> StartReady(Release release, IReadOnlyList<string> args, TimeSpan timeout, string? hold)
    {
        AppInstance next;
        try { next = Start(release, args); }
        catch (LauncherException e) { return (null, (e.Message, "")); }
        Hold.At(hold, "started");
        var outcome = await WaitReady(next, timeout);
        if (outcome == "ready") return (next, null);
        if (!next.HasExited) { next.Kill(); await next.Exited; }
        Finished(next);
        var reason = outcome switch
        {
            "exited" => $"the new process (pid {next.Id}) exited with code {Describe(next.ExitCode)} before it was ready",
            "stop" => "the supervisor was asked to stop",
            _ => $"the new process (pid {next.Id}) was not ready within {timeout.TotalSeconds:0}s and was killed",
        };
        _log.Line($"restart failed: {reason}");
        return (null, (reason, next.Tail()));
    }

    private void Promote(AppInstance next, Release release, IReadOnlyList<string> args)
    {
        _current = next;
        _release = release;
        _args = args;
        _restarts++;
        _crashes.Clear();
        PidFile.Write(release.PidFile, next.Id);
        _log.Line($"pid {next.Id} is ready and serving");
        TakenOver(next);
    }

    // ---- the supervisor's own socket: restart and status, same user only ------------------------

    private Socket Listen()
    {
        var path = SocketOf(_release);
        try { File.Delete(path); } catch (IOException) { }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var endPoint = Relcraft.Agent.Control.Protocol.EndPoint(path, out var directory);
        using (directory)
        {
            socket.Bind(endPoint);
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        socket.Listen(16);
        _ = Task.Run(() => Accept(socket));
        return socket;
    }

    private async Task Accept(Socket listener)
    {
        while (true)
        {
            Socket client;
            try { client = await listener.AcceptAsync(); }
            catch (SocketException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(Socket client)
    {
        try
        {
            if (!OperatingSystem.IsWindows() && !SupervisorWire.SameUser(client)) { client.Dispose(); return; }
            using var stream = new NetworkStream(client, ownsSocket: false);
            var request = await SupervisorWire.ReadRequest(stream);
            switch (request.Command)
            {
                case "status":
                    client.Send(Encoding.UTF8.GetBytes(Status()));
                    client.Dispose();
                    break;
                case "restart" or "upgrade":
                    var release = new Release(request.Environment);
                    await _events.Writer.WriteAsync(new RestartRequest(release, request.Args.Count > 0 ? request.Args : null, client, Record: request.Command == "upgrade"));
                    break;
                case "state":
                    client.Send(Encoding.UTF8.GetBytes(await StateFor(SupervisorWire.PeerPid(client), request.Args.FirstOrDefault())));
                    client.Dispose();
                    break;
                case "state-imported":
                    if (_instances.TryGetValue(SupervisorWire.PeerPid(client), out var imported)) _log.Line($"pid {imported.Id} imported its state");
                    client.Send("ok\n"u8.ToArray());
                    client.Dispose();
                    break;
                case "stop":
                    client.Send("ok\n"u8.ToArray());
                    client.Dispose();
                    _stop.TrySetResult();
                    break;
                default:
                    client.Dispose();
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or LauncherException or FormatException)
        {
            client.Dispose();
        }
    }

    private string Status()
    {
        var now = DateTime.UtcNow;
        var current = _current;
        var text = new StringBuilder();
        text.Append($"version {_release.Vsn}\n");
        text.Append($"supervisor {Environment.ProcessId} {(long)(now - _startedUtc).TotalSeconds}\n");
        if (current is { HasExited: false }) text.Append($"app {current.Id} {(long)(now - current.StartedUtc).TotalSeconds}\n");
        text.Append($"heart-restarts {_heartRestarts}\n");
        text.Append($"restarts {_restarts}\n");
        text.Append($"heart {(HeartEnabled(_release) ? "on" : "off")}\n");
        foreach (var s in _sockets) text.Append($"socket {s.Name} {s.Address}\n");
        return text.ToString();
    }

    /// <summary>The one line for bin/NAME daemon, then the pipe is let go so the launcher can return.</summary>
    private static void Report(string line)
    {
        if (OperatingSystem.IsWindows()) { Console.Out.WriteLine(line); Console.Out.Flush(); Console.Out.Close(); return; }
        Native.WriteLine(ReportFd, line);
        Native.Redirect(ReportFd, "/dev/null", append: false);
    }
}

/// <summary>One process of the app under the supervisor: its output pumped into the log, its readiness, its end.</summary>
internal sealed class AppInstance
{
    private readonly Process _process;
    private readonly Task[] _pumps;
    private readonly OutputTail _tail = new(20);

    private int _finished;
    private int _handingOff;

    public int Id { get; }
    public DateTime StartedUtc { get; } = DateTime.UtcNow;
    private int _stateVersion = int.MinValue;

    /// <summary>The state version it registered (ReleaseState.Register), null while it has not.</summary>
    public int? StateVersion
    {
        get { var v = Volatile.Read(ref _stateVersion); return v == int.MinValue ? null : v; }
        set => Volatile.Write(ref _stateVersion, value ?? int.MinValue);
    }
    public bool MarkFinished() => Interlocked.Exchange(ref _finished, 1) == 0;
    public bool BeginHandOff() => Interlocked.Exchange(ref _handingOff, 1) == 0;
    public Task<bool> Ready { get; }
    public Task Exited { get; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    private AppInstance(Process process, Task<bool> ready, RotatingLog log)
    {
        _process = process;
        Id = process.Id;
        Ready = ready;
        Exited = process.WaitForExitAsync();
        _pumps = [Pump(process.StandardOutput.BaseStream, log), Pump(process.StandardError.BaseStream, log)];
    }

    public static AppInstance Start(Release release, string file, IReadOnlyList<string> args, Dictionary<string, string> env, bool handOverSockets,
        RotatingLog log, Action<AppInstance, string> onNotify)
    {
        var (exe, prefix) = handOverSockets ? Daemon.Self() : (file, Array.Empty<string>());
        var start = new ProcessStartInfo(exe)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var a in prefix) start.ArgumentList.Add(a);
        if (handOverSockets) { start.ArgumentList.Add("__exec"); start.ArgumentList.Add(file); }
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Clear();
        foreach (var (k, v) in env) start.Environment[k] = v;

        // Readiness: READY=1 on NOTIFY_SOCKET (an abstract datagram socket of this process's own), as systemd's protocol.
        // Windows has no datagram Unix sockets: there, and for an app without agent, alive after a grace period.
        var notify = OperatingSystem.IsWindows() ? null : new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        if (notify is not null)
        {
            var name = $"relcraft/{Environment.ProcessId}/{Guid.NewGuid():N}";
            notify.Bind(new UnixDomainSocketEndPoint("\0" + name));
            start.Environment["NOTIFY_SOCKET"] = "@" + name;
        }
        Process process;
        try { process = Process.Start(start) ?? throw new LauncherException($"cannot start {file}"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            notify?.Dispose();
            throw new LauncherException($"cannot start {file}: {e.Message}");
        }
        process.StandardInput.Close();
        var readyTcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var instance = new AppInstance(process, readyTcs.Task, log);
        if (notify is null || env.ContainsKey("RELCRAFT_NO_AGENT"))
        {
            var grace = TimeSpan.FromMilliseconds(release.GetLong("RELEASE_READY_GRACE_MS", 500));
            _ = Task.Delay(grace).ContinueWith(_ => readyTcs.TrySetResult(!process.HasExited), TaskScheduler.Default);
        }
        if (notify is not null)
        {
            _ = Listen(notify, instance, readyTcs, onNotify);
            _ = instance.Exited.ContinueWith(_ => { notify.Dispose(); readyTcs.TrySetResult(false); }, TaskScheduler.Default);
        }
        return instance;
    }

    private static async Task Listen(Socket notify, AppInstance instance, TaskCompletionSource<bool> ready, Action<AppInstance, string> onNotify)
    {
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try { n = await notify.ReceiveAsync(buffer, SocketFlags.None); }
            catch (SocketException) { ready.TrySetResult(false); return; }
            catch (ObjectDisposedException) { ready.TrySetResult(false); return; }
            var message = Encoding.UTF8.GetString(buffer, 0, n);
            if (message.Split('\n').Contains("READY=1")) ready.TrySetResult(true);
            onNotify(instance, message);
        }
    }

    public void Terminate()
    {
        if (_process.HasExited) return;
        if (OperatingSystem.IsWindows()) _process.Kill();
        else Native.kill(Id, Native.SIGTERM);
    }

    public void Kill()
    {
        if (_process.HasExited) return;
        if (OperatingSystem.IsWindows()) _process.Kill(entireProcessTree: true);
        else Native.kill(Id, Native.SIGKILL);
    }

    /// <summary>The last lines it wrote (for a restart that failed).</summary>
    public string Tail() => _tail.Text();

    public void WaitForOutput() => Task.WaitAll(_pumps, TimeSpan.FromSeconds(5));

    private async Task Pump(Stream from, RotatingLog log)
    {
        var buffer = new byte[16 * 1024];
        int n;
        try
        {
            while ((n = await from.ReadAsync(buffer)) > 0)
            {
                log.Write(buffer.AsSpan(0, n));
                _tail.Add(buffer.AsSpan(0, n));
            }
        }
        catch (IOException) { }
    }
}

/// <summary>The last N lines of a byte stream.</summary>
internal sealed class OutputTail(int lines)
{
    private readonly Queue<string> _lines = new();
    private readonly StringBuilder _partial = new();

    public void Add(ReadOnlySpan<byte> chunk)
    {
        lock (_lines)
        {
            foreach (var c in Encoding.UTF8.GetString(chunk))
            {
                if (c != '\n') { _partial.Append(c); continue; }
                _lines.Enqueue(_partial.ToString());
                _partial.Clear();
                if (_lines.Count > lines) _lines.Dequeue();
            }
        }
    }

    public string Text()
    {
        lock (_lines)
        {
            var all = _lines.ToList();
            if (_partial.Length > 0) all.Add(_partial.ToString());
            return string.Concat(all.TakeLast(lines).Select(l => l + "\n"));
        }
    }
}

/// <summary>sd_notify(3) to the service manager that started the supervisor (systemd, Type=notify).</summary>
internal sealed class SystemdNotifier
{
    private readonly string _address;

    private SystemdNotifier(string address) => _address = address;

    public static SystemdNotifier? FromEnvironment(Release release)
    {
        if (OperatingSystem.IsWindows() || release.Get("NOTIFY_SOCKET") is not { } socket) return null;
        return new SystemdNotifier(socket[0] == '@' ? "\0" + socket[1..] : socket);
    }

    public void Send(string message)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.SendTo(Encoding.UTF8.GetBytes(message), new UnixDomainSocketEndPoint(_address));
        }
        catch (SocketException) { }
    }
}
