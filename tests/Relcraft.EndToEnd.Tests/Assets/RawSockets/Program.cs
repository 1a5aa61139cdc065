// A raw TCP server (no Kestrel) that takes its listener from Relcraft.Runtime: the inherited socket "kv",
// else the fallback address in $KV_FALLBACK. Prints what a child process of it sees, then answers
// every connection with "kv PID".
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Relcraft.Runtime;

var listener = ReleaseSockets.Listen("kv", Environment.GetEnvironmentVariable("KV_FALLBACK") ?? "127.0.0.1:4040");
// Without close-on-exec and the environment cleanup, a child would hold the listener and see LISTEN_*
// (its stdio are pipes here, so any socket among its fds is one it inherited).
var probe = new ProcessStartInfo("/bin/sh", ["-c", "echo \"child-sockets=$(ls -l /proc/$$/fd | grep -c socket:) child-listen-env=$(env | grep -c '^LISTEN_')\""])
{
    RedirectStandardOutput = true,
};
using (var child = Process.Start(probe)!)
{
    Console.WriteLine(child.StandardOutput.ReadToEnd().Trim());
    child.WaitForExit();
}
Console.WriteLine($"names={string.Join(",", ReleaseSockets.Names)} listening={listener.LocalEndPoint}");
while (true)
{
    using var client = await listener.AcceptAsync();
    await client.SendAsync(Encoding.ASCII.GetBytes($"kv {Environment.ProcessId}\n"));
}
