extern alias runtime;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Relcraft.Sdk.Tests.Infrastructure;
using IReleaseState = runtime::Relcraft.Runtime.IReleaseState;
using ReleaseState = runtime::Relcraft.Runtime.ReleaseState;
using ReleaseStateException = runtime::Relcraft.Runtime.ReleaseStateException;

namespace Relcraft.Sdk.Tests;

/// <summary>The app side of the state hand-off: import at Register through the supervisor's socket, export at exit on request.</summary>
public sealed class ReleaseStateTests : IDisposable
{
    private readonly TempDirectory _dir = new("state");

    public ReleaseStateTests() => ReleaseState.Reset();

    public void Dispose()
    {
        ReleaseState.Reset();
        _dir.Dispose();
    }

    [Fact]
    public void Register_imports_the_payload_with_the_headers_version_then_says_state_imported()
    {
        using var supervisor = new FakeSupervisor(_dir.Combine("supervisor.sock"));
        var file = WriteStateFile(_dir.Combine("old state", "export-1.state"), "RCSTATE1", 1, "old payload");
        supervisor.StateReply = $"import {file}\n";
        var state = new TestState(3, supervisor);

        ReleaseState.RegisterWith(state, supervisor.Path, _dir.Path);

        Assert.Equal((1, "old payload", 1), state.Imported);
        Assert.Equal(["state\u00001\u00003\u0000\u0000", "state-imported\u00000\u0000\u0000"], supervisor.Requests);
        Assert.True(ReleaseState.IsRegistered);
    }

    [Fact]
    public void A_supervisor_socket_path_longer_than_sockaddr_un_holds_is_reached()
    {
        // The socket is bound at a short path; the deep one reaches it through a symlink, as a release's would directly.
        using var supervisor = new FakeSupervisor(_dir.Combine("s.sock"));
        var deep = _dir.Combine(new string('d', 60), new string('e', 60));
        Directory.CreateDirectory(deep);
        var longPath = System.IO.Path.Combine(deep, "kv.supervisor.sock");
        File.CreateSymbolicLink(longPath, supervisor.Path);
        Assert.True(Encoding.UTF8.GetByteCount(longPath) > 108);
        var state = new TestState(2, supervisor);

        ReleaseState.RegisterWith(state, longPath, _dir.Path);

        Assert.Equal(["state\u00001\u00002\u0000\u0000"], supervisor.Requests);
    }

    [Fact]
    public void None_imports_nothing_and_sends_no_second_request()
    {
        using var supervisor = new FakeSupervisor(_dir.Combine("supervisor.sock"));
        var state = new TestState(2, supervisor);

        ReleaseState.RegisterWith(state, supervisor.Path, _dir.Path);

        Assert.Null(state.Imported);
        Assert.Equal(["state\u00001\u00002\u0000\u0000"], supervisor.Requests);
    }

    [Fact]
    public void Outside_a_supervisor_register_only_records_the_state()
    {
        var state = new TestState(1);
        ReleaseState.RegisterWith(state, _dir.Combine("no-such.sock"), null);
        Assert.Null(state.Imported);
        Assert.True(ReleaseState.IsRegistered);
        Assert.False(ReleaseState.ExportIfRequested());
    }

    [Fact]
    public void A_second_register_throws()
    {
        ReleaseState.RegisterWith(new TestState(1), null, null);
        Assert.Throws<InvalidOperationException>(() => ReleaseState.RegisterWith(new TestState(1), null, null));
    }

    [Fact]
    public void Bad_magic_fails_with_a_release_state_exception_and_unregisters()
    {
        using var supervisor = new FakeSupervisor(_dir.Combine("supervisor.sock"));
        supervisor.StateReply = $"import {WriteStateFile(_dir.Combine("export-1.state"), "NOTSTATE", 1, "x")}\n";
        var state = new TestState(1, supervisor);

        var e = Assert.Throws<ReleaseStateException>(() => ReleaseState.RegisterWith(state, supervisor.Path, _dir.Path));

        Assert.Contains("written as version 1", e.Message);
        Assert.Null(state.Imported);
        Assert.False(ReleaseState.IsRegistered);
        Assert.Single(supervisor.Requests);
    }

    [Fact]
    public void An_import_that_throws_fails_with_its_message_and_no_state_imported()
    {
        using var supervisor = new FakeSupervisor(_dir.Combine("supervisor.sock"));
        supervisor.StateReply = $"import {WriteStateFile(_dir.Combine("export-1.state"), "RCSTATE1", 7, "x")}\n";

        var e = Assert.Throws<ReleaseStateException>(() =>
            ReleaseState.RegisterWith(new TestState(1, supervisor) { FailImport = true }, supervisor.Path, _dir.Path));

        Assert.Equal("cannot import the release state (written as version 7): import refused", e.Message);
        Assert.Single(supervisor.Requests);
    }

    [Fact]
    public void Export_writes_the_header_with_the_returned_version_and_the_payload_then_renames_to_state()
    {
        ReleaseState.RegisterWith(new TestState(3), null, _dir.Path);
        var pid = Environment.ProcessId;
        File.WriteAllText(_dir.Combine($"export-{pid}.request"), " 1\n");

        Assert.True(ReleaseState.ExportIfRequested());

        var path = _dir.Combine($"export-{pid}.state");
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("RCSTATE1", Encoding.ASCII.GetString(bytes, 0, 8));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal("state for 1", Encoding.UTF8.GetString(bytes, 16, bytes.Length - 16));
        Assert.Equal("600", Posix.OctalMode(path));
        Assert.False(File.Exists(_dir.Combine($"export-{pid}.tmp")));
    }

    [Fact]
    public void Export_without_a_request_writes_nothing()
    {
        ReleaseState.RegisterWith(new TestState(3), null, _dir.Path);

        Assert.False(ReleaseState.ExportIfRequested());

        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void A_failing_export_leaves_no_state_and_no_tmp_file()
    {
        ReleaseState.RegisterWith(new TestState(3) { FailExport = true }, null, _dir.Path);
        var request = _dir.Write($"export-{Environment.ProcessId}.request", "2");

        Assert.False(ReleaseState.ExportIfRequested());

        Assert.Equal([request], Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void The_agent_registers_an_IReleaseState_service_of_the_host()
    {
        var state = new TestState(1);
        Relcraft.Agent.Readiness.RegisterReleaseState(new Services(t => t == typeof(IReleaseState) ? state : null));
        Assert.True(ReleaseState.IsRegistered);
        Assert.Throws<InvalidOperationException>(() => ReleaseState.RegisterWith(new TestState(1), null, null));
    }

    [Fact]
    public void The_agent_leaves_a_state_the_app_registered_itself_and_a_host_without_one()
    {
        Relcraft.Agent.Readiness.RegisterReleaseState(new Services(_ => null));
        Assert.False(ReleaseState.IsRegistered);
        ReleaseState.RegisterWith(new TestState(1), null, null);
        Relcraft.Agent.Readiness.RegisterReleaseState(new Services(_ => new TestState(2)));
        Assert.True(ReleaseState.IsRegistered);
    }

    private sealed class Services(Func<Type, object?> get) : IServiceProvider
    {
        public object? GetService(Type serviceType) => get(serviceType);
    }

    private static string WriteStateFile(string path, string magic, int version, string payload)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var header = new byte[16];
        Encoding.ASCII.GetBytes(magic, header);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), version);
        File.WriteAllBytes(path, [.. header, .. Encoding.UTF8.GetBytes(payload)]);
        return path;
    }

    /// <summary>Records what it imported (with how many requests the supervisor had by then); exports "state for T".</summary>
    private sealed class TestState(int version, FakeSupervisor? supervisor = null) : IReleaseState
    {
        public (int Version, string Payload, int RequestsSeen)? Imported { get; private set; }
        public bool FailImport { get; init; }
        public bool FailExport { get; init; }
        public int Version => version;

        public void Import(Stream source, int written)
        {
            if (FailImport) throw new InvalidDataException("import refused");
            Imported = (written, new StreamReader(source).ReadToEnd(), supervisor?.Requests.Count ?? -1);
        }

        public int Export(Stream destination, int targetVersion)
        {
            if (FailExport) throw new IOException("export refused");
            destination.Write(Encoding.UTF8.GetBytes($"state for {targetVersion}"));
            return Math.Min(targetVersion, version);
        }
    }

    /// <summary>
    /// The supervisor's end of the socket: one request per connection (it ends with an empty field), answered with
    /// <see cref="StateReply"/> for "state" and "ok" otherwise, then the connection is closed.
    /// </summary>
    private sealed class FakeSupervisor : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly List<string> _requests = [];
        private readonly Task _accepting;

        public FakeSupervisor(string path)
        {
            Path = path;
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen();
            _accepting = Task.Run(AcceptAsync);
        }

        public string Path { get; }
        public string StateReply { get; set; } = "none\n";

        public IReadOnlyList<string> Requests
        {
            get { lock (_requests) return _requests.ToArray(); }
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                Socket client;
                try { client = await _listener.AcceptAsync(); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
                using (client)
                {
                    var request = new List<byte>();
                    var buffer = new byte[256];
                    while (request.Count < 2 || request[^1] != 0 || request[^2] != 0)
                    {
                        var n = await client.ReceiveAsync(buffer);
                        if (n == 0) break;
                        request.AddRange(buffer.AsSpan(0, n));
                    }
                    var text = Encoding.UTF8.GetString(request.ToArray());
                    lock (_requests) _requests.Add(text);
                    await client.SendAsync(Encoding.UTF8.GetBytes(text.StartsWith("state\0", StringComparison.Ordinal) ? StateReply : "ok\n"));
                    client.Shutdown(SocketShutdown.Both);
                }
            }
        }

        public void Dispose()
        {
            _listener.Dispose();
            _accepting.Wait();
        }
    }
}
