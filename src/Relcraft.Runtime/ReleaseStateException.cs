namespace Relcraft.Runtime;

/// <summary>The release state handed over by the previous version could not be imported; the process should exit.</summary>
public class ReleaseStateException : Exception
{
    /// <summary>A release state failure with a default message.</summary>
    public ReleaseStateException() : base("cannot import the release state") { }

    /// <summary>A release state failure described by <paramref name="message"/>.</summary>
    public ReleaseStateException(string message) : base(message) { }

    /// <summary>A release state failure described by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public ReleaseStateException(string message, Exception? innerException) : base(message, innerException) { }
}
