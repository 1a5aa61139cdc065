#!/usr/bin/env python3
"""Restart under load and heart: what a client of a supervised Kv daemon sees.

Usage:
  restart_load.py --launcher BIN/kv --runs N --json OUT.json [--clients 4] [--steady 3]

For every run this:
  1. picks a free 127.0.0.1 port, starts `BIN/kv daemon` with PORT=port (the release declares the
     port as a ReleaseSocket, so the supervisor holds it),
  2. runs CLIENTS threads, each a bounded loop of connect + "CREATE x" -> "OK" round trips (a new
     connection per request, 10 s timeout each), recording every request's latency and outcome,
  3. steady phase: STEADY seconds of load, nothing else; its longest request is the baseline,
  4. restart phase: `BIN/kv restart` while the load runs; records its wall time, the requests that
     failed and the longest request that overlapped the restart,
  5. heart phase: with the load stopped, kill -9 of the app's pid, then a connect + CREATE every
     5 ms until one answers OK: "killed -> answering",
  6. `BIN/kv stop`.
Only processes this script started are signalled (the daemon through bin/kv stop, the app by the
pid bin/kv pid printed).
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

POLL = 0.005

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from first_answer import ask, free_port  # noqa: E402


class Load:
    """CLIENTS threads of round trips until stopped (bounded by MAX_SECONDS whatever happens).

    request(client, n) makes the n-th round trip of a client and says whether it was answered right;
    by default a connect + CREATE x."""

    MAX_SECONDS = 120

    def __init__(self, port, clients, request=None):
        self.port = port
        self.request = request or (lambda client, n: ask(port))
        self.samples = []  # (start, end, ok)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(c,), daemon=True) for c in range(clients)]

    def run(self, client):
        deadline = time.monotonic() + self.MAX_SECONDS
        n = 0
        while not self.stopping.is_set() and time.monotonic() < deadline:
            start = time.monotonic()
            ok = self.request(client, n)
            n += 1
            with self.lock:
                self.samples.append((start, time.monotonic(), ok))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join()

    def window(self, begin, end):
        with self.lock:
            return [s for s in self.samples if s[1] >= begin and s[0] <= end]


def launcher(args, env, cmd, check=True):
    return subprocess.run([args.launcher, cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check, timeout=300)


def one_run(args):
    port = free_port()
    env = dict(os.environ, PORT=str(port), KV_PORT=str(port))
    launcher(args, env, "daemon")
    try:
        with Load(port, args.clients) as load:
            t0 = time.monotonic()
            time.sleep(args.steady)
            t1 = time.monotonic()
            restart = launcher(args, env, "restart", check=False)
            t2 = time.monotonic()
            time.sleep(0.5)
            t3 = time.monotonic()
        steady = load.window(t0, t1)
        during = load.window(t1, t3)
        failed = sum(1 for s in load.samples if not s[2])
        pid = int(launcher(args, env, "pid").stdout.strip())
        os.kill(pid, signal.SIGKILL)
        k0 = time.monotonic()
        while not ask(port, timeout=1.0):
            if time.monotonic() - k0 > 30:
                raise SystemExit("the killed app did not come back within 30 s")
            time.sleep(POLL)
        answering = time.monotonic() - k0
        return {
            "restart_exit": restart.returncode,
            "restart_s": t2 - t1,
            "requests": len(load.samples),
            "failed": failed,
            "steady_max_ms": max((s[1] - s[0]) * 1000 for s in steady) if steady else None,
            "restart_max_ms": max((s[1] - s[0]) * 1000 for s in during) if during else None,
            "killed_to_answering_ms": answering * 1000,
        }
    finally:
        launcher(args, env, "stop", check=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--launcher", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--steady", type=float, default=3.0)
    p.add_argument("--json", required=True)
    args = p.parse_args()
    runs = [one_run(args) for _ in range(args.runs)]

    def med(key):
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None

    summary = {
        "runs": runs,
        "failed_total": sum(r["failed"] for r in runs),
        "requests_total": sum(r["requests"] for r in runs),
        "restart_exit_nonzero": sum(1 for r in runs if r["restart_exit"] != 0),
        "restart_s": med("restart_s"),
        "steady_max_ms": med("steady_max_ms"),
        "restart_max_ms": med("restart_max_ms"),
        "restart_over_steady": max(r["restart_max_ms"] / r["steady_max_ms"] for r in runs if r["steady_max_ms"]),
        "killed_to_answering_ms": med("killed_to_answering_ms"),
    }
    with open(args.json, "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
