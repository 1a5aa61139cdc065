using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Relcraft.SocketActivation;

[assembly: HostingStartup(typeof(Relcraft.Hosting.InheritedSocketsStartup))]

namespace Relcraft.Hosting;

/// <summary>
/// Makes Kestrel serve on the listening sockets the release inherited (as the agent published them, see
/// <see cref="ListenFds"/>), except those named in RELCRAFT_RAW_SOCKETS, which the app takes itself through
/// Relcraft.Runtime's ReleaseSockets. Explicit endpoints make Kestrel ignore ASPNETCORE_URLS/--urls ("Overriding
/// address(es)"), so the app does not also bind its configured ports.
/// </summary>
public sealed class InheritedSocketsStartup : IHostingStartup
{
    public void Configure(IWebHostBuilder builder)
    {
        var fds = ListenFds.ForKestrel(ListenFds.Parse(AppContext.GetData(ListenFds.AppContextKey) as string),
            Environment.GetEnvironmentVariable(ListenFds.RawSocketsVariable));
        if (fds.Count == 0) return;
        // Registered before UseKestrel's TryAdd of the plain socket transport, and the last factory registered binds anyway.
        builder.ConfigureServices(services => services.AddSingleton<IConnectionListenerFactory, DrainingListenerFactory>());
        builder.ConfigureKestrel(options =>
        {
            foreach (var fd in fds) options.ListenHandle((ulong)fd.Fd);
        });
    }
}
