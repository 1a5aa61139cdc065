using System.Diagnostics;
using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Relcraft.Agent;

/// <summary>
/// Watches for a Generic Host through the "Microsoft.Extensions.Hosting" DiagnosticListener's
/// HostBuilt event — no code in the app — to learn two things: when the app is ready
/// (ApplicationStarted) and how to stop it gracefully (StopApplication).
/// Readiness is told with the sd_notify protocol (<see cref="ServiceNotify"/>: "READY=1", then "STOPPING=1" on
/// ApplicationStopping). The built host is also handed to <see cref="InheritedSockets"/> and
/// <see cref="BackgroundServiceFailures"/>, and an IReleaseState service is registered with Relcraft.Runtime's
/// ReleaseState (<see cref="RegisterReleaseState"/>) before the host can start. An app without a Generic Host has no
/// such moment: it counts as ready once Main has run for RELEASE_READY_GRACE_MS (default 500)
/// without the process exiting — so one that dies at once is reported as failed, not started.
/// </summary>
internal static class Readiness
{
    private static int _ready;
    private static object? _lifetime;
    private static IDisposable? _subscription;
    private static Timer? _grace;

    public static void Watch(Assembly? entry)
    {
        ServiceNotify.Configure();
        if (entry is null || !UsesGenericHost(entry))
        {
            if (!ServiceNotify.Enabled) return;
            var grace = int.TryParse(Environment.GetEnvironmentVariable("RELEASE_READY_GRACE_MS"), out var ms) && ms >= 0 ? ms : 500;
            _grace = new Timer(_ => Ready(), null, grace, Timeout.Infinite);
            return;
        }
        _subscription = DiagnosticListener.AllListeners.Subscribe(new Observer<DiagnosticListener>(listener =>
        {
            if (listener.Name != "Microsoft.Extensions.Hosting") return;
            listener.Subscribe(new Observer<KeyValuePair<string, object?>>(e =>
            {
                if (e.Key == "HostBuilt" && e.Value is not null) OnHostBuilt(e.Value);
            }));
        }));
    }

    internal static bool UsesGenericHost(Assembly entry) =>
        entry.GetReferencedAssemblies().Any(a => a.Name is { } n &&
            (n.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal) || n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)));

    /// <summary>Asks the host to shut down gracefully; false when there is no host to ask.</summary>
    public static bool TryStopApplication()
    {
        var lifetime = _lifetime;
        if (lifetime is null) return false;
        lifetime.GetType().GetMethod("StopApplication")?.Invoke(lifetime, null);
        return true;
    }

    private static void OnHostBuilt(object host)
    {
        var services = host.GetType().GetProperty("Services")?.GetValue(host) as IServiceProvider;
        // Outside the catch below: a state that cannot be imported fails the app's Build().
        if (services is not null) RegisterReleaseState(services);
        try
        {
            InheritedSockets.OnHostBuilt();
            var lifetimeType = Type.GetType("Microsoft.Extensions.Hosting.IHostApplicationLifetime, Microsoft.Extensions.Hosting.Abstractions");
            _lifetime = lifetimeType is null ? null : services?.GetService(lifetimeType);
            if (services is not null && _lifetime is not null) BackgroundServiceFailures.Watch(services, _lifetime);
            if (lifetimeType?.GetProperty("ApplicationStopping")?.GetValue(_lifetime) is CancellationToken stopping)
                stopping.Register(ServiceNotify.Stopping);
            if (lifetimeType?.GetProperty("ApplicationStarted")?.GetValue(_lifetime) is CancellationToken started)
                started.Register(Ready);
            else
                Ready();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft agent: cannot watch the host for readiness: {e.Message}");
            Ready();
        }
    }

    /// <summary>
    /// An app's Relcraft.Runtime.IReleaseState service, registered with ReleaseState.Register (by reflection: the agent
    /// does not reference Relcraft.Runtime) unless the app registered a state itself. HostBuilt is raised inside
    /// Build(), so the import the registration waits for is done before the host serves anything.
    /// </summary>
    /// <exception cref="Exception">What Register threw (the import failed): Build() fails and the process exits non-zero.</exception>
    internal static void RegisterReleaseState(IServiceProvider services)
    {
        var stateType = FindType("Relcraft.Runtime.IReleaseState");
        if (stateType is null || services.GetService(stateType) is not { } state) return;
        var releaseState = stateType.Assembly.GetType("Relcraft.Runtime.ReleaseState");
        if (releaseState?.GetProperty("IsRegistered")?.GetValue(null) is true) return;
        var register = releaseState?.GetMethod("Register", [stateType]);
        if (register is null)
        {
            Console.Error.WriteLine("relcraft agent: the app has an IReleaseState service but its Relcraft.Runtime has no ReleaseState.Register");
            return;
        }
        try { register.Invoke(null, [state]); }
        catch (TargetInvocationException e) when (e.InnerException is { } inner)
        {
            // ReleaseStateException has said what failed on stderr already.
            if (inner.GetType().FullName != "Relcraft.Runtime.ReleaseStateException")
                Console.Error.WriteLine($"relcraft agent: cannot register the release state: {inner.Message}");
            ExceptionDispatchInfo.Capture(inner).Throw();
        }
    }

    private static Type? FindType(string fullName)
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
            if (assembly.GetName().Name == "Relcraft.Runtime" && assembly.GetType(fullName) is { } type)
                return type;
        try { return Type.GetType($"{fullName}, Relcraft.Runtime"); }
        catch (Exception e) when (e is IOException or BadImageFormatException) { return null; }
    }

    private static void Ready()
    {
        if (Interlocked.Exchange(ref _ready, 1) == 1) return;
        _grace?.Dispose();
        _subscription?.Dispose();
        Control.ControlServer.Publish();
        ServiceNotify.Ready();
    }

    private sealed class Observer<T>(Action<T> onNext) : IObserver<T>
    {
        public void OnNext(T value) => onNext(value);
        public void OnError(Exception error) { }
        public void OnCompleted() { }
    }
}
