using System.Runtime.Loader;
using Relcraft.SocketActivation;

namespace Relcraft.Agent;

/// <summary>
/// Before Main: takes the listening sockets the process inherited (<see cref="ListenFds.TakeFromEnvironment"/>:
/// close-on-exec, LISTEN_* removed, published as AppContext data "Relcraft.ListenFds"), and for an app on the
/// ASP.NET Core framework with sockets meant for Kestrel, adds Relcraft.Hosting (shipped beside the agent) as a
/// hosting startup, which makes Kestrel serve on them.
/// </summary>
internal static class InheritedSockets
{
    private const string HostingStartupsVariable = "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES";
    private const string HostingAssembly = "Relcraft.Hosting";
    private static string? _hostingStartupsBefore;
    private static bool _hostingStartupAdded;

    public static void Take()
    {
        var fds = ListenFds.TakeFromEnvironment(message => Console.Error.WriteLine($"relcraft agent: {message}"));
        if (fds.Count == 0 || !OnAspNetCoreFramework()) return;
        if (ListenFds.ForKestrel(fds, Environment.GetEnvironmentVariable(ListenFds.RawSocketsVariable)).Count == 0) return;
        var path = Path.Combine(Path.GetDirectoryName(typeof(InheritedSockets).Assembly.Location) ?? "", HostingAssembly + ".dll");
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"relcraft agent: Kestrel will not serve on the inherited sockets: {path} is missing");
            return;
        }
        AssemblyLoadContext.Default.Resolving += (context, name) => name.Name == HostingAssembly ? context.LoadFromAssemblyPath(path) : null;
        _hostingStartupsBefore = Environment.GetEnvironmentVariable(HostingStartupsVariable);
        Environment.SetEnvironmentVariable(HostingStartupsVariable,
            string.IsNullOrEmpty(_hostingStartupsBefore) ? HostingAssembly : $"{_hostingStartupsBefore};{HostingAssembly}");
        _hostingStartupAdded = true;
    }

    /// <summary>A built host has run its hosting startups: the app's children see the variable as the app was given it.</summary>
    public static void OnHostBuilt()
    {
        if (!_hostingStartupAdded) return;
        _hostingStartupAdded = false;
        Environment.SetEnvironmentVariable(HostingStartupsVariable, _hostingStartupsBefore);
    }

    /// <summary>
    /// Kestrel is in the app's frameworks (not only: in the entry assembly's references — a web host may be built
    /// by a library), so Relcraft.Hosting's references resolve; nothing reads the variable unless a web host is built.
    /// </summary>
    private static bool OnAspNetCoreFramework() =>
        (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "").Split(Path.PathSeparator)
            .Any(p => Path.GetFileName(p) == "Microsoft.AspNetCore.Server.Kestrel.Core.dll");
}
