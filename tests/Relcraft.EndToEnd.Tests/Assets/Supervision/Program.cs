// The web app of the supervision tests ("Sup.Web": `dotnet new web` with this Program.cs). GET /
// answers the pid of the process that served it, so a client can tell old and new apart. It
// misbehaves on request, from its environment:
//   CRASH_ON_START=1     exits 1 before the host is built (never ready)
//   HANG_ON_START=1      never builds the host (never ready, never exits)
//   CRASH_AFTER_READY=1  stops its host half a second after it started and exits 1
// The agent's preflight (RELCRAFT_CHECK) exits before Main, so none of these reach it.
static bool Requested(string name) => Environment.GetEnvironmentVariable(name) == "1";

if (Requested("CRASH_ON_START"))
{
    Console.WriteLine("sup-web: CRASH_ON_START=1, exiting with code 1 before the host starts");
    return 1;
}
if (Requested("HANG_ON_START"))
{
    Console.WriteLine("sup-web: HANG_ON_START=1, never starting the host");
    Thread.Sleep(Timeout.Infinite);
}

var builder = WebApplication.CreateBuilder(args);
/*SOCKETS*/
var app = builder.Build();
app.MapGet("/", () => Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

var crash = Requested("CRASH_AFTER_READY");
if (crash)
    app.Lifetime.ApplicationStarted.Register(() => _ = Task.Delay(500).ContinueWith(_ => app.Lifetime.StopApplication(), TaskScheduler.Default));
app.Run();
if (crash)
{
    Console.WriteLine("sup-web: CRASH_AFTER_READY=1, exiting with code 1");
    return 1;
}
return 0;
