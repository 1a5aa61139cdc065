using System.Runtime.InteropServices;

namespace Relcraft.Launcher;

/// <summary>The few libc calls the launcher needs (Unix only; callers guard Windows).</summary>
internal static unsafe class Native
{
    [DllImport("libc", SetLastError = true)]
    public static extern int setsid();

    [DllImport("libc", SetLastError = true)]
    public static extern int kill(int pid, int signal);

    [DllImport("libc")]
    public static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int dup2(int oldfd, int newfd);

    [DllImport("libc", SetLastError = true)]
    private static extern int open(byte* path, int flags, int mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern nint write(int fd, byte* buffer, nint count);

    [DllImport("libc", SetLastError = true)]
    private static extern int execve(byte* path, byte** argv, byte** envp);

    [DllImport("libc")]
    private static extern nint signal(int signum, nint handler);

    [DllImport("libc")]
    private static extern nint getpwnam(byte* name);

    [DllImport("libc")]
    private static extern nint getgrnam(byte* name);

    /// <summary>True when the user database (NSS: /etc/passwd, LDAP …) knows the name.</summary>
    public static bool UserExists(string name) => Lookup(name, static p => getpwnam((byte*)p));

    public static bool GroupExists(string name) => Lookup(name, static p => getgrnam((byte*)p));

    private static bool Lookup(string name, Func<nint, nint> lookup)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = bytes) return lookup((nint)p) != 0;
    }

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    private const int SIGPIPE = 13;
    private const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_APPEND = 0x400;

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);

    private const int F_DUPFD = 0, F_SETFD = 2, FD_CLOEXEC = 1;

    public static void SetCloseOnExec(int fd, bool on) => fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);

    /// <summary>A duplicate of <paramref name="fd"/> numbered at least <paramref name="lowest"/> (inherited across exec).</summary>
    public static int DupAbove(int fd, int lowest)
    {
        var copy = fcntl(fd, F_DUPFD, lowest);
        if (copy < 0) throw new LauncherException($"cannot duplicate descriptor {fd}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return copy;
    }

    public static void Dup2(int from, int to)
    {
        if (dup2(from, to) < 0) throw new LauncherException($"cannot move descriptor {from} to {to}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    public static void Close(int fd) => close(fd);

    /// <summary>Marks every descriptor above stderr close-on-exec, so a child started next inherits only stdio.</summary>
    public static void KeepDescriptorsFromChildren()
    {
        string[] fds;
        try { fds = Directory.GetFileSystemEntries("/proc/self/fd"); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        foreach (var entry in fds)
            if (int.TryParse(Path.GetFileName(entry), out var fd) && fd > 2) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }

    /// <summary>execve(2); returns errno only if it failed.</summary>
    public static int Execve(string file, IEnumerable<string> argv, IEnumerable<string> envp)
    {
        // The runtime ignores SIGPIPE; an ignored signal stays ignored across exec, so give it back.
        signal(SIGPIPE, 0);
        var strings = new List<nint>();
        try
        {
            nint Utf8(string s) { var p = Marshal.StringToCoTaskMemUTF8(s); strings.Add(p); return p; }
            var args = argv.Select(Utf8).Append(0).ToArray();
            var env = envp.Select(Utf8).Append(0).ToArray();
            fixed (nint* a = args)
            fixed (nint* e = env)
                execve((byte*)Utf8(file), (byte**)a, (byte**)e);
            return Marshal.GetLastPInvokeError();
        }
        finally
        {
            foreach (var p in strings) Marshal.FreeCoTaskMem(p);
        }
    }

    /// <summary>Points <paramref name="fd"/> at <paramref name="path"/> (/dev/null, or a log opened for append).</summary>
    public static void Redirect(int fd, string path, bool append)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        int opened;
        fixed (byte* p = bytes) opened = open(p, append ? O_WRONLY | O_CREAT | O_APPEND : (fd == 0 ? O_RDONLY : O_WRONLY), 0x1A4);
        if (opened < 0) return;
        dup2(opened, fd);
        if (opened != fd) close(opened);
    }

    /// <summary>Writes a line to a raw descriptor (Console would buffer or dup it).</summary>
    public static void WriteLine(int fd, string line)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        fixed (byte* p = bytes) write(fd, p, bytes.Length);
    }
}
