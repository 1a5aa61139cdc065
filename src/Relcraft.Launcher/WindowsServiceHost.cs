using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Relcraft.Launcher;

/// <summary>
/// `Relcraft.Launcher service BAT`: the process the SCM starts for a service made by
/// <see cref="WindowsService"/>. It registers with the SCM (advapi32 directly: no
/// System.ServiceProcess package in every release for Windows' sake), runs `BAT start` as its child,
/// and on stop or preshutdown runs `BAT stop`, reporting STOP_PENDING with a moving checkpoint until
/// the app is gone. The app's own nonzero exit is reported as a service-specific error, so the
/// failure actions (sc.exe failureflag 1) restart it. Not run here (no Windows): compiled and reviewed.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe class WindowsServiceHost
{
    private const int OwnProcess = 0x10;
    private const int Stopped = 1, StartPending = 2, StopPending = 3, Running = 4;
    private const int AcceptStop = 0x1, AcceptPreshutdown = 0x100;
    private const int ControlStop = 1, ControlInterrogate = 4, ControlShutdown = 5, ControlPreshutdown = 0xF;
    private const int ErrorServiceSpecific = 1066, ErrorCallNotImplemented = 120, ErrorProcessAborted = 1067;

    [StructLayout(LayoutKind.Sequential)]
    private struct ServiceTableEntry
    {
        public char* Name;
        public delegate* unmanaged<int, char**, void> Proc;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ServiceStatus
    {
        public int ServiceType, CurrentState, ControlsAccepted, Win32ExitCode, ServiceSpecificExitCode, CheckPoint, WaitHint;
    }

    [DllImport("advapi32", SetLastError = true)]
    private static extern int StartServiceCtrlDispatcherW(ServiceTableEntry* table);

    [DllImport("advapi32", SetLastError = true)]
    private static extern nint RegisterServiceCtrlHandlerExW(char* name, delegate* unmanaged<int, int, nint, nint, int> handler, nint context);

    [DllImport("advapi32", SetLastError = true)]
    private static extern int SetServiceStatus(nint handle, ServiceStatus* status);

    private static string _bat = "";
    private static nint _handle;
    private static int _checkPoint;
    private static int _stopping;
    private static Process? _stopper;

    public static int Run(string bat)
    {
        _bat = bat;
        fixed (char* name = "")
        {
            var table = stackalloc ServiceTableEntry[2];
            table[0] = new ServiceTableEntry { Name = name, Proc = &ServiceMain };
            table[1] = default;
            if (StartServiceCtrlDispatcherW(table) == 0)
                throw new LauncherException($"service: only the Windows service control manager starts this (error {Marshal.GetLastPInvokeError()}); run `{bat} start` instead");
        }
        return ExitCodes.Ok;
    }

    [UnmanagedCallersOnly]
    private static void ServiceMain(int argc, char** argv)
    {
        _handle = RegisterServiceCtrlHandlerExW(argv[0], &Handler, 0);
        Report(StartPending, waitHint: 30_000);
        Process app;
        try { app = Bat("start"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Report(Stopped, exitCode: ErrorProcessAborted);
            return;
        }
        Report(Running);
        app.WaitForExit();
        if (Volatile.Read(ref _stopping) == 1)
        {
            _stopper?.WaitForExit();
            Report(Stopped);
        }
        else if (app.ExitCode == 0) Report(Stopped);
        else Report(Stopped, exitCode: ErrorServiceSpecific, serviceExitCode: app.ExitCode);
    }

    [UnmanagedCallersOnly]
    private static int Handler(int control, int eventType, nint eventData, nint context)
    {
        switch (control)
        {
            case ControlStop or ControlPreshutdown or ControlShutdown:
                if (Interlocked.Exchange(ref _stopping, 1) == 0) new Thread(Stop) { IsBackground = true }.Start();
                return 0;
            case ControlInterrogate: return 0;
            default: return ErrorCallNotImplemented;
        }
    }

    /// <summary>`BAT stop` waits up to RELEASE_STOP_TIMEOUT and then kills: keep the SCM waiting that long.</summary>
    private static void Stop()
    {
        Report(StopPending, waitHint: 5_000);
        try { _stopper = Bat("stop"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { return; }
        while (!_stopper.WaitForExit(2_000)) Report(StopPending, waitHint: 5_000);
    }

    /// <summary>cmd.exe /s /c ""BAT" COMMAND": /s drops the outer quotes, so a path with spaces stays one.</summary>
    private static Process Bat(string command)
    {
        var start = new ProcessStartInfo("cmd.exe") { Arguments = $"/d /s /c \"\"{_bat}\" {command}\"", UseShellExecute = false };
        return Process.Start(start) ?? throw new InvalidOperationException($"cannot start {_bat}");
    }

    private static void Report(int state, int exitCode = 0, int serviceExitCode = 0, int waitHint = 0)
    {
        var status = new ServiceStatus
        {
            ServiceType = OwnProcess,
            CurrentState = state,
            ControlsAccepted = state == Running ? AcceptStop | AcceptPreshutdown : 0,
            Win32ExitCode = exitCode,
            ServiceSpecificExitCode = serviceExitCode,
            CheckPoint = state is StartPending or StopPending ? Interlocked.Increment(ref _checkPoint) : 0,
            WaitHint = waitHint,
        };
        SetServiceStatus(_handle, &status);
    }
}
