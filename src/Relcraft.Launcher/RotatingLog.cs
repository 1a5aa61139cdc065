namespace Relcraft.Launcher;

/// <summary>
/// The daemon's log: NAME.log, rolled to NAME.log.1 … NAME.log.(files-1) when it reaches
/// maxBytes. Writes are whole chunks as the app produced them, never split by rotation.
/// </summary>
internal sealed class RotatingLog : IDisposable
{
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _files;
    private readonly object _gate = new();
    private Stream _stream;

    public RotatingLog(string path, long maxBytes, int files)
    {
        _path = path;
        _maxBytes = Math.Max(1024, maxBytes);
        _files = Math.Max(1, files);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _stream = Open();
    }

    /// <summary>Output that is someone else's to keep (the journal, under systemd): written through, never rotated.</summary>
    private RotatingLog(Stream stream)
    {
        _path = "";
        _maxBytes = long.MaxValue;
        _files = 1;
        _stream = stream;
    }

    public static RotatingLog Passthrough(Stream stream) => new(stream);

    private FileStream Open() => new(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);

    public void Write(ReadOnlySpan<byte> chunk)
    {
        lock (_gate)
        {
            if (_maxBytes != long.MaxValue && _stream.Length > 0 && _stream.Length + chunk.Length > _maxBytes) Rotate();
            _stream.Write(chunk);
            _stream.Flush();
        }
    }

    public void Line(string text)
    {
        Write(System.Text.Encoding.UTF8.GetBytes($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} [relcraft] {text}\n"));
    }

    private void Rotate()
    {
        _stream.Dispose();
        if (_files == 1)
        {
            File.Delete(_path);
        }
        else
        {
            File.Delete($"{_path}.{_files - 1}");
            for (var i = _files - 2; i >= 1; i--)
                if (File.Exists($"{_path}.{i}")) File.Move($"{_path}.{i}", $"{_path}.{i + 1}");
            File.Move(_path, $"{_path}.1");
        }
        _stream = Open();
    }

    public void Dispose()
    {
        lock (_gate) _stream.Dispose();
    }
}
