using System.Reflection;
using System.Resources;
using Microsoft.Build.Utilities;

namespace Relcraft.Sdk;

/// <summary>Base for every Relcraft task: messages come from Strings.resx with their RELCRAFTnnnn code in front.</summary>
public abstract class RelcraftTask : Microsoft.Build.Utilities.Task
{
    internal static readonly ResourceManager Resources = new("Relcraft.Sdk.Strings", typeof(RelcraftTask).Assembly);

    protected RelcraftTask() : base(Resources) { }

    /// <summary>The file every error is reported against (the project that declared the release).</summary>
    public string? ProjectFile { get; set; }

    protected void Error(string resource, params object[] args) =>
        Log.LogErrorWithCodeFromResources(null, ProjectFile ?? BuildEngine?.ProjectFileOfTaskNode, 0, 0, 0, 0, resource, args);

    internal static string RelcraftVersion
    {
        get
        {
            var info = typeof(RelcraftTask).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = info.IndexOf('+');
            return plus < 0 ? info : info.Substring(0, plus);
        }
    }
}
