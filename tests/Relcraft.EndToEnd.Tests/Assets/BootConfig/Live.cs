namespace Cfg.Svc;

/// <summary>The running host's configuration, for rpc.</summary>
public static class Live
{
    public const string MainMarker = "CFG-MAIN-RAN";
    public static readonly string[] Keys = ["App:Port", "App:Greeting", "App:FromProvider", "App:ProviderSawGreeting"];
    public static IConfiguration? Configuration { get; set; }
}
