using System.Runtime.CompilerServices;
using Microsoft.Build.Locator;

namespace Relcraft.Sdk.Tests.Infrastructure;

/// <summary>
/// Every test here touches Microsoft.Build types (task items, the fake engine, evaluation), and
/// none of them ship in the output folder: they must come from the installed .NET SDK, as they do
/// when the tasks run for users. Registering in the module initializer guarantees it happens
/// before the first Microsoft.Build type is loaded. This class itself names no MSBuild type.
/// </summary>
internal static class MSBuildRegistration
{
#pragma warning disable CA2255 // a test assembly is exactly the place for a module initializer
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        if (!MSBuildLocator.IsRegistered) MSBuildLocator.RegisterDefaults();
    }
}
