using System.Xml;
using NuGet.Frameworks;
using NuGet.Packaging;
using NuGet.Packaging.Core;

namespace Relcraft.Sdk;

/// <summary>
/// A runtime pack the .NET SDK restored for the release's RID (Microsoft.NETCore.App.Runtime.RID,
/// Microsoft.AspNetCore.App.Runtime.RID): an extracted NuGet package in the packages folder, read
/// as one with NuGet.Packaging — identity from its nuspec, files from the reader's listing, the
/// managed assemblies from the runtimes/RID/lib/TFM folder nearest the app's framework. The folder,
/// not the .nupkg beside it: the SDK restored and extracted it already.
/// </summary>
internal sealed class RuntimePack
{
    public PackageIdentity Identity { get; }
    /// <summary>The folder name the runtime expects under shared/FRAMEWORK/ and host/fxr/.</summary>
    public string Version => Identity.Version.ToNormalizedString();
    /// <summary>runtimes/RID/native/**, full paths, in ordinal order of their place in the package.</summary>
    public IReadOnlyList<string> NativeFiles { get; }
    /// <summary>runtimes/RID/lib/TFM/** for the chosen TFM, full paths, in ordinal order.</summary>
    public IReadOnlyList<string> ManagedFiles { get; }

    private RuntimePack(PackageIdentity identity, IReadOnlyList<string> native, IReadOnlyList<string> managed)
    {
        Identity = identity;
        NativeFiles = native;
        ManagedFiles = managed;
    }

    /// <summary>
    /// Reads the pack in <paramref name="packageDirectory"/> for <paramref name="rid"/>, checking it is
    /// <paramref name="expected"/> when the SDK said which package it is. Null with
    /// <paramref name="problem"/> (a sentence for RELCRAFT1012) when the folder is not that package or
    /// carries nothing the app can run on.
    /// </summary>
    public static RuntimePack? Read(string packageDirectory, string rid, NuGetFramework appFramework, PackageIdentity? expected, out string problem)
    {
        problem = "";
        // The reader relates files to its root by comparing full paths: no trailing separator.
        packageDirectory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(packageDirectory));
        using var reader = new PackageFolderReader(packageDirectory);
        PackageIdentity identity;
        try
        {
            identity = reader.GetIdentity();
        }
        catch (Exception e) when (e is PackagingException or XmlException or InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            problem = $"{packageDirectory} is not an extracted NuGet package ({e.Message}).";
            return null;
        }
        if (expected is not null && !Matches(identity, expected))
        {
            problem = $"{packageDirectory} holds {identity.Id} {identity.Version}, not {expected.Id} {expected.Version}.";
            return null;
        }

        var ridFolder = $"{PackagingConstants.Folders.Runtimes}/{rid}";
        var files = reader.GetFiles(ridFolder).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            problem = $"{packageDirectory} has no {ridFolder}.";
            return null;
        }

        var native = files.Where(f => f.StartsWith($"{ridFolder}/native/", StringComparison.Ordinal)).ToList();
        var libPrefix = $"{ridFolder}/{PackagingConstants.Folders.Lib}/";
        var libGroups = files.Where(f => f.StartsWith(libPrefix, StringComparison.Ordinal) && f.IndexOf('/', libPrefix.Length) > 0)
            .GroupBy(f => Framework(f.Substring(libPrefix.Length, f.IndexOf('/', libPrefix.Length) - libPrefix.Length)))
            .Where(g => g.Key.IsSpecificFramework)
            .ToDictionary(g => g.Key, g => g.ToList());
        var nearest = new FrameworkReducer().GetNearest(appFramework, libGroups.Keys);
        if (nearest is null)
        {
            var offered = libGroups.Count == 0 ? "none" : string.Join(", ", libGroups.Keys.Select(f => f.GetShortFolderName()).Order(StringComparer.Ordinal));
            problem = $"{identity.Id} {identity.Version} has no {libPrefix}TFM for the app's {appFramework.GetShortFolderName()} (it has: {offered}).";
            return null;
        }

        return new RuntimePack(identity, native.Select(FullPath).ToList(), libGroups[nearest].Select(FullPath).ToList());

        string FullPath(string packagePath) => Path.Combine(packageDirectory, packagePath.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>A lib/ subfolder's framework; a name that is none is no framework (and never chosen).</summary>
    private static NuGetFramework Framework(string folder)
    {
        try { return NuGetFramework.ParseFolder(folder); }
        catch (ArgumentException) { return NuGetFramework.UnsupportedFramework; }
    }

    private static bool Matches(PackageIdentity actual, PackageIdentity expected) =>
        string.Equals(actual.Id, expected.Id, StringComparison.OrdinalIgnoreCase) && (!expected.HasVersion || actual.Version == expected.Version);
}
