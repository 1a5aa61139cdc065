#!/usr/bin/env python3
"""Writes docs/benchmarks.md from the files bench/run.sh leaves in its work directory.

Usage: report.py WORKDIR OUTPUT.md

WORKDIR holds: facts.txt (KEY=VALUE lines), hyperfine-{cold,warm,tar}-ROUND.json (one file per interleaved
round), hyperfine-{launcher,control,floor,eval-static,eval-roslyn}.json, jit-*.txt, first-answer.json,
first-request.json, daemon.json, daemon-roslyn.json, daemon-unload.json and
perf-{release,selfcontained,tar}.log.
"""
import glob
import json
import os
import random
import re
import statistics
import sys

# What the issue quotes for `mix release` on this machine (for scale; not measured by this script).
MIX = {"rpc": 0.379, "eval": 0.404, "pid": 0.391, "rss_mb": 104}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def facts_of(path):
    facts = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                facts[k] = v
    return facts


def hyperfine_results(path):
    """name -> result dict (with median, mean, stddev, min, max, times in seconds)."""
    return {r["command"]: r for r in load(path)["results"]}


def hyperfine_rounds(work, name):
    """name -> merged result over $WORK/hyperfine-NAME-1.json, -2.json, ... (one run per command per round,
    written by run.sh's `interleaved`): times in round order, median, mean, stddev, min, max, user, system."""
    files = sorted(glob.glob(os.path.join(work, f"hyperfine-{name}-*.json")),
                   key=lambda f: int(re.search(r"-(\d+)\.json$", f).group(1)))
    if not files:
        raise SystemExit(f"report.py: no {work}/hyperfine-{name}-*.json")
    merged = {}
    for f in files:
        for r in load(f)["results"]:
            m = merged.setdefault(r["command"], {"times": [], "user_all": [], "system_all": []})
            m["times"].extend(r["times"])
            m["user_all"].append(r["user"])
            m["system_all"].append(r["system"])
    for m in merged.values():
        t = m["times"]
        m.update(median=statistics.median(t), mean=statistics.fmean(t),
                 stddev=statistics.stdev(t) if len(t) > 1 else 0.0, min=min(t), max=max(t),
                 user=statistics.fmean(m["user_all"]), system=statistics.fmean(m["system_all"]), rounds=len(files))
    return merged


def secs(s):
    return f"{s:.2f} s" if abs(s) >= 1 else f"{s * 1000:.0f} ms"


def ms(s):
    return f"{s * 1000:.1f} ms"


def ms2(s):
    return f"{s * 1000:.2f} ms"


def mib(b):
    return f"{b / 1048576:.1f} MiB"


def kib_mib(k):
    return f"{k / 1024:.1f} MiB"


def rx(r, limit):
    """A ratio as 'N.NN×', with a third decimal when two would hide which side of the limit it is on."""
    two = f"{r:.2f}"
    return f"{r:.3f}×" if (float(two) <= limit) != (r <= limit) or float(two) == limit else f"{two}×"


def verdict(value, limit):
    return "PASS" if value <= limit else "MISS"


def hf_cell(r, fmt=secs):
    """'median (mean ± sd, min–max)' for a hyperfine result."""
    return (f"{fmt(r['median'])} (mean {fmt(r['mean'])} ± {fmt(r['stddev'] or 0)}, "
            f"{fmt(r['min'])}–{fmt(r['max'])})")


def paired(a, b, resamples=4000, seed=20261122):
    """Median of the per-round differences a[i] - b[i] and a bootstrap 95 % interval for it."""
    d = [x - y for x, y in zip(a, b)]
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(d, k=len(d))) for _ in range(resamples))
    return statistics.median(d), meds[int(0.025 * resamples)], meds[int(0.975 * resamples) - 1]


def perf_summary(path, section, top):
    """Top entries of a -clp:PerformanceSummary section ('Target' or 'Task')."""
    rows = []
    inside = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip().endswith("Performance Summary:"):
                inside = line.strip().startswith(section + " Performance Summary")
                continue
            m = re.match(r"\s+(\d+) ms\s+(\S+)\s+(\d+) calls", line)
            if inside and m:
                rows.append((int(m.group(1)), m.group(2), int(m.group(3))))
    rows.sort(reverse=True)
    return rows[:top]


def perf_entry(path, section, name):
    for t in perf_summary(path, section, 10000):
        if t[1] == name:
            return t[0]
    return None


def jit_counts(path):
    """(all methods, Relcraft.*, Microsoft.CodeAnalysis.*) in a DOTNET_JitDisasmSummary file; None if absent."""
    if not os.path.exists(path):
        return None
    total = relcraft = roslyn = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"JIT compiled (\S+)", line)
            if not m:
                continue
            total += 1
            relcraft += m.group(1).startswith("Relcraft.")
            roslyn += m.group(1).startswith("Microsoft.CodeAnalysis")
    return total, relcraft, roslyn


def main():
    work, out = sys.argv[1], sys.argv[2]
    facts = facts_of(os.path.join(work, "facts.txt"))
    j = lambda name: os.path.join(work, name)  # noqa: E731
    cold = hyperfine_rounds(work, "cold")
    warm = hyperfine_rounds(work, "warm")
    tar = hyperfine_rounds(work, "tar")
    launcher = hyperfine_results(j("hyperfine-launcher.json"))
    control = hyperfine_results(j("hyperfine-control.json"))
    ev_static = hyperfine_results(j("hyperfine-eval-static.json"))["kv eval (static call)"]
    ev_roslyn = hyperfine_results(j("hyperfine-eval-roslyn.json"))["kv eval (Roslyn)"]
    floors = hyperfine_results(j("hyperfine-floor.json"))
    floor, native_floor = floors["runtime floor"], floors["native launcher floor"]
    jit_ping = jit_counts(j("jit-ping.txt"))
    jit_static = jit_counts(j("jit-eval-static.txt"))
    jit_roslyn = jit_counts(j("jit-eval-roslyn.txt"))
    first = load(j("first-answer.json"))
    req = load(j("first-request.json"))
    daemon = load(j("daemon.json"))
    daemon_roslyn = load(j("daemon-roslyn.json"))
    daemon_unload = load(j("daemon-unload.json"))

    rel_cold = cold["release (cold)"]
    relnr_cold = cold["release, ReleaseReadyToRun=false (cold)"]
    sc_cold = cold["self-contained (cold)"]
    scr2r_cold = cold["self-contained, PublishReadyToRun=true (cold)"]
    rel_warm, sc_warm = warm["release (no change)"], warm["self-contained (no change)"]
    tar_on, tar_off = tar["kv, tarball deleted"], tar["kv, no change"]
    v, p, st = launcher["kv version"], launcher["kv pid"], launcher["kv status"]
    ping, rpc = control["kv ping"], control["kv rpc"]
    ping_m, rpc_m = control["kv ping (managed launcher)"], control["kv rpc (managed launcher)"]
    fa_rel = first["release: bin/kv start"]
    fa_int = first["release, interactive: bin/kv start"]
    fa_intnr = first["release without R2R, interactive: bin/foo start"]
    fa_bare = first["bare: dotnet Kv.dll"]
    fa_sc = first["self-contained: ./Kv"]
    rq_rel = req["release: bin/kv start"]
    rq_int = req["release, interactive: bin/kv start"]
    rq_bare = req["bare: dotnet Kv.dll"]

    size = {k: int(facts[k]) for k in ("SIZE_RELEASE", "SIZE_NOSCRIPT", "SIZE_RELNR", "SIZE_KV", "SIZE_SELFCONTAINED",
                                       "SIZE_SCR2R", "SIZE_FRAMEWORK_DEPENDENT", "SIZE_TARBALL")}
    rel_size, sc_size = size["SIZE_RELEASE"], size["SIZE_SELFCONTAINED"]

    L = []
    w = L.append

    def row(*cells):
        w("| " + " | ".join(str(c) for c in cells) + " |")

    w("# Relcraft benchmarks")
    w("")
    w(f"Generated by `bench/run.sh` on **{facts['DATE']}** (total script time {facts['TOTAL_SECONDS']} s).")
    w("Re-run with `bench/run.sh`; it packs the SDK, copies `samples/Kv` and `samples/Kv.Storage` into a")
    w("temporary directory and measures there, so the repository's own `bin/` and `obj/` are untouched.")
    w(f"Run counts (environment knobs): `{facts['RUNS']}`.")
    w("")
    w("> **Noise warning: shared machine.** This machine has only "
      f"{facts['NPROC']} cores and is shared: other engineers' builds and test runs were running on it")
    w(f"> while this was measured (load average {facts['LOAD_START']} at the start, {facts['LOAD_END']} at the end;")
    w(f"> 1-minute load at each step: {facts['LOADS']}). Nothing here is an idle-machine number.")
    w("> Build times vary by ±10–20 % between runs of this script, process start times by ±20 % and more.")
    w("> To keep comparisons fair, everything that is compared is measured interleaved, round by round")
    w("> (a, b, c, a, b, c, …): the builds (one `hyperfine --runs 1` per round), start → first answer and the")
    w("> first request; the quick launcher and control commands run back to back in one hyperfine invocation.")
    w("> So both sides of a ratio saw roughly the same background load. Before the builds were interleaved")
    w("> (all runs of one command, then the next), three full runs of this script on 2026-11-22 gave the")
    w("> like-with-like cold ratio (c) as 0.98×, 0.86× and 1.19×, and the no-change ratio as 0.99×, 1.04× and")
    w("> 1.06×: treat differences under about 10 % as noise, whatever PASS/MISS says.")
    w("")
    w("## Results")
    w("")
    w("Times are medians (mean ± standard deviation and min–max in brackets). Ratios are")
    w("median / median. PASS/MISS compares with the target from the issue; rows without a target say (none).")
    w("")

    # -- Assembly -----------------------------------------------------------------------------
    w("### Assembly")
    w("")
    w("The timed release is the sample's `foo` (`dotnet publish Kv.csproj -p:Release=foo`): it has no tar")
    w("step, so it does the same work as a self-contained publish plus assembling the release. The default")
    w("release `kv` also builds a tarball (`Steps=\"assemble;tar\"`); that step is timed separately below.")
    w("The release compiles the app ReadyToRun by default (embedded mode) and a plain publish does not, so")
    w("rows (b) and (c) compare like with like both ways.")
    w("")
    row("Measure", "Relcraft release", "Baseline", "Ratio", "Target", "Result")
    row("---", "---", "---", "---", "---", "---")
    n_cold = len(rel_cold["times"])
    r_a = rel_cold["median"] / sc_cold["median"]
    r_b = relnr_cold["median"] / sc_cold["median"]
    r_c = rel_cold["median"] / scr2r_cold["median"]
    row(f"(a) Cold assembly, default: ReadyToRun on ({n_cold} interleaved rounds, restore included)", hf_cell(rel_cold),
        f"self-contained publish: {hf_cell(sc_cold)}", rx(r_a, 1.10), "≤ 1.10×", verdict(r_a, 1.10))
    row("(b) Cold assembly, `-p:ReleaseReadyToRun=false` (like with like: no R2R on either side)", hf_cell(relnr_cold),
        f"self-contained publish: {hf_cell(sc_cold)}", rx(r_b, 1.10), "≤ 1.10×", verdict(r_b, 1.10))
    row("(c) Cold assembly, default (like with like: R2R on both sides)", hf_cell(rel_cold),
        f"self-contained publish `-p:PublishReadyToRun=true`: {hf_cell(scr2r_cold)}", rx(r_c, 1.10), "≤ 1.10×",
        verdict(r_c, 1.10))
    r_warm = rel_warm["median"] / sc_warm["median"]
    row(f"No-change assembly ({len(rel_warm['times'])} interleaved rounds, 1 warm-up)", hf_cell(rel_warm),
        f"self-contained publish: {hf_cell(sc_warm)}", rx(r_warm, 1.05), "≤ 1.05×", verdict(r_warm, 1.05))
    tar_ms = perf_entry(j("perf-tar.log"), "Target", "_RelcraftTar")
    tar_cell = f"`_RelcraftTar` target: {tar_ms} ms" if tar_ms is not None else "`_RelcraftTar`: not in the summary"
    row(f"Tar step of `kv` ({len(tar_on['times'])} interleaved rounds): no-change build with only the tarball deleted, minus a "
        f"no-change build", f"+{secs(tar_on['median'] - tar_off['median'])} ({secs(tar_on['median'])} − "
        f"{secs(tar_off['median'])}); {tar_cell} (one more run, `-clp:PerformanceSummary`)", "—", "—", "(none)", "—")
    w("")

    # -- Size ---------------------------------------------------------------------------------
    w("### Size")
    w("")
    row("Measure", "Relcraft release", "Baseline", "Ratio", "Target", "Result")
    row("---", "---", "---", "---", "---", "---")
    r_size = rel_size / sc_size
    r_nos = size["SIZE_NOSCRIPT"] / sc_size
    r_tar = size["SIZE_TARBALL"] / size["SIZE_KV"]
    row("Release directory, default settings (`du -sb`)", f"{mib(rel_size)} ({rel_size} B)",
        f"self-contained publish: {mib(sc_size)} ({sc_size} B)", rx(r_size, 1.05), "≤ 1.05×", verdict(r_size, 1.05))
    row("Release directory, `-p:ReleaseScripting=false` (Roslyn left out)",
        f"{mib(size['SIZE_NOSCRIPT'])} ({size['SIZE_NOSCRIPT']} B)",
        f"self-contained publish: {mib(sc_size)}", rx(r_nos, 1.05), "≤ 1.05×", verdict(r_nos, 1.05))
    row(f"Tarball `kv-{facts['KV_VERSION']}.tar.gz`", f"{mib(size['SIZE_TARBALL'])} ({size['SIZE_TARBALL']} B)",
        f"the `kv` release directory: {mib(size['SIZE_KV'])}", rx(r_tar, 0.45), "≤ 0.45×", verdict(r_tar, 0.45))
    w("")

    # -- Launcher and control channel ----------------------------------------------------------
    w("### Launcher and control channel")
    w("")
    w("The last column is what the issue quotes for Elixir's `mix release` on this machine (every")
    w("`bin/app rpc|eval|pid` there boots a fresh BEAM), for scale; it was not measured by this script.")
    w("")
    row("Measure", "Relcraft release", "Target", "Result", "mix release (issue)")
    row("---", "---", "---", "---", "---")
    vfloor = v["median"]
    row(f"`bin/kv version` ({len(v['times'])} runs): the shell alone, **the floor** of every row below", hf_cell(v, ms),
        "—", "—", "28 ms")
    row(f"`bin/kv pid`, daemon running ({len(p['times'])} runs)", f"{hf_cell(p, ms)}; floor + {ms(p['median'] - vfloor)}",
        "≤ floor + 15 ms", verdict(p["median"] - vfloor, 0.015), f"pid: {MIX['pid'] * 1000:.0f} ms")
    row(f"`bin/kv status`, daemon running ({len(st['times'])} runs)", hf_cell(st, ms), "(none)", "—", "—")
    row(f"`bin/kv ping`, daemon running ({len(ping['times'])} runs, 3 warm-up)",
        f"{hf_cell(ping, ms)}; floor + {ms(ping['median'] - vfloor)}", "≤ floor + 15 ms",
        verdict(ping["median"] - vfloor, 0.015), "—")
    row(f"`bin/kv rpc '{facts['RPC_EXPR']}'`, warm ({len(rpc['times'])} runs after 3 warm-up rpcs)",
        f"{hf_cell(rpc, ms)}; floor + {ms(rpc['median'] - vfloor)}", "≤ floor + 25 ms",
        verdict(rpc["median"] - vfloor, 0.025), f"rpc: {MIX['rpc'] * 1000:.0f} ms")
    row("… `ping` with the managed launcher (`RELCRAFT_MANAGED_LAUNCHER=1`: Relcraft.Launcher.dll on the release's "
        "runtime, as on RIDs without a native build)", f"{hf_cell(ping_m, ms)}; native is {ping_m['median'] / ping['median']:.1f}× faster",
        "(none)", "—", "—")
    row("… warm `rpc` with the managed launcher", f"{hf_cell(rpc_m, ms)}; native is {rpc_m['median'] / rpc['median']:.1f}× faster",
        "(none)", "—", "—")
    rf = daemon["rpc_first"]
    row(f"First `bin/kv rpc '{facts['RPC_EXPR']}'` after a fresh `bin/kv daemon` (member chain: fast path, no Roslyn; "
        f"median of {len(rf)} daemons)",
        f"{ms(daemon['rpc_first_median'])} ({ms(min(rf))}–{ms(max(rf))}); floor (`version`) + {ms(daemon['rpc_first_median'] - vfloor)}",
        "≤ floor + 100 ms", verdict(daemon["rpc_first_median"] - vfloor, 0.100), f"rpc: {MIX['rpc'] * 1000:.0f} ms")
    rfr = daemon_roslyn["rpc_first"]
    row(f"First `bin/kv rpc '({facts['RPC_EXPR']})'` after a fresh `bin/kv daemon` (parenthesised: needs Roslyn, "
        f"compiled by a process of its own, run in the app; median of {len(rfr)} daemons)",
        f"{ms(daemon_roslyn['rpc_first_median'])} ({ms(min(rfr))}–{ms(max(rfr))})", "≤ 700 ms",
        verdict(daemon_roslyn["rpc_first_median"], 0.700), f"rpc: {MIX['rpc'] * 1000:.0f} ms")
    row(f"`PORT=1 bin/kv eval '{facts['EVAL_STATIC']}' /tmp/x` (static call: reflection, no Roslyn; "
        f"{len(ev_static['times'])} runs)", hf_cell(ev_static, ms), "≤ 250 ms", verdict(ev_static["median"], 0.250),
        f"eval: {MIX['eval'] * 1000:.0f} ms")
    row(f"`PORT=1 bin/kv eval '{facts['EVAL_ROSLYN']}'` (arbitrary C#: loads Roslyn, ReadyToRun; {len(ev_roslyn['times'])} runs)",
        hf_cell(ev_roslyn, ms), "≤ 900 ms", verdict(ev_roslyn["median"], 0.900), f"eval: {MIX['eval'] * 1000:.0f} ms")
    w("")
    w(f"Answers checked before timing: ping → `{facts['OUT_PING']}`, rpc → `{facts['OUT_RPC']}`, "
      f"static eval → `{facts['OUT_EVAL_STATIC']}`, Roslyn eval → `{facts['OUT_EVAL_ROSLYN']}`.")
    w("")
    w("Where a control command's time goes (measured by the script):")
    w("")
    w(f"* Process floors: the native launcher `lib/relcraft-VSN/relcraft` alone (no environment: one line, exit 2) "
      f"{hf_cell(native_floor, ms)}; the release's runtime starting the managed `Relcraft.Launcher.dll` the same way "
      f"{hf_cell(floor, ms)} ({len(floor['times'])} runs each). `bin/kv version` (the shell script alone) takes "
      f"{ms(v['median'])}; `bin/kv ping` is {ms(ping['median'] - v['median'])} above it: the native launcher's start, "
      "the connection (plain libc calls, no System.Net.Sockets threads) and the HMAC handshake (the launcher's own "
      "SHA-256), one round trip.")

    def jit_line(label, c):
        if c is None:
            return f"{label}: not measured"
        return f"{label}: {c[0]} methods ({c[1]} of them `Relcraft.*`, {c[2]} `Microsoft.CodeAnalysis.*`)"
    w("* Methods the JIT compiles in the client or eval process (`DOTNET_JitDisasmSummary=1`; code that is "
      "used ReadyToRun is not compiled and not listed): " + "; ".join(
          [jit_line("`bin/kv ping` (managed launcher)", jit_ping), jit_line("static-call eval", jit_static),
           jit_line("Roslyn eval", jit_roslyn)]) + ".")
    w("")

    # -- Start and first request ---------------------------------------------------------------
    w("### Start and first request")
    w("")
    w("`bare` is the plain framework-dependent publish run as `dotnet Kv.dll` (no launcher, no agent, no")
    w("ReadyToRun). `interactive` is the same release started with `RELEASE_MODE=interactive` (the agent")
    w("is loaded, the app's assemblies are not preloaded; the app's code is still ReadyToRun, because that")
    w("is decided at build time). Differences are medians of the per-round differences of interleaved runs,")
    w("with a bootstrap 95 % interval in brackets.")
    w("")
    row("Measure", "Relcraft release", "Baseline", "Ratio / difference", "Target", "Result")
    row("---", "---", "---", "---", "---", "---")
    r_fa = fa_rel["median"] / fa_bare["median"]
    r_fa90 = fa_rel["p90"] / fa_bare["p90"]
    row(f"Start → first answer, median ({fa_rel['runs']} runs), `bin/kv start`", ms(fa_rel["median"]),
        f"bare `dotnet Kv.dll`: {ms(fa_bare['median'])}", rx(r_fa, 1.10), "≤ 1.10×", verdict(r_fa, 1.10))
    row("Start → first answer, p90", ms(fa_rel["p90"]), f"bare: {ms(fa_bare['p90'])}", rx(r_fa90, 1.10), "≤ 1.10×",
        verdict(r_fa90, 1.10))
    row("Start → first answer vs self-contained `./Kv` (median / p90)", f"{ms(fa_rel['median'])} / {ms(fa_rel['p90'])}",
        f"{ms(fa_sc['median'])} / {ms(fa_sc['p90'])}",
        f"{fa_rel['median'] / fa_sc['median']:.2f}× / {fa_rel['p90'] / fa_sc['p90']:.2f}×", "(none)", "—")
    d, lo, hi = paired(fa_int["times"], fa_bare["times"])
    row("Agent's start-time cost: start → first answer, `RELEASE_MODE=interactive bin/kv start` (median)",
        ms(fa_int["median"]), f"bare: {ms(fa_bare['median'])}", f"{d * 1000:+.1f} ms [{lo * 1000:+.1f}, {hi * 1000:+.1f}]",
        "no measurable cost (interval reaches 0 or below)", "PASS" if lo <= 0 else "MISS")
    d2, lo2, hi2 = paired(fa_intnr["times"], fa_bare["times"])
    row("… same, release built with `ReleaseReadyToRun=false` (control: no R2R on either side)", ms(fa_intnr["median"]),
        f"bare: {ms(fa_bare['median'])}", f"{d2 * 1000:+.1f} ms [{lo2 * 1000:+.1f}, {hi2 * 1000:+.1f}]", "(none)", "—")
    dq, loq, hiq = paired(rq_rel["first"], rq_bare["first"])
    row(f"First request after boot: first `CREATE x` → `OK` round trip alone, embedded (default), median of "
        f"{rq_rel['runs']}", ms2(rq_rel["first_median"]), f"bare: {ms2(rq_bare['first_median'])}",
        f"{rq_rel['first_median'] / rq_bare['first_median']:.2f}× ({dq * 1000:+.2f} ms [{loq * 1000:+.2f}, {hiq * 1000:+.2f}])",
        "embedded ≤ bare", "PASS" if rq_rel["first_median"] <= rq_bare["first_median"] else "MISS")
    dqi, loqi, hiqi = paired(rq_int["first"], rq_bare["first"])
    row("… interactive mode, same release", ms2(rq_int["first_median"]), f"bare: {ms2(rq_bare['first_median'])}",
        f"{rq_int['first_median'] / rq_bare['first_median']:.2f}× ({dqi * 1000:+.2f} ms [{loqi * 1000:+.2f}, {hiqi * 1000:+.2f}])",
        "(none)", "—")
    w("")

    # -- Memory -------------------------------------------------------------------------------
    w("### Memory")
    w("")
    w("VmRSS from `/proc/PID/status`. The issue's target is \"≤ 5 MB\"; it is read here as 5 MiB")
    w("(5120 KiB, VmRSS's own unit); the difference is also given in kB of 1000 bytes.")
    w("")
    row("Measure", "Relcraft release", "Baseline", "Difference", "Target", "Result", "mix release (issue)")
    row("---", "---", "---", "---", "---", "---", "---")
    b_rss = fa_bare["rss_median_kib"]
    i_rss = fa_int["rss_median_kib"]
    inr_rss = fa_intnr["rss_median_kib"]
    dk = i_rss - b_rss
    row(f"Agent's idle cost: RSS right after the first answer, `RELEASE_MODE=interactive bin/kv start` (median of "
        f"{len(fa_int['rss_kib'])})", kib_mib(i_rss), f"bare `dotnet Kv.dll`: {kib_mib(b_rss)}",
        f"{dk / 1024:+.2f} MiB ({dk * 1.024:+.0f} kB)", "≤ 5 MB", verdict(dk, 5120), "—")
    dk2 = inr_rss - b_rss
    row("… same, release built with `ReleaseReadyToRun=false` (control: no R2R on either side)", kib_mib(inr_rss),
        f"bare: {kib_mib(b_rss)}", f"{dk2 / 1024:+.2f} MiB ({dk2 * 1.024:+.0f} kB)", "(none)", "—", "—")
    d_rss = daemon["app_rss_median_kib"]
    sup_rss = daemon["supervisor_rss_median_kib"]
    row(f"The daemon's supervisor (the native launcher), RSS while it supervises (median of {len(daemon['app_rss_kib'])})",
        kib_mib(sup_rss), "run_erl ≈ 1 MiB", "—", "≤ 8 MiB", verdict(sup_rss, 8 * 1024), "—")
    row(f"The daemon's app right after its first answer (median of {len(daemon['app_rss_kib'])})",
        f"{kib_mib(d_rss)} (+ supervisor {kib_mib(sup_rss)})", f"bare: {kib_mib(b_rss)}",
        f"{(d_rss - b_rss) / 1024:+.1f} MiB (app only), {(d_rss + sup_rss - b_rss) / 1024:+.1f} MiB (app + supervisor)",
        "(none)", "—", f"{MIX['rss_mb']} MB")
    row("The daemon's app after its first fast-path rpc (no Roslyn)", kib_mib(daemon["app_rss_after_rpc_median_kib"]),
        f"bare: {kib_mib(b_rss)}", f"{(daemon['app_rss_after_rpc_median_kib'] - b_rss) / 1024:+.1f} MiB", "(none)", "—",
        f"{MIX['rss_mb']} MB")
    row("The daemon's app after its first Roslyn rpc (compiled outside the app: Roslyn not loaded)", kib_mib(daemon_roslyn["app_rss_after_rpc_median_kib"]),
        f"bare: {kib_mib(b_rss)}", f"{(daemon_roslyn['app_rss_after_rpc_median_kib'] - b_rss) / 1024:+.1f} MiB", "(none)", "—",
        f"{MIX['rss_mb']} MB")
    u_before = daemon_unload["app_rss_before_roslyn_median_kib"]
    u_after = daemon_unload["app_rss_after_unload_median_kib"]
    row(f"The daemon's app after scripting unloaded when idle (`RELEASE_SCRIPTING_IDLE={daemon_unload['idle']:g}`, "
        f"median of {len(daemon_unload['app_rss_after_unload_kib'])})", kib_mib(u_after),
        f"before Roslyn (after a fast-path rpc): {kib_mib(u_before)}",
        f"{(u_after - u_before) / 1024:+.1f} MiB (with Roslyn loaded by a remote session: {kib_mib(daemon_unload['app_rss_after_remote_median_kib'])})",
        "≤ +25 MiB", verdict(u_after - u_before, 25 * 1024), "—")
    w("")

    # -- Supervision (issue 8) -----------------------------------------------------------------
    restart = load(os.path.join(work, "restart.json")) if os.path.exists(os.path.join(work, "restart.json")) else None
    if restart:
        w("### Supervision: restart under load, heart")
        w("")
        w(f"`bench/restart_load.py`, {len(restart['runs'])} runs: `PORT=P bin/kv daemon` (the port is a ReleaseSocket the "
          "supervisor holds), 4 client threads each looping connect + `CREATE x` → `OK` (a new connection per request), "
          "a steady phase, then `bin/kv restart` under that load; then, load stopped, `kill -9` of the app and a "
          "round trip every 5 ms until one answers.")
        w("")
        row("Measure", "Relcraft", "Baseline", "Ratio", "Target", "Result", "mix release (issue)")
        row("---", "---", "---", "---", "---", "---", "---")
        row(f"Failed requests across {len(restart['runs'])} restarts under load ({restart['requests_total']} requests)",
            f"{restart['failed_total']}", "—", "—", "0", "PASS" if restart["failed_total"] == 0 and restart["restart_exit_nonzero"] == 0 else "MISS",
            "connections refused meanwhile")
        row("Longest request overlapping the restart (median of runs)", f"{restart['restart_max_ms']:.0f} ms",
            f"steady state: {restart['steady_max_ms']:.0f} ms", f"{restart['restart_over_steady']:.2f}× (worst run)", "≤ 3×",
            verdict(restart["restart_over_steady"], 3), "—")
        row("`bin/kv restart` wall time, under load (median)", f"{restart['restart_s'] * 1000:.0f} ms", "—", "—", "(none)", "—",
            "restart → answering 2149 ms")
        row("Killed app (`kill -9`) → answering again (median)", f"{restart['killed_to_answering_ms']:.0f} ms", "—", "—", "≤ 1 s",
            verdict(restart["killed_to_answering_ms"], 1000), "—")
        w("")

    # -- Upgrades (issue 9) --------------------------------------------------------------------
    up_path, upl_path = os.path.join(work, "upgrade.json"), os.path.join(work, "upgrade-stateless.json")
    if os.path.exists(up_path) and os.path.exists(upl_path):
        up, upl = load(up_path), load(upl_path)
        w("### Upgrades: upgrade and downgrade under load, state carried")
        w("")
        w(f"`bench/upgrade_load.py`, {len(up['runs'])} runs each: a fresh copy of the kv 0.1.0 release, `bin/kv daemon`, "
          "`CREATE b`, 4 client threads each looping connect + `PUT b KEY v` with keys of their own (a new connection "
          "per request), a steady phase, then `bin/kv upgrade kv-0.2.0.tar.gz` (0.2.0 built with `-p:KvStateVersion=2`: "
          "its state has another shape; the upgrade installs it — not installed before — and switches) and "
          "`bin/kv downgrade 0.1.0` under that load; then every key whose PUT was answered `OK` is read back. "
          "Stateless: the same with `Kv__HandOverState=false` (no IReleaseState: the new process is ready before the old drains) "
          "and `CREATE b` as the request (a new version starts without the buckets).")
        w("")
        row("Measure", "Relcraft", "Baseline", "Ratio", "Target", "Result", "mix release / Distillery")
        row("---", "---", "---", "---", "---", "---", "---")
        row(f"Failed requests across {len(up['runs'])} upgrades + downgrades under load ({up['requests_total']} requests; "
            f"stateless: {upl['requests_total']})", f"{up['failed_total']} (stateless: {upl['failed_total']})", "—", "—", "0",
            "PASS" if up["failed_total"] == 0 and upl["failed_total"] == 0 else "MISS", "no upgrade / hot code load")
        row(f"Lost updates: acknowledged PUTs not there after upgrade + downgrade ({up['stored_total']} acknowledged)",
            f"{up['lost_total']}", "—", "—", "0", "PASS" if up["lost_total"] == 0 else "MISS", "— / state by hand-written appups")
        row("`bin/kv upgrade TARBALL` end to end under load, Kv, state carried (median)", f"{up['upgrade_s'] * 1000:.0f} ms",
            "—", "—", "≤ 2 s", verdict(up["upgrade_s"], 2), "—")
        row("`bin/kv downgrade 0.1.0` under load, state carried (median)", f"{up['downgrade_s'] * 1000:.0f} ms", "—", "—", "(none)", "—", "—")
        row("Longest request during the switch, stateless (median of runs)", f"{upl['switch_max_ms']:.0f} ms",
            f"steady state: {upl['steady_max_ms']:.0f} ms", f"{upl['switch_over_steady']:.2f}× (worst run)", "≤ 3×",
            verdict(upl["switch_over_steady"], 3), "—")
        row("Longest request during the switch, state carried (median of runs)", f"{up['switch_max_ms']:.0f} ms",
            f"steady state: {up['steady_max_ms']:.0f} ms", f"{up['switch_over_steady']:.2f}× (worst run)", "(none: requests wait "
            "in the backlog while the old one drains and exports)", "—", "—")
        w("")

    w("Further numbers (no targets):")
    w("")

    def cpu(r):
        return r["user"] + r["system"]
    w(f"* CPU time (user + system, mean; steadier than wall time when the machine is busy), cold: release "
      f"{secs(cpu(rel_cold))}, release without R2R {secs(cpu(relnr_cold))}, self-contained {secs(cpu(sc_cold))}, "
      f"self-contained R2R {secs(cpu(scr2r_cold))} — ratios (a) {cpu(rel_cold) / cpu(sc_cold):.2f}×, "
      f"(b) {cpu(relnr_cold) / cpu(sc_cold):.2f}×, (c) {cpu(rel_cold) / cpu(scr2r_cold):.2f}×; no change: release "
      f"{secs(cpu(rel_warm))} vs self-contained {secs(cpu(sc_warm))} ({cpu(rel_warm) / cpu(sc_warm):.2f}×).")
    w(f"* What ReadyToRun costs a cold build (median wall time): {secs(rel_cold['median'] - relnr_cold['median'])} in the "
      f"release ((a) − (b)), {secs(scr2r_cold['median'] - sc_cold['median'])} in a self-contained publish.")
    w(f"* Sizes: release without ReadyToRun {mib(size['SIZE_RELNR'])}, the `kv` release {mib(size['SIZE_KV'])}, "
      f"self-contained publish with ReadyToRun {mib(size['SIZE_SCR2R'])}, plain framework-dependent publish "
      f"(the bare app) {mib(size['SIZE_FRAMEWORK_DEPENDENT'])}.")
    parts = []
    for entry in facts["SIZE_BREAKDOWN"].split("; "):
        sz, name = entry.split(" ", 1)
        parts.append(f"`{name}/` {mib(int(sz))}")
    w("* What the release directory holds (`du -sb` each): " + ", ".join(parts) + ".")
    w(f"* `bin/kv daemon` until it returns (the supervisor waits for the app's readiness): median "
      f"{ms(daemon['daemon_median'])}, p90 {ms(daemon['daemon_p90'])} over {len(daemon['daemon_times'])} starts; the "
      f"second rpc on each fresh daemon: median {ms(daemon['rpc_second_median'])}.")
    w(f"* Roslyn given back: {len(daemon_unload['unload_wait'])} fresh daemons with `RELEASE_SCRIPTING_IDLE="
      f"{daemon_unload['idle']:g}`; after a remote session (which loads Roslyn into the app; rpc does not) the log said `scripting unloaded` within median "
      f"{secs(statistics.median(daemon_unload['unload_wait']))} (the idle time, then the collections); first such line: "
      f"`{daemon_unload['unload_log_lines'][0]}`.")
    w(f"* Start → first answer, median (min / max): release {ms(fa_rel['median'])} ({ms(fa_rel['min'])} / "
      f"{ms(fa_rel['max'])}), interactive {ms(fa_int['median'])} ({ms(fa_int['min'])} / {ms(fa_int['max'])}), "
      f"interactive without R2R {ms(fa_intnr['median'])} ({ms(fa_intnr['min'])} / {ms(fa_intnr['max'])}), "
      f"bare {ms(fa_bare['median'])} ({ms(fa_bare['min'])} / {ms(fa_bare['max'])}), self-contained "
      f"{ms(fa_sc['median'])} ({ms(fa_sc['min'])} / {ms(fa_sc['max'])}).")
    w(f"* RSS right after the first answer, median: release (embedded) {kib_mib(fa_rel['rss_median_kib'])}, "
      f"self-contained {kib_mib(fa_sc['rss_median_kib'])}.")
    w(f"* Requests after boot, medians (first / second / warm = median of requests 3–21 on the same connection): "
      f"embedded {ms2(rq_rel['first_median'])} / {ms2(rq_rel['second_median'])} / {ms2(rq_rel['warm_median'])}, "
      f"interactive {ms2(rq_int['first_median'])} / {ms2(rq_int['second_median'])} / {ms2(rq_int['warm_median'])}, "
      f"bare {ms2(rq_bare['first_median'])} / {ms2(rq_bare['second_median'])} / {ms2(rq_bare['warm_median'])}; "
      f"first-request p90: embedded {ms2(rq_rel['first_p90'])}, interactive {ms2(rq_int['first_p90'])}, "
      f"bare {ms2(rq_bare['first_p90'])}.")
    if facts.get("COLD_BUG") == "1":
        w("")
        w("> **The truly cold release build failed** (see *Cold-build check* at the end). So that the cold")
        w("> numbers measure a successful build, the cold `--prepare` of **every** command recreates an empty")
        w("> `Kv/bin/` after deleting `bin/` and `obj/`.")
    w("")

    # -- Why the misses -----------------------------------------------------------------------
    # Emitted only for rows that MISS in this run. The numbers quoted from "by hand" come from a one-off
    # investigation (2026-11-22, on this machine at load ~1) that bench/run.sh does not repeat.
    why = []
    r2r_note = ("**Common to the Roslyn misses: a cold Roslyn.** The agent, Relcraft.Scripting and Roslyn (its netstandard2.0 "
                "build) are compiled ReadyToRun for the release's runtime major (`tools/relcraft/net10.0-RID/`; here " + facts["RELEASE_RUNTIME"] + "). "
                "eval and the rpc compile process load it into a fresh process, not collectible, so that code runs; what is left "
                "is Roslyn's own cold start: loading its types and binding its ReadyToRun code (by hand, `perf`: 46 % of the "
                "process in the runtime itself, 14 % in the JIT for about 2,600 generic instantiations ReadyToRun cannot hold, "
                "20 % in the kernel mapping pages). A daemon's remote session loads Roslyn into a collectible context, which "
                "runs no ReadyToRun code (every method JIT-compiled, fully optimised) — that is why rpc compiles elsewhere.")
    control_miss = daemon_roslyn["rpc_first_median"] > 0.700 or ev_roslyn["median"] > 0.900
    r2r_ref = "(see *Common to the Roslyn misses* above)" if control_miss else ""
    if r_a > 1.10:
        why.append(f"**Cold assembly (a), {rx(r_a, 1.10)}.** ReadyToRun: the release compiles the app and every assembly "
                   "it ships ReadyToRun (`_CreateR2RImages` below), a plain self-contained publish does not. Without it "
                   f"(b) the release takes {rx(r_b, 1.10)} a self-contained publish; against a self-contained publish that "
                   f"does the same ReadyToRun work (c) it takes {rx(r_c, 1.10)}.")
    if r_b > 1.10 or r_c > 1.10:
        asm = perf_entry(j("perf-release.log"), "Target", "_RelcraftAssemble")
        why.append(f"**Cold assembly, like with like ((b) {rx(r_b, 1.10)}, (c) {rx(r_c, 1.10)}).** On top of the publish, the "
                   f"release assembles itself (`_RelcraftAssemble`: {asm} ms in the performance summary below) and "
                   "resolves its runtime; the rest of a difference this small is within the noise of five cold builds "
                   "on a shared machine (compare the CPU-time ratios under *Further numbers*).")
    if r_size > 1.05:
        tools = [e for e in facts["SIZE_BREAKDOWN"].split("; ") if e.split(" ", 1)[1].startswith("lib/relcraft-")]
        tools_b = int(tools[0].split(" ", 1)[0]) if tools else 0
        why.append(f"**Release size, {rx(r_size, 1.05)}.** Roslyn: `lib/relcraft-VSN/` is {mib(tools_b)}, almost all of it "
                   f"Roslyn and its dependencies, compiled ReadyToRun (which roughly doubles an assembly's size). "
                   f"`-p:ReleaseScripting=false` leaves them out and the release is then {rx(r_nos, 1.05)} a self-contained "
                   "publish.")
    r2r_at = len(why)  # the shared note goes before the launcher and control-channel points
    if p["median"] - vfloor > 0.015 or ping["median"] - vfloor > 0.015 or rpc["median"] - vfloor > 0.025:
        why.append(f"**`pid`/`ping`/warm `rpc` above the floor (+{ms(p['median'] - vfloor)}, +{ms(ping['median'] - vfloor)}, "
                   f"+{ms(rpc['median'] - vfloor)}).** The native launcher starts in {ms(native_floor['median'])}; the rest "
                   "is the connection, the HMAC handshake (computed by the launcher's own SHA-256, no OpenSSL) and the daemon's answer. On a "
                   "shared machine a few milliseconds over are scheduling noise from the other builds.")
    if daemon_roslyn["rpc_first_median"] > 0.700:
        why.append(f"**First Roslyn rpc after a fresh daemon, {ms(daemon_roslyn['rpc_first_median'])}.** The app answers that it "
                   "has no Roslyn loaded; the launcher starts a compile process of the release (its runtime and the app's "
                   "assemblies, no boot configuration, Main not run), which compiles the expression with Roslyn's ReadyToRun "
                   "build and hands back the image; the app runs it in a collectible context of its own. Nearly all of the "
                   f"time is that process's cold Roslyn {r2r_ref}: a Roslyn eval (the same process plus boot configuration) "
                   f"takes {ms(ev_roslyn['median'])} in this run. Before (Roslyn loaded into the app's collectible context: "
                   "every method JIT-compiled fully optimised) this rpc took 3.6 s and the app kept about 70 MiB more until "
                   "idle; now the app grows by "
                   f"{(daemon_roslyn['app_rss_after_rpc_median_kib'] - daemon_roslyn['app_rss_median_kib']) / 1024:.0f} MiB.")
    if ev_static["median"] > 0.250:
        why.append(f"**Static-call eval, {ms(ev_static['median'])}.** A fresh app process (runtime start, boot "
                   "configuration, loading the app's assemblies) that invokes the method by reflection; no Roslyn. "
                   f"{jit_static[0] if jit_static else '?'} methods are JIT-compiled, "
                   f"{jit_static[1] if jit_static else '?'} of them the agent's.")
    if ev_roslyn["median"] > 0.900:
        why.append(f"**Roslyn eval, {ms(ev_roslyn['median'])}.** A fresh app process that loads Roslyn and compiles one "
                   f"script: {jit_roslyn[0] if jit_roslyn else '?'} methods JIT-compiled, "
                   f"{jit_roslyn[2] if jit_roslyn else '?'} of them Roslyn's (generic instantiations over framework types "
                   f"that ReadyToRun cannot hold, and the script's own code) {r2r_ref}. With Roslyn's IL build (before) "
                   "this eval took 1.57 s.")
    if r_fa > 1.10 or r_fa90 > 1.10:
        why.append("**Start → first answer.** See the interleaved runs above; a miss of a few percent on a busy "
                   "machine is within the noise of single starts.")
    if lo > 0:
        why.append(f"**Agent's start-time cost.** The interval for interactive − bare lies above 0 "
                   f"({lo * 1000:+.1f} to {hi * 1000:+.1f} ms): what `RELEASE_MODE=interactive bin/kv start` adds to "
                   "the bare app — the `bin/kv` shell script, the agent (a startup hook that resolves `runtime.json` "
                   "and opens the control socket, itself JIT-compiled: ReadyToRun for the wrong runtime, see above) — "
                   "is measurable here.")
    if dk > 5120:
        why.append(f"**Agent's idle RSS, {dk / 1024:+.2f} MiB.** By hand, comparing `/proc/PID/smaps` by mapping "
                   "(interactive vs bare, median of 3 each, +4.7 MiB in all): the agent's own dependencies — "
                   "System.Text.RegularExpressions.dll +0.9 MiB, System.Text.Json.dll +0.4 MiB, "
                   "System.IO.Pipelines.dll +0.24 MiB, Relcraft.Agent.dll +0.2 MiB, more of CoreLib and libcoreclr "
                   "+0.6 MiB — and about 1.5 MiB more of the app's Microsoft.Extensions.* images, which are ReadyToRun in "
                   "the release (larger images, more pages touched) and IL in the bare app; that part is ReadyToRun's, "
                   "not the agent's (the control row without ReadyToRun shows "
                   f"{dk2 / 1024:+.2f} MiB).")
    if rq_rel["first_median"] > rq_bare["first_median"]:
        why.append(f"**First request, embedded {ms2(rq_rel['first_median'])} vs bare {ms2(rq_bare['first_median'])}.** "
                   f"The per-round difference is {dq * 1000:+.2f} ms with an interval of [{loq * 1000:+.2f}, "
                   f"{hiq * 1000:+.2f}] ms. By hand (`DOTNET_JitDisasmSummary=1`, one start each): in embedded mode no "
                   "method at all is JIT-compiled during the first request, while interactive mode compiles 16 and the "
                   "bare app 17 (the async state machines of the accept and `ReadLineAsync` path). So what the first "
                   "request costs over a warm one (milliseconds against "
                   f"{ms2(rq_rel['warm_median'])}) is first-call work without the JIT — binding ReadyToRun code's "
                   "indirection cells, loading types, waking thread-pool threads — which every variant pays; JIT-compiling "
                   "16 or 17 small methods is too little to separate the medians on this machine.")
    if r_warm > 1.05:
        rel_t = sorted((t for t in perf_summary(j("perf-nochange.log"), "Target", 10000)
                        if t[1].startswith("_Relcraft") or "Release" in t[1]), reverse=True)
        r2r_t = sorted((t for t in perf_summary(j("perf-nochange.log"), "Target", 10000)
                        if "ReadyToRun" in t[1] or "R2R" in t[1]), reverse=True)
        fmt = lambda ts: ", ".join(f"`{t[1]}` {t[0]} ms" for t in ts[:4]) or "none over 0 ms"  # noqa: E731
        why.append(f"**No-change assembly, {rx(r_warm, 1.05)} (+{ms(rel_warm['median'] - sc_warm['median'])}).** What a "
                   f"no-change release build does on top of a publish, from one more no-change build with "
                   f"`-clp:PerformanceSummary`: Relcraft's targets ({fmt(rel_t)}) and ReadyToRun's up-to-date "
                   f"checks ({fmt(r2r_t)}), which a plain publish does not run. Against a total of "
                   f"{secs(sc_warm['median'])}, a few tens of milliseconds is also the size of the noise here.")
    caveats = []
    if lo <= 0 < lo2:
        caveats.append(f"**The agent's start-time PASS rests on ReadyToRun.** With the app not compiled ReadyToRun on "
                       f"either side (the control row), `RELEASE_MODE=interactive bin/foo start` is {d2 * 1000:+.1f} ms "
                       f"[{lo2 * 1000:+.1f}, {hi2 * 1000:+.1f}] slower to answer than the bare app. By hand (that release, "
                       "12 interleaved rounds, quiet machine): the app run directly on the release's runtime and "
                       "runtimeconfig, without the agent, answers as fast as bare (211 vs 213 ms); adding the agent's "
                       "startup hook costs ≈ 28 ms and ≈ 3.3 MiB (it resolves `runtime.json` and opens the control "
                       "socket, and its 37 methods are JIT-compiled: ReadyToRun for the wrong runtime); going through "
                       "`bin/foo start` costs ≈ 25 ms more (the script runs `mkdir` twice, `chmod`, `grep` and `mv` "
                       "before it execs the app). In the default release the app's own ReadyToRun code saves about as "
                       "much as these cost, which is why the row above shows no difference.")
    if control_miss or caveats:
        why.insert(r2r_at, r2r_note)
    if why or caveats:
        w("## Why the misses" + (", and a caveat" if caveats else ""))
        w("")
        w("One paragraph per MISS in this run" + (" and one for a PASS that needs a caveat" if caveats else "") +
          ". Numbers introduced with \"by hand\" come from a one-off")
        w("investigation on this machine (2026-11-22, at load ≈ 1) that `bench/run.sh` does not repeat; everything")
        w("else is from this run.")
        w("")
        for para in why + caveats:
            w("* " + para)
        w("")

    # -- Where the time goes ------------------------------------------------------------------
    w("## Where the cold builds spend their time")
    w("")
    w("The first build in each copy (no `bin/`, no `obj/`: as cold as the timed runs; the release's is also")
    w("the first use of the freshly packed Relcraft.Sdk), with `-clp:PerformanceSummary`. Times are inclusive")
    w("and, with two MSBuild nodes, can overlap; `MSBuild`/`ResolveProjectReferences` include building")
    w("Kv.Storage. `_CreateR2RImages` is the ReadyToRun compilation of the app and every assembly it ships")
    w("(including the Microsoft.Extensions.* packages): the cost rows (b) and (c) take out.")
    w("")
    for label, log, key in (("`dotnet publish Kv.csproj -p:Release=foo`", "perf-release.log", "PERF_RELEASE"),
                            ("`dotnet publish Kv.csproj -c Release -r linux-x64 --self-contained -o …`",
                             "perf-selfcontained.log", "PERF_SELFCONTAINED")):
        path = j(log)
        w(f"{label} — wall time {facts.get(key, '?')} s")
        w("")
        w("| Target | ms | calls | | Task | ms | calls |")
        w("|---|---:|---:|---|---|---:|---:|")
        targets = perf_summary(path, "Target", 6)
        tasks = perf_summary(path, "Task", 6)
        for i in range(max(len(targets), len(tasks))):
            t = targets[i] if i < len(targets) else ("", "", "")
            k = tasks[i] if i < len(tasks) else ("", "", "")
            w(f"| {t[1]} | {t[0]} | {t[2]} | | {k[1]} | {k[0]} | {k[2]} |")
        w("")
    tar_task = perf_entry(j("perf-tar.log"), "Task", "TarRelease")
    w(f"The tar step, from `-p:Release=kv` with only the tarball deleted (wall time {facts.get('PERF_TAR', '?')} s): "
      f"`_RelcraftTar` {tar_ms} ms, task `TarRelease` {tar_task} ms.")
    w("")

    # -- Machine ------------------------------------------------------------------------------
    w("## Machine")
    w("")
    w(f"* `nproc`: {facts['NPROC']}; CPU: {facts['CPU']}; shared with other engineers' builds (see the noise warning)")
    w("* `free -m`:")
    w("")
    w("```")
    w(facts["FREE"].replace("\\n", "\n"))
    w("```")
    w("")
    w(f"* Kernel: {facts['KERNEL']}; .NET SDK {facts['DOTNET_SDK']}; runtime used by `dotnet Kv.dll`: {facts['DOTNET_RUNTIME']}; "
      f"runtime in the release: {facts['RELEASE_RUNTIME']}; hyperfine {facts['HYPERFINE']}; Python {facts['PYTHON']}")
    w(f"* Repository: {facts['GIT']} (the SDK is packed from the working tree as it was when the script ran)")
    w(f"* Environment: {facts['ENVIRONMENT']}")
    w("")

    # -- Exactly what was run -----------------------------------------------------------------
    w("## Exactly what was run")
    w("")
    w(f"Work directory `$W` = `{facts['WORK']}` (deleted afterwards), repository `$ROOT` = `{facts['ROOT']}`.")
    w("")
    w("```sh")
    w(facts["COMMANDS"].replace("\\n", "\n"))
    w("```")
    w("")
    w("`$W/nuget.config` adds the package source `" + facts["PACKAGES"] + "` (absolute path); `$W/global.json` is a copy")
    w("of the repository's (SDK " + facts["GLOBAL_SDK"] + ", Relcraft.Sdk " + facts["KV_SDK_VERSION"] + ").")
    w("`$W/rel`, `$W/relnr`, `$W/sc`, `$W/scr2r` and `$W/fdd` are separate copies of `samples/Kv`,")
    w("`samples/Kv.Storage` and `samples/Directory.Build.props`, so no two kinds of build share an `obj/`")
    w("(each restore shape stays put between runs). The `kv` release and the `ReleaseScripting=false` build")
    w("run in `$W/rel` after every `foo` timing there is done.")
    w("")
    w("Start → first answer is measured by `bench/first_answer.py`: it takes a free port, starts the command")
    w("with `Kv__Port=PORT` and `PORT=PORT` in its environment (plus the variant's own `NAME=VALUE` words) and")
    w("output to `/dev/null`, and every 5 ms tries to connect and send `CREATE x`; the time until the answer")
    w("`OK` is recorded together with the process's `VmRSS`. It then sends SIGTERM to the pid it started and")
    w("waits for it. The variants are interleaved run by run, after one unrecorded warm-up round.")
    w("`bin/kv start` execs the app, so that pid is the app itself.")
    w("")
    w("The first request after boot is measured by `bench/first_request.py`, started the same way: it polls")
    w("until a connection is established (sending nothing), waits "
      f"{req['settle']:.1f} s on the open connection so that start-up is")
    w("over and the server has accepted it, then times only the first `CREATE x` → `OK` round trip (from just")
    w("before sending to the end of the answer), then 20 more on the same connection.")
    w("")
    w("The daemon numbers come from `bench/daemon_rss.py`: for each fresh `bin/kv daemon`, `VmRSS` of the pid")
    w("`bin/kv pid` prints (the app; the supervisor is its parent) right after its first `CREATE` answer, then")
    w("two timed `bin/kv rpc` calls, then `VmRSS` again; for the unload, one `bin/kv remote` session (which loads")
    w("Roslyn into the daemon), `VmRSS`, the wait for the log's `scripting unloaded`, and `VmRSS` once more.")
    w("")
    w("Cold-build check (first build in `$W/rel`, no `bin/` yet): " + facts["COLD_CHECK"])
    w("")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
