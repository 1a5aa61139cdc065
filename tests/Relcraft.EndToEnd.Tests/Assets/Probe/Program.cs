// The console app the end-to-end tests release ("Probe.App"). It reports what it sees, then behaves
// as its first argument asks:
//   once         print and exit 0
//   exit3        print and exit 3 at once (a daemon that dies while starting)
//   ignore-term  print, then ignore SIGTERM forever (RELEASE_STOP_TIMEOUT must kill it)
//   spam N       print N lines of 100 bytes, then "spam done", then serve as below
//   (else)       print "serving", run until SIGTERM, print "stopping gracefully", exit 0
using System.Runtime.InteropServices;

Console.WriteLine($"pid={Environment.ProcessId}");
Console.WriteLine($"args={string.Join('|', args)}");
foreach (var name in new[] { "RELEASE_ROOT", "RELEASE_NAME", "RELEASE_VSN", "RELEASE_NODE", "RELEASE_TMP", "RELEASE_COMMAND", "FROM_ENV_SH", "ENV_SH_ARGS", "FROM_RELEASE_ENV", "DOTNET_CONTENTROOT", "ASPNETCORE_CONTENTROOT" })
    Console.WriteLine($"env:{name}={Environment.GetEnvironmentVariable(name)}");
Console.WriteLine($"cwd={Environment.CurrentDirectory}");
Console.WriteLine($"fullpath:args[1]={(args.Length > 1 ? Path.GetFullPath(args[1]) : "")}");
Console.WriteLine($"corelib={typeof(object).Assembly.Location}");
Console.WriteLine($"appcontext:Relcraft.E2E.Marker={AppContext.GetData("Relcraft.E2E.Marker")}");

switch (args.FirstOrDefault())
{
    case "once":
        return 0;
    case "exit3":
        return 3;
    case "ignore-term":
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Console.WriteLine("ignoring SIGTERM"); }))
        {
            Console.WriteLine("serving");
            Thread.Sleep(Timeout.Infinite);
        }
        return 0;
    case "spam":
        for (var i = 0; i < int.Parse(args[1]); i++) Console.WriteLine($"{i,10} " + new string('x', 88));
        Console.WriteLine("spam done");
        goto default;
    default:
        using (var stop = new ManualResetEventSlim())
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); }))
        {
            Console.WriteLine("serving");
            stop.Wait();
        }
        Console.WriteLine("stopping gracefully");
        return 0;
}
