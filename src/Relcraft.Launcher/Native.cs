using System.Runtime.InteropServices;

namespace Relcraft.Launcher;

internal static partial class Native
{
    [DllImport("libc", SetLastError = true)]
    public static extern int setsid();

    [DllImport("libc", SetLastError = true)]
    public static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int kill(int pid, int signal);

    [DllImport("libc", SetLastError = true)]
    public static extern int fcntl(int fd, int cmd, int arg);

    [DllImport("libc", SetLastError = true)]
    public static extern nint write(int fd, byte[] buffer, nint count);

    public const int SIGTERM = 15;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;

    /// <summary>The launcher reads the supervisor's one-line report from this descriptor.</summary>
    public const int ReportFd = 3;

    /// <summary>Keeps the report pipe out of the app: a child holding it would keep the launcher waiting.</summary>
    public static void KeepReportFromChildren() => fcntl(ReportFd, F_SETFD, FD_CLOEXEC);

    /// <summary>Writes the report line and closes the pipe the launcher waits on.</summary>
    public static void Report(string line)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        write(ReportFd, bytes, bytes.Length);
        close(ReportFd);
    }
}
