// The runtime looks for exactly this: a type named StartupHook in no namespace with a static Initialize().
internal static class StartupHook
{
    public static void Initialize() => Relcraft.Agent.Boot.Initialize();
}
