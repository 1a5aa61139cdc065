// A storage-only node (release `bar` in the Mix & OTP guide): the registry and
// its buckets, without the TCP server. Stops gracefully on SIGTERM / Ctrl+C.
using Kv;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton(Registry.Default);
builder.Services.AddHostedService<StorageNode>();

await builder.Build().RunAsync();
