#!/usr/bin/env python3
"""Daemon start time, memory and the first rpc: `bin/kv daemon` N times.

Usage: daemon_rss.py --launcher REL/bin/kv --runs N --rpc EXPR --json OUT.json
                     [--idle SECONDS --warmup-rpc EXPR]

Each run: pick a free port, time `Kv__Port=PORT PORT=PORT bin/kv daemon` until it returns, read the app's pid
with `bin/kv pid` and its parent (the supervisor), do one `CREATE x` round trip, read VmRSS of both
from /proc/PID/status; then time `bin/kv rpc EXPR` twice (the first one loads Roslyn into the fresh
daemon and compiles; the second is warm), read the app's VmRSS again, then `bin/kv stop`. If either
process is still there afterwards it is killed by pid (only after checking that /proc/PID/cmdline
still mentions the release directory).

With --remote EXPR, a `bin/kv remote` session then evaluates EXPR and exits (a remote session loads Roslyn
into the app; rpc compiles in a process of its own) and the app's VmRSS is read again ("Roslyn loaded").
With --idle, the daemon gets RELEASE_SCRIPTING_IDLE=SECONDS, and after the second rpc (and the remote session) the script waits
(bounded) for the daemon's log to say "scripting unloaded", then reads the app's VmRSS once more. With
--warmup-rpc, that rpc (a fast-path expression: no Roslyn) runs first and the VmRSS read after it is
"before Roslyn": the app with the control channel's own code loaded, which stays whatever happens.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from first_answer import ask, free_port, percentile, vm_rss_kib  # noqa: E402

PIDS = []  # (pid, release dir) of processes started through the launcher, for cleanup


def ppid_of(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def ours(pid, release_dir):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return release_dir.encode() in f.read()
    except OSError:
        return False


def reap(launcher, release_dir):
    subprocess.run([launcher, "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    deadline = time.monotonic() + 10
    for pid in PIDS:
        while ours(pid, release_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        if ours(pid, release_dir):
            os.kill(pid, signal.SIGKILL)
    PIDS.clear()


UNLOADED = "relcraft agent: scripting unloaded after"


def log_lines(log, text):
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in f if text in line]
    except OSError:
        return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--launcher", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rpc", required=True, help="the C# expression for bin/kv rpc")
    ap.add_argument("--json", required=True)
    ap.add_argument("--idle", type=float, help="RELEASE_SCRIPTING_IDLE for the daemon; then wait for the unload")
    ap.add_argument("--remote", help="an expression for one remote session after the rpcs (loads Roslyn in the app)")
    ap.add_argument("--warmup-rpc", help="an rpc before the measured ones; VmRSS after it is 'before Roslyn'")
    args = ap.parse_args()
    launcher = os.path.realpath(args.launcher)
    release_dir = os.path.dirname(os.path.dirname(launcher))
    node = os.environ.get("RELEASE_NODE") or os.path.basename(launcher)
    log = os.path.join(os.environ.get("RELEASE_TMP") or os.path.join(release_dir, "tmp"), "log", f"{node}.log")

    def on_signal(signum, _frame):
        reap(launcher, release_dir)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    daemon_times, app_rss, sup_rss = [], [], []
    rpc_first, rpc_second, rss_after_rpc, rpc_output = [], [], [], None
    rss_before_roslyn, rss_after_unload, unload_wait, unload_lines = [], [], [], []
    rss_after_remote = []

    def rpc(expression=args.rpc):
        t0 = time.perf_counter()
        r = subprocess.run([launcher, "rpc", expression], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"bin/kv rpc {expression!r} exited {r.returncode}: {r.stderr.strip()}")
        return elapsed, r.stdout.strip()
    try:
        for i in range(args.runs):
            port = free_port()
            env = dict(os.environ, Kv__Port=str(port), PORT=str(port))
            env.pop("NOTIFY_SOCKET", None)
            if args.idle is not None:
                env["RELEASE_SCRIPTING_IDLE"] = f"{args.idle:g}"
            t0 = time.perf_counter()
            subprocess.run([launcher, "daemon"], env=env, check=True, stdin=subprocess.DEVNULL)
            daemon_times.append(time.perf_counter() - t0)
            pid = int(subprocess.run([launcher, "pid"], check=True, capture_output=True, text=True).stdout.strip())
            sup = ppid_of(pid)
            PIDS.extend([pid, sup] if ours(sup, release_dir) else [pid])
            deadline = time.monotonic() + 30
            while not ask(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"daemon on port {port} never answered")
                time.sleep(0.005)
            app_rss.append(vm_rss_kib(pid))
            if ours(sup, release_dir):
                sup_rss.append(vm_rss_kib(sup))
            if args.warmup_rpc:
                rpc(args.warmup_rpc)
                rss_before_roslyn.append(vm_rss_kib(pid))
            unloads = len(log_lines(log, UNLOADED))
            elapsed, rpc_output = rpc()
            rpc_first.append(elapsed)
            rpc_second.append(rpc()[0])
            rss_after_rpc.append(vm_rss_kib(pid))
            remote = ""
            if args.remote:
                r = subprocess.run([launcher, "remote"], input=f"{args.remote}\n#exit\n", capture_output=True, text=True, timeout=120)
                if r.returncode != 0 or not r.stdout.strip():
                    raise RuntimeError(f"bin/kv remote exited {r.returncode}: {r.stderr.strip()}")
                rss_after_remote.append(vm_rss_kib(pid))
                remote = f", after a remote session {rss_after_remote[-1] / 1024:.1f} MiB"
            unloaded = ""
            if args.idle is not None:
                t0 = time.perf_counter()
                deadline = time.monotonic() + args.idle + 60
                while len(log_lines(log, UNLOADED)) <= unloads:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no '{UNLOADED}' in {log} within {args.idle + 60:g} s")
                    time.sleep(0.05)
                unload_wait.append(time.perf_counter() - t0)
                rss_after_unload.append(vm_rss_kib(pid))
                unload_lines.append(log_lines(log, UNLOADED)[unloads])
                unloaded = f"; unloaded after {unload_wait[-1]:.1f} s, app then {rss_after_unload[-1] / 1024:.1f} MiB"
            reap(launcher, release_dir)
            before = f", {rss_before_roslyn[-1] / 1024:.1f} MiB after the warm-up rpc" if rss_before_roslyn else ""
            print(f"  daemon {i + 1}/{args.runs}: {daemon_times[-1] * 1000:.0f} ms, app {app_rss[-1] / 1024:.1f} MiB{before}, "
                  f"supervisor {(sup_rss[-1] / 1024) if sup_rss else 0:.1f} MiB; first rpc {rpc_first[-1] * 1000:.0f} ms, "
                  f"second {rpc_second[-1] * 1000:.0f} ms, app then {rss_after_rpc[-1] / 1024:.1f} MiB{remote}{unloaded}", flush=True)
    finally:
        reap(launcher, release_dir)

    with open(args.json, "w", encoding="utf-8") as f:
        json.dump({
            "daemon_times": daemon_times,
            "daemon_median": statistics.median(daemon_times),
            "daemon_p90": percentile(daemon_times, 90),
            "app_rss_kib": app_rss,
            "app_rss_median_kib": statistics.median(app_rss),
            "supervisor_rss_kib": sup_rss,
            "supervisor_rss_median_kib": statistics.median(sup_rss) if sup_rss else 0,
            "rpc_expression": args.rpc,
            "rpc_output": rpc_output,
            "rpc_first": rpc_first,
            "rpc_first_median": statistics.median(rpc_first),
            "rpc_second": rpc_second,
            "rpc_second_median": statistics.median(rpc_second),
            "app_rss_after_rpc_kib": rss_after_rpc,
            "app_rss_after_rpc_median_kib": statistics.median(rss_after_rpc),
            "remote_expression": args.remote,
            "app_rss_after_remote_kib": rss_after_remote,
            "app_rss_after_remote_median_kib": statistics.median(rss_after_remote) if rss_after_remote else None,
            "idle": args.idle,
            "warmup_rpc": args.warmup_rpc,
            "app_rss_before_roslyn_kib": rss_before_roslyn,
            "app_rss_before_roslyn_median_kib": statistics.median(rss_before_roslyn) if rss_before_roslyn else None,
            "unload_wait": unload_wait,
            "app_rss_after_unload_kib": rss_after_unload,
            "app_rss_after_unload_median_kib": statistics.median(rss_after_unload) if rss_after_unload else None,
            "unload_log_lines": unload_lines,
        }, f, indent=2)


if __name__ == "__main__":
    main()
