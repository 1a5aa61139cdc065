#!/usr/bin/env python3
"""First request after boot: how long the very first `CREATE x` takes once the server is up.

Usage:
  first_request.py --runs N --settle SECONDS --json OUT.json \
      --variant 'LABEL|CWD|[NAME=VALUE ...] ARG0 ARG1 ...' [--variant ...]

For every run and every variant (interleaved, like first_answer.py, after one unrecorded warm-up
round) this:
  1. picks a free 127.0.0.1 port, starts the command with Kv__Port and PORT set to it (plus the
     variant's NAME=VALUE words), output to /dev/null,
  2. every 5 ms tries to connect, sending nothing, until a connection is established,
  3. waits SETTLE seconds on that open connection, so that the server has accepted it and the rest
     of start-up (host start, logging) is over and does not compete with the request,
  4. times the first request alone: from just before sending "CREATE x\\n" until "OK\\r\\n" is read,
  5. times 20 more requests on the same connection (CREATE y, then CREATE b1 ... b19): the second
     one, and the median of the last 19 ("warm"),
  6. reads VmRSS of the process, closes the connection, SIGTERM (SIGKILL after 10 s), waits.
Only processes this script started are ever signalled.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from first_answer import POLL, TIMEOUT, free_port, parse_command, percentile, start, stop, vm_rss_kib  # noqa: E402

CURRENT = None
WARM_REQUESTS = 19


def request(sock, line):
    """One request on an open connection; its round-trip time in seconds. Raises unless OK."""
    t0 = time.perf_counter()
    sock.sendall(line)
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(64)
        if not chunk:
            raise RuntimeError(f"connection closed after {buf!r}")
        buf += chunk
    elapsed = time.perf_counter() - t0
    if buf != b"OK\r\n":
        raise RuntimeError(f"{line!r} answered {buf!r}")
    return elapsed


def connect(port, proc, t0):
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with code {proc.returncode} before listening")
        if time.perf_counter() - t0 > TIMEOUT:
            raise RuntimeError(f"{proc.args} did not listen within {TIMEOUT} s")
        time.sleep(POLL)


def measure(cwd, argv, extra_env, settle):
    global CURRENT
    port = free_port()
    t0 = time.perf_counter()
    proc = start(cwd, argv, extra_env, port)
    CURRENT = proc
    try:
        with connect(port, proc, t0) as sock:
            sock.settimeout(30)
            time.sleep(settle)
            first = request(sock, b"CREATE x\n")
            second = request(sock, b"CREATE y\n")
            warm = [request(sock, f"CREATE b{i}\n".encode()) for i in range(1, WARM_REQUESTS + 1)]
            kib = vm_rss_kib(proc.pid)
        return first, second, statistics.median(warm), kib
    finally:
        stop(proc)
        CURRENT = None


def on_signal(signum, _frame):
    if CURRENT is not None:
        stop(CURRENT)
    sys.exit(128 + signum)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--json", required=True)
    ap.add_argument("--variant", action="append", required=True, help="LABEL|CWD|[NAME=VALUE ...] ARGV")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    variants = []
    for v in args.variant:
        label, cwd, cmd = v.split("|", 2)
        extra_env, argv = parse_command(cmd)
        variants.append((label, cwd, argv, extra_env))
    res = {v[0]: {"first": [], "second": [], "warm": [], "rss_kib": []} for v in variants}

    for i in range(args.runs + 1):
        for label, cwd, argv, extra_env in variants:
            first, second, warm, kib = measure(cwd, argv, extra_env, args.settle)
            if i == 0:
                continue  # warm-up round
            r = res[label]
            r["first"].append(first)
            r["second"].append(second)
            r["warm"].append(warm)
            if kib is not None:
                r["rss_kib"].append(kib)
        if i > 0:
            print(f"  round {i}/{args.runs}: first request " + ", ".join(
                f"{v[0]} {res[v[0]]['first'][-1] * 1000:.2f} ms" for v in variants), flush=True)

    out = {"settle": args.settle}
    for label, cwd, argv, extra_env in variants:
        r = res[label]
        out[label] = {
            "command": " ".join([f"{k}={v}" for k, v in extra_env.items()] + argv),
            "cwd": cwd,
            "runs": len(r["first"]),
            "first": r["first"],
            "second": r["second"],
            "warm": r["warm"],
            "first_median": statistics.median(r["first"]),
            "first_p90": percentile(r["first"], 90),
            "second_median": statistics.median(r["second"]),
            "warm_median": statistics.median(r["warm"]),
            "rss_kib": r["rss_kib"],
            "rss_median_kib": statistics.median(r["rss_kib"]) if r["rss_kib"] else None,
        }
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
