// These tests check POSIX behaviour (modes, inodes, hard links, /bin/sh), as the release is a POSIX thing first.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
