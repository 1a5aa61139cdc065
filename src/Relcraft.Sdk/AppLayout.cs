using Microsoft.Build.Framework;

namespace Relcraft.Sdk;

/// <summary>How the app's publish output is read: items whose RelativePath metadata is their place in lib/NAME-VSN/.</summary>
internal static class AppLayout
{
    public static string RelativePath(ITaskItem item)
    {
        var rel = item.GetMetadata("RelativePath");
        return (rel.Length > 0 ? rel : Path.GetFileName(item.ItemSpec)).Replace('\\', '/');
    }

    /// <summary>ENTRY.runtimeconfig.json beside the entry assembly; only executables have one.</summary>
    public static ITaskItem? RuntimeConfig(IEnumerable<ITaskItem> appFiles, string entryAssembly)
    {
        var name = Path.GetFileNameWithoutExtension(entryAssembly) + ".runtimeconfig.json";
        return appFiles.FirstOrDefault(f => string.Equals(RelativePath(f), name, StringComparison.OrdinalIgnoreCase));
    }
}
