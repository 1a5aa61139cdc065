// The web app of the upgrade tests ("Up.Web": `dotnet new web` with this Program.cs). A counter kept in an
// IReleaseState, in the shape chosen when building: 1 (default) writes it as decimal text, 2 (-p:UpStateVersion=2,
// STATE_V2) as an 8-byte little-endian long, migrates 1 up on import and converts down when exporting for 1.
//   POST /inc   the new value         GET /count   the value
//   GET /       "VSN|FRAMEWORK|PID" (RELEASE_VSN, RuntimeInformation.FrameworkDescription, the pid)
// It misbehaves on request, from its environment (set on the upgrade command, so only the new process sees it):
//   UP_CRASH_AT_START=1   exits 1 before it registers its state
//   UP_IMPORT_THROWS=1    its Import throws
//   UP_HANG_AFTER_REGISTER=1  registers (so the old one hands over), then never starts the host
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Relcraft.Runtime;

static bool Requested(string name) => Environment.GetEnvironmentVariable(name) == "1";

if (Requested("UP_CRASH_AT_START"))
{
    Console.WriteLine("up-web: UP_CRASH_AT_START=1, exiting with code 1");
    return 1;
}
var counter = new Counter { ThrowOnImport = Requested("UP_IMPORT_THROWS") };
ReleaseState.Register(counter);
if (Requested("UP_HANG_AFTER_REGISTER"))
{
    Console.WriteLine("up-web: UP_HANG_AFTER_REGISTER=1, never starting the host");
    Thread.Sleep(Timeout.Infinite);
}

var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapPost("/inc", () => counter.Increment().ToString(CultureInfo.InvariantCulture));
app.MapGet("/count", () => counter.Value.ToString(CultureInfo.InvariantCulture));
app.MapGet("/", () => $"{Environment.GetEnvironmentVariable("RELEASE_VSN")}|{RuntimeInformation.FrameworkDescription}|{Environment.ProcessId}");
app.Run();
return 0;

sealed class Counter : IReleaseState
{
    private long _value;
    public bool ThrowOnImport { get; init; }
    public long Value => Interlocked.Read(ref _value);
    public long Increment() => Interlocked.Increment(ref _value);

#if STATE_V2
    public int Version => 2;
#else
    public int Version => 1;
#endif

    public int Export(Stream destination, int targetVersion)
    {
#if STATE_V2
        if (targetVersion >= 2)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, Value);
            destination.Write(bytes);
            return 2;
        }
#endif
        destination.Write(Encoding.ASCII.GetBytes(Value.ToString(CultureInfo.InvariantCulture)));
        return 1;
    }

    public void Import(Stream source, int version)
    {
        if (ThrowOnImport) throw new InvalidOperationException("up-web: UP_IMPORT_THROWS=1");
        using var buffer = new MemoryStream();
        source.CopyTo(buffer);
        var bytes = buffer.ToArray();
        _value = version switch
        {
            1 => long.Parse(Encoding.ASCII.GetString(bytes), CultureInfo.InvariantCulture),
#if STATE_V2
            2 => bytes.Length == 8 ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : throw new InvalidDataException($"a version 2 state is 8 bytes, not {bytes.Length}"),
#endif
            _ => throw new NotSupportedException($"state version {version} is newer than this code's {Version}"),
        };
        Console.WriteLine($"up-web: imported {_value} (written as version {version})");
    }
}
