// Static state of "Ctl.App" that the control-channel tests read from outside the process.
namespace Ctl;

public static class State
{
    public const string MainMarker = "CTL-MAIN-RAN";

    private static long _ticks;

    /// <summary>Incremented by the app every 20 ms while Main runs.</summary>
    public static long Counter => Interlocked.Read(ref _ticks);

    public static void Tick() => Interlocked.Increment(ref _ticks);

    /// <summary>Set by Main.</summary>
    public static bool MainRan { get; set; }

    public static int MainPid { get; set; }

    /// <summary>For the reflection fast path: a public static method with literal arguments.</summary>
    public static string Echo(int number, string text) => $"{text}:{number * 10}";

    /// <summary>For the fast path's member chains: a static root with instance members behind it.</summary>
    public static Shelf Default { get; } = new("main", new() { ["milk"] = "two litres", ["eggs"] = "a dozen" });

    /// <summary>The custom command `hello`.</summary>
    public static string Hello(string who) => $"hello {who} from pid {Environment.ProcessId}, main ran: {MainRan}";

    /// <summary>Whether an assembly of that name is loaded in any load context of this process.</summary>
    public static bool IsLoaded(string name) => AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == name);

    /// <summary>The only use of Ctl.Lib: until this is called, nothing in the app needs that assembly.</summary>
    public static string UseLib() => Ctl.Lib.Greeter.Greet("ctl");
}

public sealed class Shelf(string name, Dictionary<string, string> items)
{
    public string Name { get; } = name;
    public int Count => items.Count;
    public Shelf? Next { get; }
    public readonly int Capacity = 12;
    public string? Lookup(string key) => items.TryGetValue(key, out var v) ? v : null;
    public IEnumerable<string> Keys => items.Keys.Order();
    public IReadOnlyList<string> Shelves => [Name, "spare"];
    public string Fail() => throw new InvalidOperationException("the shelf says no");
}
