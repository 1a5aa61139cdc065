using System.Text;

namespace Relcraft.Launcher;

/// <summary>bin/NAME with no command, help, or an unknown one: the commands, custom ones included.</summary>
internal static class Usage
{
    public static string Text(Release release)
    {
        var text = new StringBuilder();
        text.Append($"""
            Usage: {release.Prog} COMMAND [ARGS]

              start [ARGS]     start in the foreground (the launcher's pid becomes the app's)
              console [ARGS]   start in the foreground with a C# shell attached to the same process
              daemon [ARGS]    start in the background under a supervisor (sockets, heart); logs in {release.Tmp}{Path.DirectorySeparatorChar}log
              supervise [ARGS] the supervisor in the foreground (what a systemd unit runs)
              stop             stop gracefully and wait until the system is gone
              restart [ARGS]   a new process on the held sockets, then the old one drains (checked before anything stops)
              upgrade TARBALL|VSN
                               install another version beside this one and switch the running system to it
                               (state carried); releases/start.data records it once it is ready
              downgrade VSN    switch the running system back to an installed version
              versions         the installed versions, marked current (start.data) and running
              pid              print the pid of the running system
              status           pids, uptime, restarts, sockets; exit 0 if running, 3 if not
              ping             print "pong" if the running system answers on its control channel
              rpc EXPR         evaluate C# inside the running system and print the value
              remote           interactive C# shell inside the running system
              eval EXPR [ARGS] evaluate C# in a fresh process with the app loaded but not started
              version          print "{release.Name} VERSION"
              verify           check every file against releases/VSN/release.json
              install [--user USER] [--unit-dir DIR] [--print]
                               systemd units (Linux) or a Windows service that run this release
              uninstall [--unit-dir DIR] [--print]
                               remove what install wrote

            """);
        foreach (var command in CustomCommands(release)) text.Append($"  {command,-16} (custom command)\n");
        return text.ToString();
    }

    /// <summary>The ReleaseCommand items of this version (releases/VSN/commands/NAME.eval|.rpc|.sh), by name.</summary>
    public static IReadOnlyList<string> CustomCommands(Release release)
    {
        var dir = Path.Combine(release.VsnDir, "commands");
        if (!Directory.Exists(dir)) return [];
        var names = Directory.GetFiles(dir).Select(Path.GetFileNameWithoutExtension).OfType<string>().Distinct().ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }

    public static void Print(Release release) => Console.Error.Write(Text(release));
}
