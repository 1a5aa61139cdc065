using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Relcraft.Runtime;

/// <summary>
/// Hands an app's <see cref="IReleaseState"/> across versions under the Relcraft supervisor: <see cref="Register"/>
/// imports what the previous version exported, and the process exports its own state as it exits when the
/// supervisor asked for it (an upgrade or downgrade is replacing it). Outside a supervisor it does nothing.
/// </summary>
/// <remarks>
/// The supervisor passes RELCRAFT_SUPERVISOR_SOCKET (a Unix socket it answers requests on) and RELCRAFT_STATE_DIR
/// (where state files are exchanged). A state file is a 16-byte header (ASCII "RCSTATE1", the version the payload
/// was written as in int32 little-endian, 4 zero bytes) followed by the payload <see cref="IReleaseState.Export"/> wrote.
/// </remarks>
public static class ReleaseState
{
    internal const string SocketVariable = "RELCRAFT_SUPERVISOR_SOCKET";
    internal const string StateDirVariable = "RELCRAFT_STATE_DIR";
    internal const int HeaderLength = 16;
    private static ReadOnlySpan<byte> Magic => "RCSTATE1"u8;

    private static readonly object Gate = new();
    private static IReleaseState? _state;
    private static string? _stateDir;
    private static bool _exitHandlerAdded;

    /// <summary>Whether this process has registered its release state (one registration per process).</summary>
    public static bool IsRegistered
    {
        get { lock (Gate) return _state is not null; }
    }

    /// <summary>
    /// Registers the process's state: under a supervisor, imports what the previous version exported (waiting, with
    /// no timeout, until it has stopped and exported) and arranges for an export at process exit when one is asked for.
    /// Call it before the app serves anything.
    /// </summary>
    /// <exception cref="InvalidOperationException">A state is already registered.</exception>
    /// <exception cref="ReleaseStateException">The handed-over state cannot be imported: the process should exit.</exception>
    public static void Register(IReleaseState state) =>
        RegisterWith(state, Environment.GetEnvironmentVariable(SocketVariable), Environment.GetEnvironmentVariable(StateDirVariable));

    internal static void RegisterWith(IReleaseState state, string? socketPath, string? stateDir)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (Gate)
        {
            if (_state is not null) throw new InvalidOperationException("the release state is already registered; a process has one");
            _state = state;
            _stateDir = string.IsNullOrEmpty(stateDir) ? null : stateDir;
            if (_stateDir is not null && !_exitHandlerAdded)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) => ExportIfRequested();
                _exitHandlerAdded = true;
            }
        }
        if (string.IsNullOrEmpty(socketPath) || !File.Exists(socketPath)) return;
        try
        {
            ImportHandedOver(state, socketPath);
        }
        catch
        {
            // Half-imported state is not handed on to anyone.
            Reset();
            throw;
        }
    }

    /// <summary>Forgets the registration (tests; a failed import).</summary>
    internal static void Reset()
    {
        lock (Gate)
        {
            _state = null;
            _stateDir = null;
        }
    }

    private static void ImportHandedOver(IReleaseState state, string socketPath)
    {
        string reply;
        try { reply = Ask(socketPath, "state", state.Version.ToString(CultureInfo.InvariantCulture)); }
        catch (Exception e) { throw Fail($"cannot ask the supervisor for the release state: {e.Message}", e); }
        var line = reply.Split('\n', 2)[0].TrimEnd('\r');
        if (line == "none") return;
        if (!line.StartsWith("import ", StringComparison.Ordinal))
            throw Fail($"cannot import the release state: unexpected reply from the supervisor: '{line}'", null);
        var version = 0;
        try
        {
            using (var source = new FileStream(line["import ".Length..], FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                Span<byte> header = stackalloc byte[HeaderLength];
                source.ReadExactly(header);
                version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
                if (!header[..8].SequenceEqual(Magic)) throw new InvalidDataException("not a release state file (no RCSTATE1 header)");
                state.Import(source, version);
            }
        }
        catch (Exception e)
        {
            throw Fail($"cannot import the release state (written as version {version}): {e.Message}", e);
        }
        try { Ask(socketPath, "state-imported"); }
        catch (Exception e) { throw Fail($"cannot tell the supervisor the release state is imported: {e.Message}", e); }
    }

    private static ReleaseStateException Fail(string message, Exception? cause)
    {
        Console.Error.WriteLine($"relcraft: {message}");
        return new ReleaseStateException(message, cause);
    }

    /// <summary>One request (UTF-8 fields, each ended by NUL: command, argument count, arguments, an empty field); the reply is all the supervisor writes.</summary>
    private static string Ask(string socketPath, string command, params string[] args)
    {
        var request = new StringBuilder().Append(command).Append('\0').Append(args.Length.ToString(CultureInfo.InvariantCulture)).Append('\0');
        foreach (var arg in args) request.Append(arg).Append('\0');
        request.Append('\0');
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        // A release in a deep folder has a supervisor socket path longer than sockaddr_un holds.
        var endPoint = Relcraft.SocketActivation.UnixSocketPath.EndPoint(socketPath, out var directory);
        using (directory) socket.Connect(endPoint);
        using var stream = new NetworkStream(socket, ownsSocket: false);
        stream.Write(Encoding.UTF8.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The ProcessExit work: when the supervisor left RELCRAFT_STATE_DIR/export-PID.request (holding the version of
    /// the process that takes over), exports the state to export-PID.state through export-PID.tmp. Never throws.
    /// </summary>
    /// <returns>Whether a state file was written.</returns>
    internal static bool ExportIfRequested()
    {
        IReleaseState? state;
        string? dir;
        lock (Gate)
        {
            state = _state;
            dir = _stateDir;
        }
        if (state is null || dir is null) return false;
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var request = Path.Combine(dir, $"export-{pid}.request");
        var tmp = Path.Combine(dir, $"export-{pid}.tmp");
        try
        {
            if (!File.Exists(request)) return false;
            var target = int.Parse(File.ReadAllText(request).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var destination = new FileStream(tmp, options))
            {
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(destination.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                Span<byte> header = stackalloc byte[HeaderLength];
                header.Clear();
                Magic.CopyTo(header);
                destination.Write(header);
                var written = state.Export(destination, target);
                BinaryPrimitives.WriteInt32LittleEndian(header[8..], written);
                destination.Position = 8;
                destination.Write(header[8..12]);
                destination.Flush(flushToDisk: true);
            }
            File.Move(tmp, Path.Combine(dir, $"export-{pid}.state"), overwrite: true);
            return true;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft: cannot export the release state: {e.Message}");
            try { File.Delete(tmp); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return false;
        }
    }
}
