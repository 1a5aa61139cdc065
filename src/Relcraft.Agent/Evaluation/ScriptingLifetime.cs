using System.Reflection;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Relcraft.Agent;

/// <summary>
/// Roslyn's time in the app. Loaded from lib/relcraft-VSN/ on first use; in a running system
/// (start, daemon, console) into a collectible context, unloaded after RELEASE_SCRIPTING_IDLE
/// seconds (default 300) without an evaluation while no REPL keeps variables in it, so that the
/// memory it takes goes back to the operating system, and loaded again by the next evaluation.
/// Every use goes through a <see cref="Lease"/>; a REPL with state takes a <see cref="Hold"/>.
///
/// Collectible has a price: the runtime uses neither ReadyToRun code nor tiered compilation for
/// collectible assemblies, so every Roslyn method is JIT-compiled fully optimised, about 2.5× the
/// CPU time of the first evaluation after each load. Where nothing would be unloaded — eval (one
/// evaluation, then the process exits) and RELEASE_SCRIPTING_IDLE=0 — the context is not collectible.
///
/// What an unload does not give back (≈ 15-22 MiB of RSS, measured; the GC heap itself returns to
/// what it was): the framework assemblies Roslyn uses come from the default context, which never
/// unloads (System.Collections.Immutable, System.Reflection.Metadata and a few more) — their mapped
/// pages, ~5 MiB of type data and code in the default loader heaps, and the runtime's native
/// bookkeeping for them, which stays in a glibc arena.
/// </summary>
internal static class ScriptingLifetime
{
    /// <summary>How many forced collections unloading waits for the context to go before it gives up.</summary>
    private const int MaxCollections = 30;

    private static readonly object Gate = new();
    private static TimeSpan? _idle; // null: never unloaded (eval, or RELEASE_SCRIPTING_IDLE=0)
    private static Loaded? _loaded;
    private static int _busy;     // leases not yet disposed
    private static int _holds;    // REPL sessions with state in the engine
    private static long _lastUse; // Environment.TickCount64 when the last lease or hold ended
    private static Timer? _timer;

    private sealed record Loaded(ScriptingLoadContext Context, IScriptEngine Engine);

    /// <summary>A running system: reads RELEASE_SCRIPTING_IDLE at boot, so that a warning about it goes to the app's own stderr.</summary>
    public static void Configure() => _idle = ScriptingIdle.FromEnvironment(Console.Error);

    /// <summary>True while Roslyn is loaded (a use would not have to load it).</summary>
    public static bool IsLoaded
    {
        get { lock (Gate) return _loaded is not null; }
    }

    /// <summary>The engine for one evaluation, loaded if it is not; the idle clock starts again when the lease is disposed.</summary>
    public static Lease Use()
    {
        lock (Gate)
        {
            _loaded ??= Load();
            _busy++;
            return new Lease(_loaded.Engine);
        }
    }

    /// <summary>Keeps scripting loaded until disposed: a REPL session whose variables live in the engine. Take it inside a lease.</summary>
    public static IDisposable Hold()
    {
        lock (Gate) _holds++;
        return new Ending(() => _holds--);
    }

    public sealed class Lease : IDisposable
    {
        private int _ended;
        internal Lease(IScriptEngine engine) => Engine = engine;
        public IScriptEngine Engine { get; }
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0) End(() => _busy--);
        }
    }

    private sealed class Ending(Action count) : IDisposable
    {
        private int _ended;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0) End(count);
        }
    }

    private static void End(Action count)
    {
        lock (Gate)
        {
            count();
            _lastUse = Environment.TickCount64;
            Schedule();
        }
    }

    /// <summary>Under the lock: the timer set for the next decision, if there is one to make.</summary>
    private static void Schedule()
    {
        var due = ScriptingIdle.UnloadIn(_loaded is not null, _busy, _holds, TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastUse), _idle);
        if (due is null) return;
        if (_timer is null)
        {
            // Not in the caller's async flow: that may be an rpc, whose Console output goes back to its client.
            using (ExecutionContext.SuppressFlow()) _timer = new Timer(_ => OnTimer());
        }
        _timer.Change(due.Value, Timeout.InfiniteTimeSpan);
    }

    private static void OnTimer()
    {
        try
        {
            var before = ResidentMiB();
            var context = TryDetach(out var idle);
            if (context is null) return;
            var collections = Collect(context);
            var after = ResidentMiB();
            var rss = before is null || after is null ? "" : $" (rss {before} → {after} MiB)";
            Console.Error.WriteLine(context.IsAlive
                ? $"relcraft agent: scripting unloaded after {Seconds(idle)} idle, but still referenced after {collections} collections " +
                  $"(an object or delegate a script left in the app?): its memory stays until that goes{rss}"
                : $"relcraft agent: scripting unloaded after {Seconds(idle)} idle{rss}");
            Console.Error.Flush();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"relcraft agent: unloading idle scripting: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>
    /// Takes the loaded engine out if it is still idle, disposes it and starts the context's unload;
    /// returns only a weak reference, so no frame of the collecting thread holds on to it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference? TryDetach(out TimeSpan idle)
    {
        Loaded loaded;
        lock (Gate)
        {
            idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastUse);
            var due = ScriptingIdle.UnloadIn(_loaded is not null, _busy, _holds, idle, _idle);
            if (due != TimeSpan.Zero)
            {
                if (due is not null) _timer!.Change(due.Value, Timeout.InfiniteTimeSpan);
                return null;
            }
            loaded = _loaded!;
            _loaded = null;
        }
        try { loaded.Engine.Dispose(); }
        catch (Exception e) { Console.Error.WriteLine($"relcraft agent: disposing scripting: {e.GetType().Name}: {e.Message}"); }
        loaded.Context.Unload();
        return new WeakReference(loaded.Context);
    }

    /// <summary>Collects until the context is gone (bounded), then once more compacting everything, and hands freed native memory back.</summary>
    private static int Collect(WeakReference context)
    {
        var collections = 0;
        while (context.IsAlive && collections < MaxCollections)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            collections++;
        }
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
        return collections;
    }

    private static Loaded Load()
    {
        var dir = Path.GetDirectoryName(typeof(ScriptingLifetime).Assembly.Location)!;
        var path = Path.Combine(dir, "Relcraft.Scripting.dll");
        if (!File.Exists(path)) throw new InvalidOperationException($"C# scripting is not part of this release ({path} is missing)");
        var context = new ScriptingLoadContext(dir, collectible: _idle is not null);
        var assembly = context.LoadFromAssemblyPath(path);
        var type = assembly.GetType("Relcraft.Scripting.RoslynEngine", throwOnError: true)!;
        return new Loaded(context, (IScriptEngine)Activator.CreateInstance(type)!);
    }

    private static string Seconds(TimeSpan t) => $"{Math.Round(t.TotalSeconds)}s";

    /// <summary>VmRSS of this process in MiB, from /proc/self/status; null where there is none.</summary>
    internal static long? ResidentMiB()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
                return (kb + 512) / 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    /// <summary>glibc keeps freed heap pages (Roslyn's prefetched reference images, the JIT's arenas) unless asked to give them back.</summary>
    private static class NativeHeap
    {
        [DllImport("libc", EntryPoint = "malloc_trim")]
        private static extern int MallocTrim(nuint pad);

        public static void Trim()
        {
            if (!OperatingSystem.IsLinux()) return;
            try { MallocTrim(0); }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { } // musl, no glibc
        }
    }
}

/// <summary>
/// Roslyn and its dependencies from the tools folder; the agent, the app's assemblies and any
/// framework assembly at least as new as asked for from the default context — so scripts see
/// the live statics, and a newer runtime's System.Collections.Immutable wins over our copy.
/// When collectible, everything loaded here, compiled submissions included, goes when it is unloaded.
/// </summary>
internal sealed class ScriptingLoadContext(string directory, bool collectible) : AssemblyLoadContext("relcraft-scripting", collectible)
{
    private static readonly Dictionary<string, string> Trusted = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);

    protected override Assembly? Load(AssemblyName name)
    {
        if (name.Name is null || name.Name == "Relcraft.Agent") return null;
        if (Trusted.TryGetValue(name.Name, out var trusted) && (name.Version is null || AssemblyName.GetAssemblyName(trusted).Version >= name.Version))
            return null;
        var local = Path.Combine(directory, name.Name + ".dll");
        return File.Exists(local) ? LoadFromAssemblyPath(local) : null;
    }
}
