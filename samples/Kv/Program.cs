// The key-value server from Elixir's "Mix & OTP" guide, as a Generic Host app.
//   Kv:Address (default 127.0.0.1) and Kv:Port (default 4040) come from configuration:
//   appsettings.json, environment (Kv__Port=5555) or the command line (--Kv:Port=5555).
// Stops gracefully on SIGTERM / Ctrl+C: the server stops accepting and closes its clients.
// The buckets survive upgrade and downgrade: KvState is an IReleaseState service, which the Relcraft agent
// registers when the host is built (importing what the previous version exported before anything is served).
// Kv:HandOverState=false (Kv__HandOverState=false) leaves it out: a new version then starts empty, and restart and
// upgrade overlap the two processes instead (the benchmark's stateless case).
using Kv;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Relcraft.Runtime;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton(Registry.Default);
if (!string.Equals(builder.Configuration["Kv:HandOverState"], "false", StringComparison.OrdinalIgnoreCase))
    builder.Services.AddSingleton<IReleaseState, KvState>();
builder.Services.AddHostedService<KvServer>();

await builder.Build().RunAsync();
