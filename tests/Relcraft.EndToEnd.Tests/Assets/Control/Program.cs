// The console app of the control-channel tests ("Ctl.App", released as ctl and ctli). Main prints a
// marker, records that it ran in Ctl.State, binds 127.0.0.1:$CTL_PORT when that is set, ticks
// Ctl.State.Counter every 20 ms, and runs until SIGTERM. rpc/eval/remote read Ctl.State.
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ctl;

Console.WriteLine(State.MainMarker);
State.MainPid = Environment.ProcessId;
State.MainRan = true;

TcpListener? listener = null;
if (int.TryParse(Environment.GetEnvironmentVariable("CTL_PORT"), out var port))
{
    listener = new TcpListener(IPAddress.Loopback, port);
    listener.Start();
    Console.WriteLine($"listening={port}");
}

using var ticker = new Timer(_ => State.Tick(), null, 0, 20);
using (var stop = new ManualResetEventSlim())
using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); }))
{
    Console.WriteLine("serving");
    stop.Wait();
}
listener?.Stop();
Console.WriteLine("stopping gracefully");
return 0;
