using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Relcraft.Agent.Control;

namespace Relcraft.Agent;

/// <summary>
/// The fast path: a chain of member accesses and calls with literal arguments on a static root —
/// `Ns.Type.Method(1, "x", args[0])`, `Kv.Registry.Default.Count`, `App.Cache.Get("k").Length` — is
/// bound and run by reflection, so eval and rpc of such an expression never load the compiler.
/// Binding follows C#: the shortest dotted prefix that names a type is the root, each member is
/// looked up on the declared (static) type of the step before, public members only, and the whole
/// chain is bound before anything runs — so nothing runs twice when the fast path gives up and
/// Roslyn takes over. Anything it is unsure about (overloads, generics, extension methods,
/// indexers, nested types, non-literal arguments) returns null and goes to Roslyn, which then
/// gives the same value or the compile error.
/// </summary>
internal sealed class StaticCall
{
    private static readonly Regex Identifier = new(@"\G\s*(?<name>[A-Za-z_]\w*)\s*", RegexOptions.CultureInvariant);
    private static readonly Regex Argument = new(@"\G\s*(?:(?<str>""(?:[^""\\]|\\.)*"")|(?<arg>args\s*\[\s*(?<index>\d+)\s*\])|(?<num>-?\d+(?:\.\d+)?)|(?<word>true|false|null))\s*(?:,|$)", RegexOptions.CultureInvariant);

    /// <summary>One `.Name` or `.Name(args)` of the chain; <see cref="Arguments"/> is null for a member access.</summary>
    private sealed record Segment(string Name, object?[]? Arguments);

    private readonly List<Segment> _segments;

    private StaticCall(List<Segment> segments) => _segments = segments;

    public static bool TryParse(string code, string[] args, out StaticCall? call)
    {
        call = null;
        var segments = new List<Segment>();
        var position = 0;
        while (true)
        {
            var id = Identifier.Match(code, position);
            if (!id.Success) return false;
            position = id.Index + id.Length;
            object?[]? arguments = null;
            if (position < code.Length && code[position] == '(')
            {
                var close = ClosingParenthesis(code, position);
                if (close < 0 || !TryParseArguments(code[(position + 1)..close], args, out arguments)) return false;
                position = close + 1;
                while (position < code.Length && char.IsWhiteSpace(code[position])) position++;
            }
            segments.Add(new Segment(id.Groups["name"].Value, arguments));
            if (position < code.Length && code[position] == '.') { position++; continue; }
            break;
        }
        var rest = code[position..].Trim();
        if (rest.Length > 0 && rest != ";") return false;
        // A root and at least one member; the root's own segments are plain names.
        if (segments.Count < 2 || segments[0].Arguments is not null) return false;
        call = new StaticCall(segments);
        return true;
    }

    /// <summary>The index of the ')' closing the '(' at <paramref name="open"/>; -1 if there is none or the arguments nest parentheses.</summary>
    private static int ClosingParenthesis(string code, int open)
    {
        for (var i = open + 1; i < code.Length; i++)
        {
            switch (code[i])
            {
                case '"':
                    for (i++; i < code.Length && code[i] != '"'; i++) if (code[i] == '\\') i++;
                    if (i >= code.Length) return -1;
                    break;
                case '(': return -1;
                case ')': return i;
            }
        }
        return -1;
    }

    private static bool TryParseArguments(string text, string[] args, out object?[]? arguments)
    {
        arguments = null;
        var values = new List<object?>();
        var position = 0;
        while (position < text.Length && text[position..].Trim().Length > 0)
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
        arguments = values.ToArray();
        return true;
    }

    /// <summary>A bound step: read a property or field, or call a method with converted arguments.</summary>
    private sealed record Step(MemberInfo Member, object?[]? Arguments);

    /// <summary>The outcome, or null when the chain cannot be bound here (Roslyn decides then).</summary>
    public async Task<EvalOutcome?> InvokeAsync(bool verbose)
    {
        var steps = Bind();
        if (steps is null) return null;
        try
        {
            object? value = null; // the target: none for the first (static) step
            for (var i = 0; i < steps.Count; i++)
            {
                var (member, arguments) = steps[i];
                if (i > 0 && value is null) throw new NullReferenceException();
                value = member switch
                {
                    PropertyInfo p => p.GetValue(value),
                    FieldInfo f => f.GetValue(value),
                    MethodInfo m => m.Invoke(value, arguments),
                    _ => throw new InvalidOperationException(member.GetType().Name),
                };
            }
            var last = steps[^1].Member;
            // As before chains: a final call that returns a task is awaited, and its result printed.
            if (last is MethodInfo && value is Task task)
            {
                await task.ConfigureAwait(false);
                value = task.GetType().IsGenericType ? task.GetType().GetProperty("Result")!.GetValue(task) : null;
                if (value?.GetType().FullName == "System.Threading.Tasks.VoidTaskResult") value = null;
            }
            return new EvalOutcome(Protocol.Status.Ok, last is MethodInfo { ReturnType: var r } && r == typeof(void) ? null : Evaluator.Format(value));
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

    /// <summary>Every step bound by declared types, before anything runs; null if any step is uncertain.</summary>
    private List<Step>? Bind()
    {
        for (var rootLength = 1; rootLength < _segments.Count && _segments[rootLength - 1].Arguments is null; rootLength++)
        {
            var type = FindType(string.Join('.', _segments.Take(rootLength).Select(s => s.Name)));
            if (type is null) continue;
            var steps = new List<Step>();
            for (var i = rootLength; i < _segments.Count; i++)
            {
                if (type is null || type == typeof(void)) return null;
                var step = BindMember(type, _segments[i], isStatic: i == rootLength);
                if (step is null) return null;
                steps.Add(step);
                type = step.Member switch { PropertyInfo p => p.PropertyType, FieldInfo f => f.FieldType, MethodInfo m => m.ReturnType, _ => null };
                if (type is null || type.IsByRef || type.IsPointer || type.ContainsGenericParameters) return null;
            }
            return steps;
        }
        return null;
    }

    private static Step? BindMember(Type type, Segment segment, bool isStatic)
    {
        var step = BindDeclaredMember(type, segment, isStatic);
        // An interface does not list what it inherits (IReadOnlyList<T>.Count is IReadOnlyCollection<T>'s):
        // look in the interfaces it extends; C# binds there when exactly one of them has the member.
        if (step is null && type.IsInterface && !isStatic)
        {
            var inherited = type.GetInterfaces().Select(i => BindDeclaredMember(i, segment, isStatic)).Where(s => s is not null).ToList();
            if (inherited.Count == 1) step = inherited[0];
        }
        return step;
    }

    private static Step? BindDeclaredMember(Type type, Segment segment, bool isStatic)
    {
        var flags = BindingFlags.Public | (isStatic ? BindingFlags.Static : BindingFlags.Instance);
        if (segment.Arguments is { } arguments)
        {
            var candidates = type.GetMethods(flags)
                .Where(m => m.Name == segment.Name && !m.IsGenericMethodDefinition && m.GetParameters().Length == arguments.Length)
                .Select(m => (Method: m, Args: Convert(arguments, m.GetParameters())))
                .Where(c => c.Args is not null)
                .ToList();
            return candidates.Count == 1 ? new Step(candidates[0].Method, candidates[0].Args) : null;
        }
        // A name that is also a method, an event or a nested type is for Roslyn to bind.
        var members = type.GetMember(segment.Name, MemberTypes.Property | MemberTypes.Field | MemberTypes.Method | MemberTypes.Event | MemberTypes.NestedType, flags);
        if (members.Length != 1) return null;
        return members[0] switch
        {
            PropertyInfo p when p.GetIndexParameters().Length == 0 && p.GetGetMethod() is not null => new Step(p, null),
            FieldInfo f => new Step(f, null),
            _ => null,
        };
    }

    private static object?[]? Convert(object?[] values, ParameterInfo[] parameters)
    {
        var result = new object?[values.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            var target = parameters[i].ParameterType;
            var value = values[i];
            if (target.IsByRef || target.IsPointer) return null;
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
                if (assembly.GetType(candidate) is { IsPublic: true } t) return t;
        if (!name.Contains('.')) return null;
        foreach (var path in Preload.AppAssemblyPaths())
        {
            try
            {
                if (Assembly.Load(new AssemblyName(Path.GetFileNameWithoutExtension(path))).GetType(name) is { IsPublic: true } t) return t;
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
