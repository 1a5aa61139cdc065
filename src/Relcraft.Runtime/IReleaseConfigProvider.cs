namespace Relcraft.Runtime;

/// <summary>
/// Computes configuration at every boot of a release, before Main, for what runtime.json cannot
/// express (the config-provider analogue of mix releases). Name the type in the project with
/// <c>&lt;ReleaseConfigProvider Include="My.Namespace.MyProvider" /&gt;</c>; it needs a public
/// parameterless constructor.
/// </summary>
public interface IReleaseConfigProvider
{
    /// <summary>
    /// Reads and changes <paramref name="configuration"/>: keys in .NET configuration form
    /// ("Section:Key"), already holding runtime.json's resolved values. What it holds afterwards is
    /// applied as Section__Key environment variables, except where the real environment has one.
    /// </summary>
    void Load(IDictionary<string, string?> configuration);
}
