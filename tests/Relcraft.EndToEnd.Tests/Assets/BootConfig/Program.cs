// The Generic Host app of the boot-configuration tests ("Cfg.Svc", `dotnet new worker` with this
// Program.cs). Main prints a marker and the configuration keys of interest as the host's
// IConfiguration sees them, keeps that IConfiguration in Cfg.Svc.Live for rpc, then exits at once
// when its first argument is "once", else runs the host until stopped.
using Cfg.Svc;

Console.WriteLine(Live.MainMarker);
var builder = Host.CreateApplicationBuilder(args);
var host = builder.Build();
Live.Configuration = host.Services.GetRequiredService<IConfiguration>();
foreach (var key in Live.Keys)
    Console.WriteLine($"config:{key}={Live.Configuration[key] ?? "(null)"}");
if (args.FirstOrDefault() == "once") return 0;
host.Run();
return 0;
