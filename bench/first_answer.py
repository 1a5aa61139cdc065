#!/usr/bin/env python3
"""Start -> first answer: how long from launching a Kv server until `CREATE x` answers `OK`.

Usage:
  first_answer.py --runs N --json OUT.json \
      --variant 'LABEL|CWD|[NAME=VALUE ...] ARG0 ARG1 ...' [--variant ...]

Leading NAME=VALUE words of a variant's command are added to its environment (like env(1)).

For every run and every variant (interleaved: a, b, c, a, b, c, ... so that noise from other
work on the machine hits every variant alike) this:
  1. picks a free 127.0.0.1 port and passes it as Kv__Port (and PORT) in the environment,
  2. notes the time, starts the command (cwd CWD, output to /dev/null),
  3. every 5 ms tries connect + "CREATE x\\n" until the answer is "OK\\r\\n",
  4. records the elapsed time and the process's VmRSS right then (/proc/PID/status),
  5. sends SIGTERM to the pid it started (SIGKILL after 10 s) and waits for it.
One extra round before the measured ones warms the page cache and is not recorded.
Only processes this script started are ever signalled.
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

POLL = 0.005
TIMEOUT = 60.0
CURRENT = None  # the child being measured, for cleanup on SIGTERM/SIGINT


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(port, timeout=5.0):
    """One connect + CREATE round trip; True when the server answered OK."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"CREATE x\n")
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = s.recv(64)
                if not chunk:
                    return False
                buf += chunk
            return buf == b"OK\r\n"
    except OSError:
        return False


def vm_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def stop(proc):
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def parse_command(cmd):
    """'A=1 B=2 prog arg' -> ({'A': '1', 'B': '2'}, ['prog', 'arg'])."""
    words = cmd.split()
    env = {}
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return env, words


def start(cwd, argv, extra_env, port):
    """Starts argv with Kv__Port/PORT=port (+ extra_env), output to /dev/null."""
    env = dict(os.environ)
    env.update(extra_env)
    env["Kv__Port"] = str(port)
    env["PORT"] = str(port)  # for a rel/runtime.json that reads ${PORT}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(cwd, argv, extra_env):
    global CURRENT
    port = free_port()
    t0 = time.perf_counter()
    proc = start(cwd, argv, extra_env, port)
    CURRENT = proc
    try:
        while True:
            if ask(port):
                elapsed = time.perf_counter() - t0
                return elapsed, vm_rss_kib(proc.pid)
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with code {proc.returncode} before answering")
            if time.perf_counter() - t0 > TIMEOUT:
                raise RuntimeError(f"{argv} did not answer within {TIMEOUT} s")
            time.sleep(POLL)
    finally:
        stop(proc)
        CURRENT = None


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def on_signal(signum, _frame):
    if CURRENT is not None:
        stop(CURRENT)
    sys.exit(128 + signum)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json", required=True)
    ap.add_argument("--variant", action="append", required=True, help="LABEL|CWD|ARGV (space separated)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    variants = []
    for v in args.variant:
        label, cwd, cmd = v.split("|", 2)
        extra_env, argv = parse_command(cmd)
        variants.append((label, cwd, argv, extra_env))
    times = {v[0]: [] for v in variants}
    rss = {v[0]: [] for v in variants}

    for i in range(args.runs + 1):
        for label, cwd, argv, extra_env in variants:
            elapsed, kib = measure(cwd, argv, extra_env)
            if i == 0:
                continue  # warm-up round
            times[label].append(elapsed)
            if kib is not None:
                rss[label].append(kib)
        if i > 0:
            print(f"  round {i}/{args.runs}: " + ", ".join(
                f"{v[0]} {times[v[0]][-1] * 1000:.0f} ms" for v in variants), flush=True)

    out = {}
    for label, cwd, argv, extra_env in variants:
        t = times[label]
        out[label] = {
            "command": " ".join([f"{k}={v}" for k, v in extra_env.items()] + argv),
            "cwd": cwd,
            "runs": len(t),
            "times": t,
            "median": statistics.median(t),
            "p90": percentile(t, 90),
            "min": min(t),
            "max": max(t),
            "mean": statistics.fmean(t),
            "rss_kib": rss[label],
            "rss_median_kib": statistics.median(rss[label]) if rss[label] else None,
        }
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
