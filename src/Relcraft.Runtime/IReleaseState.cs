namespace Relcraft.Runtime;

/// <summary>
/// State an app hands from one running version to the next across <c>upgrade</c> and <c>downgrade</c>
/// (Erlang's <c>-vsn</c> and <c>code_change</c>): the old process exports it as it stops, the new one imports it
/// before it serves. Register one with <see cref="ReleaseState.Register"/>, or, in a Generic Host app, as an
/// <see cref="IReleaseState"/> service (the Relcraft agent registers it when the host is built).
/// </summary>
public interface IReleaseState
{
    /// <summary>The shape of the state this code reads and writes; raise it whenever the shape changes.</summary>
    int Version { get; }

    /// <summary>
    /// Writes the state to <paramref name="destination"/> (do not dispose it) for a process whose <see cref="Version"/>
    /// is <paramref name="targetVersion"/>: on a downgrade newer code converts its state down to that shape.
    /// </summary>
    /// <returns>The version the state was written as.</returns>
    int Export(Stream destination, int targetVersion);

    /// <summary>
    /// Reads the state from <paramref name="source"/>, as written by code whose state version was
    /// <paramref name="version"/>; migrates it when that differs from <see cref="Version"/>. Throwing makes this
    /// version fail to start, and the supervisor brings the old one back.
    /// </summary>
    void Import(Stream source, int version);
}
