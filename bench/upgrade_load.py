#!/usr/bin/env python3
"""Upgrade and downgrade under load: what clients of a supervised Kv daemon see, and what state survives.

Usage:
  upgrade_load.py --release DIR/kv --tarball kv-0.2.0.tar.gz --from 0.1.0 --runs N --json OUT.json
                  [--clients 4] [--steady 3] [--stateless]

For every run this:
  1. copies the 0.1.0 release (DIR/kv, never run itself) to a fresh folder and starts `bin/kv daemon`
     there with PORT=a free 127.0.0.1 port (a ReleaseSocket the supervisor holds),
  2. runs CLIENTS threads, each a bounded loop of connect + "PUT b KEY v" round trips with keys of its
     own (a new connection per request, 10 s timeout), recording latency and outcome of each
     (stateless: "CREATE b", which is OK whatever the buckets hold),
  3. steady phase: STEADY seconds of load; its longest request is the baseline,
  4. `bin/kv upgrade TARBALL` under that load (install + switch; wall time recorded), then
     `bin/kv downgrade FROM`, 0.5 s apart,
  5. stops the load and GETs every key whose PUT was answered OK: one not found is a lost update.
With --stateless the app runs with Kv__HandOverState=false (no IReleaseState: new ready before old drains),
so its buckets start empty in the new version by design and lost updates are not counted.
Only processes this script started are signalled (through bin/kv stop).
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from first_answer import free_port  # noqa: E402
from restart_load import Load  # noqa: E402


def round_trip(port, line, timeout=10.0):
    """One connection, one command; the reply's lines up to OK/NOT FOUND/ERROR, or None when it failed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(line.encode() + b"\r\n")
            buf = b""
            while True:
                lines = buf.split(b"\r\n")
                if any(l in (b"OK", b"NOT FOUND") or l.startswith(b"ERROR") or l.startswith(b"UNKNOWN") for l in lines[:-1]):
                    return [l.decode() for l in lines[:-1]]
                chunk = s.recv(256)
                if not chunk:
                    return None
                buf += chunk
    except OSError:
        return None


class PutLoad(Load):
    """restart_load's Load with "PUT b KEY v" (keys of each client's own), remembering the keys answered OK;
    stateless: "CREATE b", which is OK whatever the buckets hold (a new version starts without them)."""

    def __init__(self, port, clients, stateless):
        self.stored = []
        super().__init__(port, clients, self.put if not stateless else lambda client, n: round_trip(port, "CREATE b") == ["OK"])

    def put(self, client, n):
        key = f"c{client}-{n}"
        ok = round_trip(self.port, f"PUT b {key} v") == ["OK"]
        if ok:
            with self.lock:
                self.stored.append(key)
        return ok


def one_run(args, work):
    root = os.path.join(work, "kv")
    shutil.copytree(args.release, root, symlinks=True)
    kv = os.path.join(root, "bin", "kv")
    port = free_port()
    env = dict(os.environ, PORT=str(port))
    if args.stateless:
        env["Kv__HandOverState"] = "false"

    def launcher(*cmd, check=True):
        return subprocess.run([kv, *cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check, timeout=300)

    launcher("daemon")
    try:
        if round_trip(port, "CREATE b") != ["OK"]:
            raise SystemExit("CREATE b was not answered OK")
        with PutLoad(port, args.clients, args.stateless) as load:
            t0 = time.monotonic()
            time.sleep(args.steady)
            t1 = time.monotonic()
            up = launcher("upgrade", args.tarball, check=False)
            t2 = time.monotonic()
            time.sleep(0.5)
            t3 = time.monotonic()
            down = launcher("downgrade", getattr(args, "from"), check=False)
            t4 = time.monotonic()
            time.sleep(0.5)
            t5 = time.monotonic()
        if up.returncode != 0 or down.returncode != 0:
            raise SystemExit(f"upgrade {up.returncode}: {up.stderr.strip()} / downgrade {down.returncode}: {down.stderr.strip()}")
        steady = load.window(t0, t1)
        switching = load.window(t1, t2) + load.window(t3, t4)
        lost = None if args.stateless else sum(1 for key in load.stored if round_trip(port, f"GET b {key}") != ["v", "OK"])
        return {
            "upgrade_s": t2 - t1,
            "downgrade_s": t4 - t3,
            "requests": len(load.samples),
            "failed": sum(1 for s in load.samples if not s[2]),
            "stored": len(load.stored),
            "lost": lost,
            "steady_max_ms": max((s[1] - s[0]) * 1000 for s in steady),
            "switch_max_ms": max((s[1] - s[0]) * 1000 for s in switching),
        }
    finally:
        launcher("stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--release", required=True)
    p.add_argument("--tarball", required=True)
    p.add_argument("--from", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--steady", type=float, default=3.0)
    p.add_argument("--stateless", action="store_true")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="relcraft-upgrade-") as work:
        runs = [one_run(args, work) for _ in range(args.runs)]

    def med(key):
        return statistics.median(r[key] for r in runs)

    summary = {
        "stateless": args.stateless,
        "runs": runs,
        "requests_total": sum(r["requests"] for r in runs),
        "failed_total": sum(r["failed"] for r in runs),
        "stored_total": sum(r["stored"] for r in runs),
        "lost_total": None if args.stateless else sum(r["lost"] for r in runs),
        "upgrade_s": med("upgrade_s"),
        "downgrade_s": med("downgrade_s"),
        "steady_max_ms": med("steady_max_ms"),
        "switch_max_ms": med("switch_max_ms"),
        "switch_over_steady": max(r["switch_max_ms"] / r["steady_max_ms"] for r in runs),
    }
    with open(args.json, "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
