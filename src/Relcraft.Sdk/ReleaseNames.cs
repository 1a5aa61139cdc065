using System.Text.RegularExpressions;

namespace Relcraft.Sdk;

/// <summary>The naming rules a release, its version and its environment must follow.</summary>
internal static class ReleaseNames
{
    private static readonly Regex Name = new("^[a-z][a-z0-9_-]*$", RegexOptions.CultureInvariant);
    private static readonly Regex Version = new("^[A-Za-z0-9][A-Za-z0-9._+-]*$", RegexOptions.CultureInvariant);
    private static readonly Regex EnvName = new("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);

    public static bool IsValidName(string name) => Name.IsMatch(name);
    public static bool IsValidVersion(string version) => Version.IsMatch(version);
    public static bool IsValidEnvName(string name) => EnvName.IsMatch(name);

    /// <summary>The implicit release name: the assembly name lower-cased, '.' → '-'.</summary>
    public static string FromAssemblyName(string assemblyName) =>
        assemblyName.ToLowerInvariant().Replace('.', '-').Replace(' ', '-');

    public static readonly string[] KnownSteps = ["assemble", "tar"];
}
