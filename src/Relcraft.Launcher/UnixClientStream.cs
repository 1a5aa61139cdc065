using System.Runtime.InteropServices;

namespace Relcraft.Launcher;

/// <summary>
/// A connected AF_UNIX stream socket over plain libc calls, for the launcher's one-shot clients on Linux.
/// System.Net.Sockets starts its epoll thread on the first connect; for a ping that thread, its
/// setup and the thread pool behind the async forms were a sixth of the command. Linux only: sockaddr_un
/// is laid out differently elsewhere, and Windows keeps System.Net.Sockets.
/// </summary>
internal sealed unsafe class UnixClientStream : Stream
{
    private int _fd;

    private UnixClientStream(int fd) => _fd = fd;

    public enum Failure { None, NotListening, AccessDenied, Other }

    /// <summary>Connects to <paramref name="path"/>; null with the reason when nothing could be reached.</summary>
    public static UnixClientStream? Connect(string path, out Failure failure, out int errno)
    {
        failure = Failure.None;
        errno = 0;
        var fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) { errno = Marshal.GetLastPInvokeError(); failure = Failure.Other; return null; }
        IDisposable? directory = null;
        try
        {
            // Deep paths go through /proc/self/fd/N/NAME, as the server binds them.
            var target = Relcraft.SocketActivation.UnixSocketPath.Usable(path, out directory);
            var bytes = System.Text.Encoding.UTF8.GetBytes(target);
            if (bytes.Length >= SunPathLength) { failure = Failure.Other; errno = 36; close(fd); return null; } // ENAMETOOLONG
            var address = stackalloc byte[2 + SunPathLength];
            new Span<byte>(address, 2 + SunPathLength).Clear();
            *(ushort*)address = AF_UNIX;
            bytes.CopyTo(new Span<byte>(address + 2, SunPathLength));
            int result;
            do result = connect(fd, address, 2 + bytes.Length + 1);
            while (result < 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (result == 0) return new UnixClientStream(fd);
            errno = Marshal.GetLastPInvokeError();
            failure = errno switch
            {
                ENOENT or ECONNREFUSED or ENOTDIR => Failure.NotListening,
                EACCES or EPERM => Failure.AccessDenied,
                _ => Failure.Other,
            };
            close(fd);
            return null;
        }
        catch (IOException)
        {
            // The socket's directory cannot be opened: nothing listens there.
            close(fd);
            failure = Failure.NotListening;
            return null;
        }
        finally { directory?.Dispose(); }
    }

    /// <summary>Waits until there is something to read (or the peer closed); false after <paramref name="timeout"/>.</summary>
    public bool WaitReadable(TimeSpan timeout)
    {
        var ms = timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        var deadline = Environment.TickCount64 + ms;
        while (true)
        {
            var entry = new PollFd { Fd = _fd, Events = POLLIN };
            var n = poll(&entry, 1, ms);
            if (n > 0) return true;
            if (n == 0) return false;
            if (Marshal.GetLastPInvokeError() != EINTR) throw new IOException($"poll failed (errno {Marshal.GetLastPInvokeError()})");
            if (ms >= 0) ms = (int)Math.Max(0, deadline - Environment.TickCount64);
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = read(_fd, p, buffer.Length);
                if (n >= 0) return (int)n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno == ECONNRESET) return 0;
                throw new IOException($"read from the control socket failed (errno {errno})");
            }
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var n = write(_fd, p + done, buffer.Length - done);
                if (n >= 0) { done += (int)n; continue; }
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                throw new IOException($"write to the control socket failed (errno {errno})");
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void Flush() { }
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _fd, -1) is var fd and >= 0) close(fd);
        base.Dispose(disposing);
    }

    private const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, SunPathLength = 108;
    private const short POLLIN = 1;
    private const int EPERM = 1, ENOENT = 2, EINTR = 4, EACCES = 13, ENOTDIR = 20, ECONNRESET = 104, ECONNREFUSED = 111;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd { public int Fd; public short Events; public short Revents; }

    [DllImport("libc", SetLastError = true)] private static extern int socket(int domain, int type, int protocol);
    [DllImport("libc", SetLastError = true)] private static extern int connect(int fd, byte* address, int length);
    [DllImport("libc", SetLastError = true)] private static extern int poll(PollFd* fds, nuint count, int timeout);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, byte* buffer, nint count);
    [DllImport("libc", SetLastError = true)] private static extern nint write(int fd, byte* buffer, nint count);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
}
