using System.Collections;

namespace Relcraft.Agent;

/// <summary>
/// A Generic Host whose BackgroundService throws stops itself (HostOptions.BackgroundServiceExceptionBehavior
/// StopHost, the default) but its Main then returns as after any graceful stop, exit code 0, so neither the
/// daemon supervisor nor systemd (Restart=on-failure) restarts it. When the host has stopped, this looks for a
/// faulted BackgroundService.ExecuteTask and, as the process exits, turns a 0 exit code into 1 and says why.
/// A code Main or Environment.Exit chose is kept, and so is a host configured to Ignore such failures.
/// </summary>
internal static class BackgroundServiceFailures
{
    private static string? _failures;

    public static void Watch(IServiceProvider services, object lifetime)
    {
        if (lifetime.GetType().GetProperty("ApplicationStopped")?.GetValue(lifetime) is not CancellationToken stopped) return;
        stopped.Register(() => Inspect(services));
        // Setting ExitCode while the process exits is what wins over an int-returning Main's 0 as well.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ExitNonZeroIfFailed();
    }

    private static void Inspect(IServiceProvider services)
    {
        try
        {
            if (IgnoresFailures(services)) return;
            var hostedService = Type.GetType("Microsoft.Extensions.Hosting.IHostedService, Microsoft.Extensions.Hosting.Abstractions");
            if (hostedService is null || services.GetService(typeof(IEnumerable<>).MakeGenericType(hostedService)) is not IEnumerable all) return;
            var failures = all.Cast<object>()
                .Select(service => (service, task: IsBackgroundService(service.GetType()) ? ExecuteTask(service) : null))
                .Where(s => s.task is { IsFaulted: true })
                .Select(s => $"BackgroundService {s.service.GetType().Name} failed: {Describe(s.task!.Exception)}")
                .ToList();
            if (failures.Count > 0) _failures = string.Join("; ", failures);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft agent: cannot check the host's background services: {e.Message}");
        }
    }

    private static void ExitNonZeroIfFailed()
    {
        if (_failures is null || Environment.ExitCode != 0) return;
        Console.Error.WriteLine($"relcraft agent: {_failures}; exiting with code 1");
        Environment.ExitCode = 1;
    }

    private static bool IgnoresFailures(IServiceProvider services)
    {
        var hostOptions = Type.GetType("Microsoft.Extensions.Hosting.HostOptions, Microsoft.Extensions.Hosting");
        var options = hostOptions is null ? null : Type.GetType("Microsoft.Extensions.Options.IOptions`1, Microsoft.Extensions.Options")?.MakeGenericType(hostOptions);
        var value = options is null ? null : options.GetProperty("Value")?.GetValue(services.GetService(options));
        return value?.GetType().GetProperty("BackgroundServiceExceptionBehavior")?.GetValue(value)?.ToString() == "Ignore";
    }

    private static bool IsBackgroundService(Type? type)
    {
        for (; type is not null; type = type.BaseType)
            if (type.FullName == "Microsoft.Extensions.Hosting.BackgroundService") return true;
        return false;
    }

    private static Task? ExecuteTask(object service) => service.GetType().GetProperty("ExecuteTask", typeof(Task))?.GetValue(service) as Task;

    private static string Describe(AggregateException? failure) =>
        failure?.InnerExceptions is [var only] ? $"{only.GetType().Name}: {OneLine(only.Message)}" : OneLine(failure?.Message ?? "unknown error");

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
