using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Relcraft.SocketActivation;

/// <summary>
/// Unix socket paths longer than sockaddr_un holds. Compiled into Relcraft.Runtime (ReleaseState reaching the
/// supervisor), the agent and the launcher (the control and supervisor sockets) from this one file.
/// </summary>
internal static class UnixSocketPath
{
    /// <summary>
    /// The endpoint for a socket path. sockaddr_un holds only ~107 bytes, and releases live in deep
    /// folders: a longer path goes through /proc/self/fd/N/NAME, N being a descriptor of its
    /// directory, kept open in <paramref name="directoryHandle"/> for as long as the path is used.
    /// </summary>
    public static UnixDomainSocketEndPoint EndPoint(string path, out IDisposable? directoryHandle) =>
        new(Usable(path, out directoryHandle));

    /// <summary>The path to put in sockaddr_un for <paramref name="path"/> (see <see cref="EndPoint"/>).</summary>
    public static string Usable(string path, out IDisposable? directoryHandle)
    {
        directoryHandle = null;
        if (System.Text.Encoding.UTF8.GetByteCount(path) < 100 || !OperatingSystem.IsLinux()) return path;
        var fd = open(Path.GetDirectoryName(path)!, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open {Path.GetDirectoryName(path)} (errno {Marshal.GetLastPInvokeError()})");
        directoryHandle = new Descriptor(fd);
        return $"/proc/self/fd/{fd}/{Path.GetFileName(path)}";
    }

    private const int O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    private sealed class Descriptor(int fd) : IDisposable
    {
        private int _fd = fd;
        public void Dispose() { if (Interlocked.Exchange(ref _fd, -1) is var f and >= 0) close(f); }
    }
}
