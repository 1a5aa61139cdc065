namespace Cfg.Svc;

/// <summary>A ReleaseConfigProvider: runs at every boot, before Main, with runtime.json's values already resolved.</summary>
public sealed class Provider : Relcraft.Runtime.IReleaseConfigProvider
{
    public void Load(IDictionary<string, string?> configuration)
    {
        configuration["App:FromProvider"] = "yes";
        configuration["App:ProviderSawGreeting"] = configuration.TryGetValue("App:Greeting", out var greeting) ? greeting ?? "(null)" : "(missing)";
    }
}
