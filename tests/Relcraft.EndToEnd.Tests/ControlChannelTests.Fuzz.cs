using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Relcraft.EndToEnd.Tests.Harness;

namespace Relcraft.EndToEnd.Tests;

/// <summary>Hostile traffic on the control socket costs the sender its connection and nothing else.</summary>
public sealed partial class ControlChannelTests
{
    private const int FuzzFrames = 10_000;
    private static readonly TimeSpan FuzzDeadline = TimeSpan.FromSeconds(120);

    [Fact]
    public void ControlSocket_SurvivesTenThousandMalformedAndUnauthenticatedFrames()
    {
        var pid = Daemon();
        var socket = ControlWire.SocketPath(Release);
        var cookie = Encoding.UTF8.GetBytes(ControlWire.Cookie(Release));
        var marker = MarkerPath("fuzz");
        var evil = ControlWire.EvalPayload($"System.IO.File.WriteAllText({CSharpString(marker)}, \"x\")");
        var seed = Environment.TickCount;

        // Connections that just sit there (slow peers) while the rest goes on.
        var idle = Enumerable.Range(0, 8).Select(_ => new RawControlConnection(socket)).ToList();
        _cleanup.AddRange(idle);
        idle[0].TrySend([0, 0]); // half a header, never finished

        var sent = 0;
        var connections = 0;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, 4, worker =>
        {
            var random = new Random(seed + worker);
            while (Volatile.Read(ref sent) < FuzzFrames && clock.Elapsed < FuzzDeadline)
            {
                var frames = Enumerable.Range(0, random.Next(1, 40)).Select(_ => Malformed(random, evil, cookie)).ToList();
                using var connection = new RawControlConnection(socket, TimeSpan.FromSeconds(2));
                Interlocked.Increment(ref connections);
                switch (random.Next(4))
                {
                    case 0: break; // send at once, before the Hello is read
                    case 1: connection.TryRead(); break; // read the Hello first
                    case 2: // authenticate properly, then misbehave
                        var answer = connection.Authenticate(cookie);
                        Assert.True(answer is { Type: ControlWire.AuthOk }, "the right cookie was refused");
                        // The first frame after AuthOk ends the connection; the random ones after it are never read,
                        // so none can be taken for a Stop or an evaluation (which an authenticated peer may send).
                        frames.Insert(0, random.Next(4) switch
                        {
                            0 => ControlWire.Frame(ControlWire.Rpc, []), // an evaluation request without even its flags byte
                            1 => ControlWire.Frame(0x55, Encoding.UTF8.GetBytes("no such frame type")),
                            2 => ControlWire.Frame(0, ControlWire.Ping, []),
                            _ => ControlWire.Frame(0xFFFFFFFF, ControlWire.Ping, []),
                        });
                        break;
                    case 3: // a proof made with the wrong key, then evaluation requests
                        var hello = connection.TryRead();
                        if (hello is { Payload.Length: >= 41 } h)
                        {
                            var clientNonce = RandomNumberGenerator.GetBytes(32);
                            var wrongProof = ControlWire.Proof(RandomNumberGenerator.GetBytes(32), "client", h.Payload[9..], clientNonce);
                            frames.Insert(0, ControlWire.Frame(ControlWire.Auth, [.. clientNonce, .. wrongProof]));
                            frames.Insert(1, ControlWire.Frame(ControlWire.Rpc, evil));
                        }
                        break;
                }
                foreach (var frame in frames)
                {
                    Interlocked.Increment(ref sent);
                    if (!connection.TrySend(frame)) break; // the server hung up: as it should, sooner or later
                }
            }
        });
        clock.Stop();

        Assert.True(sent >= FuzzFrames, $"only {sent} frames in {clock.Elapsed} ({connections} connections; seed {seed})");
        Assert.True(connections >= 200, $"{sent} frames went over only {connections} connections (seed {seed})");
        Assert.True(Processes.IsAlive(pid), $"the app died under malformed traffic (seed {seed})\n{Release.Log()}");
        Assert.Equal(pid, Release.Pid());

        // While the idle connections are still open: the channel answers, and evaluates for the cookie's holder.
        using (var raw = new RawControlConnection(socket))
        {
            Assert.True(raw.Authenticate(cookie) is { Type: ControlWire.AuthOk });
            raw.TrySend(ControlWire.Frame(ControlWire.Ping, []));
            Assert.True(raw.TryRead() is { Type: ControlWire.Pong }, "no pong on a fresh authenticated connection");
        }
        Assert.Equal("pong\n", Release.Run("ping").ShouldSucceed().StdOut);
        Assert.Equal($"{pid}", RpcValue("Environment.ProcessId"));
        Thread.Sleep(500);
        Assert.False(File.Exists(marker), $"an unauthenticated Rpc frame was evaluated: {marker} exists (seed {seed})");
        // The wrong proofs did reach the check (each refusal is logged), and the cookie never reached the log.
        Assert.Contains("authentication failed", Release.Log());
        Assert.DoesNotContain(Encoding.UTF8.GetString(cookie), Release.Log());
        Assert.True(Processes.IsAlive(pid));
    }

    /// <summary>One frame nobody should act on: garbage, impossible lengths, truncation, or a well-formed request before authentication.</summary>
    private static byte[] Malformed(Random random, byte[] evil, byte[] cookie)
    {
        byte RandomType() => (byte)random.Next(256);
        byte[] Bytes(int n) { var b = new byte[n]; random.NextBytes(b); return b; }
        return random.Next(12) switch
        {
            0 => Bytes(random.Next(0, 64)),                                                   // noise
            1 => ControlWire.Frame(0, RandomType(), []),                                      // length 0
            2 => ControlWire.Frame(0xFFFFFFFF, RandomType(), Bytes(random.Next(0, 16))),      // length 4 GiB
            3 => ControlWire.Frame((1u << 20) + 1, RandomType(), Bytes(16)),                 // just over the cap
            4 => ControlWire.Frame((uint)random.Next(2, 1 << 20), RandomType(), Bytes(random.Next(0, 32))), // truncated
            5 => ControlWire.Frame(ControlWire.Rpc, evil),                                    // Rpc before Auth
            6 => ControlWire.Frame(ControlWire.RemoteSubmit, evil),                           // RemoteSubmit before Auth
            7 => ControlWire.Frame(ControlWire.Auth, Bytes(64)),                              // a proof of nothing
            8 => ControlWire.Frame(ControlWire.Auth, Bytes(random.Next(0, 200))),             // an Auth of the wrong size
            9 => ControlWire.Frame(ControlWire.Stop, []),                                     // Stop before Auth
            10 => ControlWire.Frame(RandomType(), Bytes(random.Next(0, 64))),                 // any type, any payload
            _ => Bytes(5)[..random.Next(1, 5)],                                               // a header cut short
        };
    }
}
