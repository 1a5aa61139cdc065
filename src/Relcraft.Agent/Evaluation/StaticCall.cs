using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Relcraft.Agent.Control;

namespace Relcraft.Agent;

/// <summary>
/// The fast path: `Namespace.Type.Method(literal, args[0], …)` — a public static method called
/// with literal arguments — is invoked by reflection, so eval and rpc of such a call never load
/// the compiler. Anything it is unsure about returns null and goes to Roslyn instead.
/// </summary>
internal sealed class StaticCall
{
    private static readonly Regex Shape = new(@"^\s*(?<type>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\.(?<method>[A-Za-z_]\w*)\s*\((?<args>.*)\)\s*;?\s*$", RegexOptions.CultureInvariant | RegexOptions.Singleline);
    private static readonly Regex Argument = new(@"\G\s*(?:(?<str>""(?:[^""\\]|\\.)*"")|(?<arg>args\s*\[\s*(?<index>\d+)\s*\])|(?<num>-?\d+(?:\.\d+)?)|(?<word>true|false|null))\s*(?:,|$)", RegexOptions.CultureInvariant);

    private readonly string _type;
    private readonly string _method;
    private readonly object?[] _arguments;

    private StaticCall(string type, string method, object?[] arguments) { _type = type; _method = method; _arguments = arguments; }

    public static bool TryParse(string code, string[] args, out StaticCall? call)
    {
        call = null;
        var m = Shape.Match(code);
        if (!m.Success) return false;
        var text = m.Groups["args"].Value;
        var values = new List<object?>();
        var position = 0;
        while (position < text.Length && text.Substring(position).Trim().Length > 0)
        {
            var a = Argument.Match(text, position);
            if (!a.Success) return false;
            if (a.Groups["str"].Success) values.Add(Regex.Unescape(a.Groups["str"].Value[1..^1]));
            else if (a.Groups["arg"].Success)
            {
                var index = int.Parse(a.Groups["index"].Value, CultureInfo.InvariantCulture);
                if (index >= args.Length) return false;
                values.Add(args[index]);
            }
            else if (a.Groups["num"].Success) values.Add(new NumberLiteral(a.Groups["num"].Value));
            else values.Add(a.Groups["word"].Value switch { "true" => true, "false" => false, _ => null });
            position = a.Index + a.Length;
        }
        call = new StaticCall(m.Groups["type"].Value, m.Groups["method"].Value, values.ToArray());
        return true;
    }

    /// <summary>The outcome, or null when the call cannot be resolved here (Roslyn decides then).</summary>
    public async Task<EvalOutcome?> InvokeAsync(bool verbose)
    {
        var type = FindType(_type);
        if (type is null) return null;
        var candidates = type.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name == _method && !m.IsGenericMethodDefinition && m.GetParameters().Length == _arguments.Length)
            .Select(m => (Method: m, Args: Convert(m.GetParameters())))
            .Where(c => c.Args is not null)
            .ToList();
        if (candidates.Count != 1) return null;
        var (method, arguments) = candidates[0];
        try
        {
            var result = method.Invoke(null, arguments);
            if (result is Task task)
            {
                await task.ConfigureAwait(false);
                result = task.GetType().IsGenericType ? task.GetType().GetProperty("Result")!.GetValue(task) : null;
                if (result?.GetType().FullName == "System.Threading.Tasks.VoidTaskResult") result = null;
            }
            return new EvalOutcome(Protocol.Status.Ok, method.ReturnType == typeof(void) ? null : Evaluator.Format(result));
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            return new EvalOutcome(Protocol.Status.Exception, Evaluator.Describe(e.InnerException, verbose));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new EvalOutcome(Protocol.Status.Exception, Evaluator.Describe(e, verbose));
        }
    }

    private object?[]? Convert(ParameterInfo[] parameters)
    {
        var result = new object?[_arguments.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            var target = parameters[i].ParameterType;
            var value = _arguments[i];
            if (value is NumberLiteral n)
            {
                if (!n.TryConvert(target, out var converted)) return null;
                result[i] = converted;
            }
            else if (value is null) { if (target.IsValueType && Nullable.GetUnderlyingType(target) is null) return null; }
            else if (target.IsInstanceOfType(value)) result[i] = value;
            else return null;
        }
        return result;
    }

    /// <summary>
    /// Loaded assemblies first, with "System." tried too (scripts have `using System`), so
    /// `Math.Max(1, 2)` never loads the app; then the app's own assemblies, loading them as needed.
    /// </summary>
    private static Type? FindType(string name)
    {
        foreach (var candidate in new[] { name, "System." + name })
            foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
                if (assembly.GetType(candidate) is { } t) return t;
        if (!name.Contains('.')) return null;
        foreach (var path in Preload.AppAssemblyPaths())
        {
            try
            {
                if (Assembly.Load(new AssemblyName(Path.GetFileNameWithoutExtension(path))).GetType(name) is { } t) return t;
            }
            catch (Exception e) when (e is FileLoadException or BadImageFormatException or FileNotFoundException) { }
        }
        return null;
    }

    private sealed record NumberLiteral(string Text)
    {
        public bool TryConvert(Type target, out object? value)
        {
            value = null;
            target = Nullable.GetUnderlyingType(target) ?? target;
            if (target == typeof(object)) target = Text.Contains('.') ? typeof(double) : typeof(int);
            if (!target.IsPrimitive && target != typeof(decimal)) return false;
            try { value = System.Convert.ChangeType(Text, target, CultureInfo.InvariantCulture); return true; }
            catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException) { return false; }
        }
    }
}
