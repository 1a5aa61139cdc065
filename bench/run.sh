#!/usr/bin/env bash
# bench/run.sh: Relcraft's benchmark. One command does everything and writes docs/benchmarks.md:
#   1. packs the SDK into artifacts/packages (like build/run-sample.sh) and drops the cached copy,
#   2. copies samples/Kv + samples/Kv.Storage into a temporary work directory (five copies: release,
#      release without ReadyToRun, self-contained, self-contained ReadyToRun, framework-dependent),
#      so the repository's bin/ and obj/ are never touched,
#   3. times cold and no-change assembly of the `foo` release (no tar step) against a plain
#      self-contained publish, with and without ReadyToRun on either side (hyperfine), and the
#      `kv` release's tar step on its own,
#   4. measures sizes (release dir with and without Roslyn, self-contained publish, tarball),
#   5. times the launcher's cheap commands (version, pid, status) and the control channel
#      (ping, rpc, eval) with hyperfine,
#   6. times start -> first answer (CREATE x -> OK) and reads VmRSS for bin/kv start (embedded and
#      interactive), dotnet Kv.dll and ./Kv; then the first request after boot on its own,
#   7. starts fresh daemons to time their first rpc (fast path; then one that needs Roslyn) and read VmRSS,
#      and, with RELEASE_SCRIPTING_IDLE=2, VmRSS once the daemon has unloaded Roslyn again,
#      restart under load, and upgrade/downgrade to a kv 0.2.0 (other state shape) under load (7c),
#   8. compares everything with the targets from the issue (PASS/MISS), and
#   9. stops every process it started and deletes the work directory (trap), however it ends.
#
# Knobs (environment): COLD_RUNS (5) WARM_RUNS (10) TAR_RUNS (3) LAUNCHER_RUNS (40)
#                      CONTROL_RUNS (30) EVAL_RUNS (10) START_RUNS (20) REQUEST_RUNS (20)
#                      DAEMON_RUNS (7) UNLOAD_RUNS (3) RESTART_RUNS (5) UPGRADE_RUNS (3) BENCH_OUTPUT (docs/benchmarks.md)
# Only 127.0.0.1 is used; ports are picked free for every start.
set -euo pipefail

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
BENCH=$ROOT/bench
COLD_RUNS=${COLD_RUNS:-5}
WARM_RUNS=${WARM_RUNS:-10}
TAR_RUNS=${TAR_RUNS:-3}
LAUNCHER_RUNS=${LAUNCHER_RUNS:-40}
CONTROL_RUNS=${CONTROL_RUNS:-30}
EVAL_RUNS=${EVAL_RUNS:-10}
START_RUNS=${START_RUNS:-20}
REQUEST_RUNS=${REQUEST_RUNS:-20}
DAEMON_RUNS=${DAEMON_RUNS:-7}
UNLOAD_RUNS=${UNLOAD_RUNS:-3}
RESTART_RUNS=${RESTART_RUNS:-5}
UPGRADE_RUNS=${UPGRADE_RUNS:-3}
OUT=${BENCH_OUTPUT:-$ROOT/docs/benchmarks.md}

# say STEP: a heading on stderr; the load average at that moment goes into the report.
LOADS=
say() {
  printf '\n==> %s\n' "$*" >&2
  LOADS+="${1%%[ .]*} $(cut -d' ' -f1 /proc/loadavg), "
}
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

if ! command -v hyperfine >/dev/null 2>&1; then
  die "hyperfine is not installed. Install it with 'sudo apt-get install -y hyperfine' (Debian 12+/Ubuntu 22.04+),
  'cargo install --locked hyperfine', or a binary from https://github.com/sharkdp/hyperfine/releases"
fi
for tool in dotnet python3 setsid du git; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not on PATH"
done

# No MSBuild node reuse and no MSBuild server: every build's worker processes end with the build, so
# nothing of ours outlives the script (and our builds never borrow another engineer's idle nodes).
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1
# bench/ stays free of __pycache__.
export PYTHONDONTWRITEBYTECODE=1

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/relcraft-bench.XXXXXX")
CHILD=
KV=
DAEMON_PIDS=

# is_ours PID: the process exists and its command line mentions our work directory.
is_ours() {
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$WORK"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$CHILD" ]; then
    # The step in flight runs in its own process group (setsid): stop it and whatever it started.
    kill -TERM -- "-$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  if [ -n "$KV" ] && [ -x "$KV" ]; then "$KV" stop >/dev/null 2>&1 || true; fi
  local pid
  for pid in $DAEMON_PIDS; do
    if is_ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run CMD...: a long step, in its own process group so that cleanup can stop all of it.
run() {
  local rc=0
  setsid "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  return "$rc"
}

# retry CMD...: CMD, and once more if it fails. A build can fail for reasons that are not ours on a
# shared machine (another engineer repacking Relcraft.Sdk or dropping its NuGet cache entry mid-build).
retry() {
  "$@" && return 0
  printf 'bench/run.sh: that failed; trying the whole step once more\n' >&2
  "$@"
}

# shq ARGS...: the arguments as one shell line for docs/benchmarks.md: double quotes where they are
# safe, so that the work directory, shown as $W, expands when the line is pasted; then every
# argument equal to a value given to showvar appears as "$NAME".
SHOWN=()
SHOWN_PATHS=()
shq() {
  local a i out=''
  for a in "$@"; do
    for ((i = 0; i < ${#SHOWN[@]}; i += 2)); do
      if [ "$a" = "${SHOWN[i + 1]}" ]; then a="\"\$${SHOWN[i]}\""; out+="$a "; continue 2; fi
    done
    case $a in
      *[\"\`\\\$!]*) a="'${a//\'/\'\\\'\'}'" ;;
      '' | *[!A-Za-z0-9_./=:@%+,-]*) a="\"$a\"" ;;
    esac
    out+="$a "
  done
  out=${out% }
  out=${out//"$WORK"/\$W}
  for ((i = 0; i < ${#SHOWN_PATHS[@]}; i += 2)); do
    out=${out//"$(w "${SHOWN_PATHS[i + 1]}")"/\$${SHOWN_PATHS[i]}}
  done
  printf '%s' "$out"
}

# w TEXT: TEXT with the work directory shown as $W.
w() { printf '%s' "${1//"$WORK"/\$W}"; }

# showvar NAME VALUE: NAME="VALUE" goes into the command list, and shq shows VALUE as "$NAME".
showvar() {
  SHOWN+=("$1" "$2")
  record "$1=\"$(w "$2")\""
}
# showpath NAME PATH: NAME=PATH goes into the command list, and shq shows PATH inside arguments as $NAME.
showpath() {
  SHOWN_PATHS+=("$1" "$2")
  record "$1=$(w "$2")"
}

COMMANDS=
record() { COMMANDS+="$*"$'\n'; }

FACTS=$WORK/facts.txt
fact() { local v=$2; printf '%s=%s\n' "$1" "${v//$'\n'/\\n}" >>"$FACTS"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------------------------------------
say "1. Packing Relcraft.Sdk into artifacts/packages"
VERSION=$(sed -n 's/.*"Relcraft.Sdk": *"\([^"]*\)".*/\1/p' "$ROOT/global.json")
[ -n "$VERSION" ] || die "no msbuild-sdks Relcraft.Sdk version in $ROOT/global.json"
GLOBAL_SDK=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$ROOT/global.json" | head -n 1)
cd "$ROOT"
# Other builds in this repository (tests, other engineers) share src/*/obj; a pack that collides with
# one of them fails with errors like NETSDK1047, so it gets three tries.
for attempt in 1 2 3; do
  if run dotnet pack -c Release -o artifacts/packages -p:Version="$VERSION" --nologo -v:q >"$WORK/pack.log" 2>&1; then
    break
  fi
  grep -E 'error' "$WORK/pack.log" | head -n 5 >&2 || true
  [ "$attempt" -lt 3 ] || die "dotnet pack failed three times (log above)"
  printf 'dotnet pack failed (attempt %s of 3; another build may be using src/*/obj); retrying in 15 s\n' "$attempt" >&2
  sleep 15
done
record "ROOT=$ROOT"
record "W=$WORK   # mktemp -d; deleted at the end"
record "cd \"\$ROOT\" && $(shq dotnet pack -c Release -o artifacts/packages -p:Version="$VERSION")"
# MSBuild's SDK resolver and NuGet cache Relcraft.Sdk and Relcraft.Runtime (Kv references it) by version:
# drop the cached copies so the fresh pack is used.
NUGET_CACHE=${NUGET_PACKAGES:-$HOME/.nuget/packages}
rm -rf "$NUGET_CACHE/relcraft.sdk/$VERSION" "$NUGET_CACHE/relcraft.runtime/$VERSION"
record "rm -rf ~/.nuget/packages/relcraft.sdk/$VERSION ~/.nuget/packages/relcraft.runtime/$VERSION"


# ---------------------------------------------------------------------------------------------
say "2. Copying the Kv sample into $WORK"
copy_project() { # SRC DST: a project folder without its build output
  local f
  mkdir -p "$2"
  for f in "$1"/* "$1"/.[!.]*; do
    [ -e "$f" ] || continue
    case ${f##*/} in bin | obj | "bin\\") continue ;; esac
    cp -R "$f" "$2/"
  done
}
for v in rel relnr sc scr2r fdd; do
  copy_project "$ROOT/samples/Kv" "$WORK/$v/Kv"
  copy_project "$ROOT/samples/Kv.Storage" "$WORK/$v/Kv.Storage"
  cp "$ROOT/samples/Directory.Build.props" "$WORK/$v/"
done
cp "$ROOT/global.json" "$WORK/global.json"
cat >"$WORK/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="relcraft-local" value="$ROOT/artifacts/packages" />
  </packageSources>
</configuration>
EOF
record "# \$W/{rel,relnr,sc,scr2r,fdd}/: copies of samples/Kv, samples/Kv.Storage, samples/Directory.Build.props (no bin/, obj/)"
record "# \$W/global.json: copy of \$ROOT/global.json; \$W/nuget.config: package source \$ROOT/artifacts/packages"

# The timed release is `foo`: the sample's `kv` release also has a tar step (Steps="assemble;tar"),
# which a self-contained publish has no counterpart for; the tar step is timed on its own (3e).
FOO_DIR=$WORK/rel/Kv/bin/rel/foo
FOONR_DIR=$WORK/relnr/Kv/bin/rel/foo
FOONR=$FOONR_DIR/bin/foo
REL_DIR=$WORK/rel/Kv/bin/rel/kv
KV=$REL_DIR/bin/kv
NOSCRIPT_DIR=$WORK/noscript/foo
SC_OUT=$WORK/sc-out
SCR2R_OUT=$WORK/scr2r-out
FDD_OUT=$WORK/fdd-out
REL_CMD="cd $WORK/rel/Kv && dotnet publish Kv.csproj -p:Release=foo"
RELNR_CMD="cd $WORK/relnr/Kv && dotnet publish Kv.csproj -p:Release=foo -p:ReleaseReadyToRun=false"
SC_CMD="cd $WORK/sc/Kv && dotnet publish Kv.csproj -c Release -r linux-x64 --self-contained -o $SC_OUT"
SCR2R_CMD="cd $WORK/scr2r/Kv && dotnet publish Kv.csproj -c Release -r linux-x64 --self-contained -p:PublishReadyToRun=true -o $SCR2R_OUT"
FDD_CMD="cd $WORK/fdd/Kv && dotnet publish Kv.csproj -c Release -o $FDD_OUT"
KVREL_CMD="cd $WORK/rel/Kv && dotnet publish Kv.csproj -p:Release=kv"
NOSCRIPT_CMD="cd $WORK/rel/Kv && dotnet publish Kv.csproj -p:Release=foo -p:ReleaseScripting=false -p:ReleasePath=$NOSCRIPT_DIR/"
showvar REL "$REL_CMD"
showvar RELNR "$RELNR_CMD"
showvar SC "$SC_CMD"
showvar SCR2R "$SCR2R_CMD"
showvar FDD "$FDD_CMD"
showvar KVREL "$KVREL_CMD"
showvar NOSCRIPT "$NOSCRIPT_CMD"
showpath KV "$KV"
showpath FOONR "$FOONR"

# interleaved NAME ROUNDS WARMUP HYPERFINE_ARGS...: ROUNDS rounds of `hyperfine --runs 1 HYPERFINE_ARGS`, so
# every command runs once per round, in order (a, b, c, a, b, c, ...): a build takes seconds and the
# background load drifts over minutes, and one hyperfine --runs N would time all of a before any of b.
# Round r exports $WORK/hyperfine-NAME-r.json; report.py merges the rounds. Round 1 also warms up
# every command WARMUP times (0: none).
interleaved() {
  local name=$1 rounds=$2 warmup=$3 i
  shift 3
  local shown
  shown=$(shq hyperfine --runs 1 "$@")
  local line="for i in \$(seq $rounds); do $shown --export-json \$W/hyperfine-$name-\$i.json; done"
  if [ "$warmup" = 0 ]; then record "$line"; else record "$line   # round 1 also with --warmup $warmup"; fi
  for ((i = 1; i <= rounds; i++)); do
    printf -- '--- round %s of %s\n' "$i" "$rounds" >&2
    local extra=()
    if [ "$i" = 1 ] && [ "$warmup" != 0 ]; then extra=(--warmup "$warmup"); fi
    retry run hyperfine --runs 1 ${extra[@]+"${extra[@]}"} "$@" --export-json "$WORK/hyperfine-$name-$i.json"
  done
}

# perf NAME CMD: CMD with -clp:PerformanceSummary, log in $WORK/perf-NAME.log; its wall time (s) in
# PERF_S. (Not called as $(perf ...): the build must run in this shell, so that cleanup can stop it.)
PERF_S=
perf() {
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  run sh -c "$2 -clp:PerformanceSummary" >"$WORK/perf-$1.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  PERF_S=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$t1")
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
say "3a. Cold-build check: the first release build, with no bin/ at all (-clp:PerformanceSummary)"
record "sh -c \"\$REL -clp:PerformanceSummary\"   # the cold-build check: the very first build, no bin/ at all"
COLD_BUG=0
COLD_STRAY=no
PERF_RELEASE=
if perf release "$REL_CMD" && [ -x "$FOO_DIR/bin/foo" ]; then
  PERF_RELEASE=$PERF_S
  COLD_CHECK="succeeded."
else
  COLD_BUG=1
  first_error=$(grep -E 'error [A-Z]+[0-9]+' "$WORK/perf-release.log" | sed -e 's/^[^:]*: *//' -e 's/ \[[^]]*\]$//' |
    head -n 2 | paste -sd ' ' - | cut -c1-400 || true)
  first_error=$(w "$first_error")
  stray=no
  [ -d "$WORK/rel/Kv/bin\\" ] && stray=yes
  COLD_STRAY=$stray
  COLD_CHECK="**failed**: \`${first_error:-see log}\` (directory \`Kv/bin\\\` created: $stray)."
  printf 'The truly cold release build failed:\n  %s\n' "${first_error:-?}" >&2
  printf 'Working around it for the measurements: the cold prepare recreates an empty Kv/bin/.\n' >&2
fi

# Cold prepare: remove bin/ and obj/ of both projects (and the -o output). With the bug above,
# leave an empty Kv/bin/ so that the release build can succeed; every command gets the same.
prep() { # DIR [EXTRA_DIR]
  local p="rm -rf '$1/Kv/bin' '$1/Kv/obj' '$1/Kv/bin\\' '$1/Kv.Storage/bin' '$1/Kv.Storage/obj'"
  [ $# -lt 2 ] || p+=" '$2'"
  [ "$COLD_BUG" = 0 ] || p+=" && mkdir '$1/Kv/bin'"
  printf '%s' "$p"
}
PREP_REL=$(prep "$WORK/rel")
PREP_RELNR=$(prep "$WORK/relnr")
PREP_SC=$(prep "$WORK/sc" "$SC_OUT")
PREP_SCR2R=$(prep "$WORK/scr2r" "$SCR2R_OUT")
showvar PREP_REL "$PREP_REL"
showvar PREP_RELNR "$PREP_RELNR"
showvar PREP_SC "$PREP_SC"
showvar PREP_SCR2R "$PREP_SCR2R"

say "3b. Priming: the self-contained and the framework-dependent publish (their first builds; the first is cold too)"
if [ "$COLD_BUG" = 1 ]; then
  sh -c "$PREP_REL"
  perf release "$REL_CMD" || { tail -n 30 "$WORK/perf-release.log" >&2; die "release build failed"; }
  PERF_RELEASE=$PERF_S
  record "sh -c \"\$PREP_REL\"; sh -c \"\$REL -clp:PerformanceSummary\""
fi
# (The release build above already put everything the other copies restore into the NuGet cache; the
# cold runs below delete bin/ and obj/ before every run anyway, so $RELNR and $SCR2R need no priming.)
perf selfcontained "$SC_CMD" || { tail -n 30 "$WORK/perf-selfcontained.log" >&2; die "self-contained publish failed"; }
PERF_SC=$PERF_S
run sh -c "$FDD_CMD" >"$WORK/prime-fdd.log" 2>&1 || { tail -n 30 "$WORK/prime-fdd.log" >&2; die "framework-dependent publish failed"; }
record "sh -c \"\$SC -clp:PerformanceSummary\"; sh -c \"\$FDD\"   # priming; FDD is the bare app"
printf 'first builds: release %s s, self-contained %s s\n' "$PERF_RELEASE" "$PERF_SC" >&2

say "3c. Cold assembly: $COLD_RUNS interleaved rounds of four commands"
interleaved cold "$COLD_RUNS" 0 \
  --prepare "$PREP_REL" --prepare "$PREP_RELNR" --prepare "$PREP_SC" --prepare "$PREP_SCR2R" \
  -n "release (cold)" "$REL_CMD" \
  -n "release, ReleaseReadyToRun=false (cold)" "$RELNR_CMD" \
  -n "self-contained (cold)" "$SC_CMD" \
  -n "self-contained, PublishReadyToRun=true (cold)" "$SCR2R_CMD"
if [ ! -x "$FOO_DIR/bin/foo" ] || [ ! -x "$FOONR" ]; then die "no foo release after the cold runs"; fi

say "3d. No-change assembly: 1 warm-up + $WARM_RUNS interleaved rounds"
interleaved warm "$WARM_RUNS" 1 \
  -n "release (no change)" "$REL_CMD" \
  -n "self-contained (no change)" "$SC_CMD"
perf nochange "$REL_CMD" || { tail -n 30 "$WORK/perf-nochange.log" >&2; die "no-change release build failed"; }
PERF_NOCHANGE=$PERF_S
record "sh -c \"\$REL -clp:PerformanceSummary\"   # one more no-change build: what the release adds"

say "3e. The tar step: the kv release (Steps=\"assemble;tar\"), with only the tarball deleted, $TAR_RUNS rounds"
run sh -c "$KVREL_CMD" >"$WORK/kv-first.log" 2>&1 || { tail -n 30 "$WORK/kv-first.log" >&2; die "kv release build failed"; }
record "sh -c \"\$KVREL\"   # assembles kv (and its tarball) once"
[ -x "$KV" ] || die "no launcher at $KV after the kv release build"
TARBALL=$(find "$WORK/rel/Kv/bin/rel" -maxdepth 1 -name 'kv-*.tar.gz' | head -n 1)
[ -n "$TARBALL" ] || die "the kv release has no tarball (expected Steps=\"assemble;tar\" in samples/Kv/Kv.csproj)"
KV_VERSION=${TARBALL##*/kv-}
KV_VERSION=${KV_VERSION%.tar.gz}
PREP_TAR="rm -f '$TARBALL' '$TARBALL.sha256'"
showvar PREP_TAR "$PREP_TAR"
interleaved tar "$TAR_RUNS" 0 \
  --prepare "$PREP_TAR" --prepare true \
  -n "kv, tarball deleted" "$KVREL_CMD" \
  -n "kv, no change" "$KVREL_CMD"
sh -c "$PREP_TAR"
perf tar "$KVREL_CMD" || { tail -n 30 "$WORK/perf-tar.log" >&2; die "kv release build failed"; }
PERF_TAR=$PERF_S
record "sh -c \"\$PREP_TAR\" && sh -c \"\$KVREL -clp:PerformanceSummary\"   # for _RelcraftTar's own time"
[ -f "$TARBALL" ] || die "no tarball after the kv release build"

# ---------------------------------------------------------------------------------------------
say "4. Sizes"
run sh -c "$NOSCRIPT_CMD" >"$WORK/noscript.log" 2>&1 || { tail -n 30 "$WORK/noscript.log" >&2; die "ReleaseScripting=false build failed"; }
record "sh -c \"\$NOSCRIPT\"   # foo again, without Roslyn, into \$W/noscript/foo (sizes only)"
[ -d "$NOSCRIPT_DIR/lib" ] || die "no release at $NOSCRIPT_DIR"
size() { du -sb "$1" | cut -f1; }
SIZE_RELEASE=$(size "$FOO_DIR")
SIZE_NOSCRIPT=$(size "$NOSCRIPT_DIR")
SIZE_RELNR=$(size "$FOONR_DIR")
SIZE_KV=$(size "$REL_DIR")
SIZE_SC=$(size "$SC_OUT")
SIZE_SCR2R=$(size "$SCR2R_OUT")
SIZE_FDD=$(size "$FDD_OUT")
SIZE_TAR=$(stat -c %s "$TARBALL")
record "du -sb \$W/rel/Kv/bin/rel/foo \$W/noscript/foo \$W/relnr/Kv/bin/rel/foo \$W/rel/Kv/bin/rel/kv \$W/sc-out \$W/scr2r-out \$W/fdd-out; stat -c %s \$W/rel/Kv/bin/rel/kv-$KV_VERSION.tar.gz"
SIZE_BREAKDOWN=
for d in "$FOO_DIR"/* "$FOO_DIR"/lib/*; do
  SIZE_BREAKDOWN+="$(size "$d") ${d#"$FOO_DIR"/}; "
done
printf 'release %s B, without Roslyn %s B, self-contained %s B, tarball %s B\n' \
  "$SIZE_RELEASE" "$SIZE_NOSCRIPT" "$SIZE_SC" "$SIZE_TAR" >&2

# ---------------------------------------------------------------------------------------------
say "5a. Launcher: version, pid, status ($LAUNCHER_RUNS runs each, daemon running)"
RPC_EXPR='Kv.Registry.Default.Count'
PORT=$(free_port)
PORT=$PORT "$KV" daemon
APP_PID=$("$KV" pid)
SUP_PID=$(sed -e 's/^.*) //' "/proc/$APP_PID/stat" | cut -d' ' -f2)
DAEMON_PIDS="$APP_PID $SUP_PID"
record "PORT=\$PORT \"\$KV\" daemon   # PORT: a free port"
hf=(hyperfine -N --warmup 3 --runs "$LAUNCHER_RUNS"
  --export-json "$WORK/hyperfine-launcher.json"
  -n "kv version" "$KV version"
  -n "kv pid" "$KV pid"
  -n "kv status" "$KV status")
record "$(shq "${hf[@]}")"
run "${hf[@]}"

say "5b. Control channel: ping and rpc ($CONTROL_RUNS runs each, 3 warm-up runs, daemon running)"
OUT_PING=$("$KV" ping)
OUT_RPC=$("$KV" rpc "$RPC_EXPR")
record "\"\$KV\" ping; \"\$KV\" rpc $RPC_EXPR   # check the answers: $OUT_PING, $OUT_RPC"
hf=(hyperfine -N --warmup 3 --runs "$CONTROL_RUNS"
  --export-json "$WORK/hyperfine-control.json"
  -n "kv ping" "$KV ping"
  -n "kv rpc" "$KV rpc '$RPC_EXPR'"
  -n "kv ping (managed launcher)" "env RELCRAFT_MANAGED_LAUNCHER=1 $KV ping"
  -n "kv rpc (managed launcher)" "env RELCRAFT_MANAGED_LAUNCHER=1 $KV rpc '$RPC_EXPR'")
record "$(shq "${hf[@]}")"
run "${hf[@]}"
# Where a control command's time goes: how many methods the JIT compiles for one ping of the managed
# launcher (the native one compiles none), and the floors: the native launcher and the release's runtime
# starting Relcraft.Launcher.dll, each with no environment (one line, exit 2; no connection, no cryptography).
RELCRAFT_MANAGED_LAUNCHER=1 DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile="$WORK/jit-ping.txt" "$KV" ping >/dev/null
record "RELCRAFT_MANAGED_LAUNCHER=1 DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile=\$W/jit-ping.txt \"\$KV\" ping   # which methods are JIT-compiled"
"$KV" stop
record "\"\$KV\" stop"
DAEMON_PIDS=
TOOLS_DIR=$(find "$REL_DIR/lib" -mindepth 1 -maxdepth 1 -name 'relcraft-*' | head -n 1)
hf=(hyperfine -N -i --warmup 3 --runs "$CONTROL_RUNS"
  --export-json "$WORK/hyperfine-floor.json"
  -n "native launcher floor" "env -i $TOOLS_DIR/relcraft"
  -n "runtime floor" "env -i $REL_DIR/runtime/dotnet $TOOLS_DIR/Relcraft.Launcher.dll")
record "$(shq "${hf[@]}")"
run "${hf[@]}"

say "5c. eval: a static call (reflection) and arbitrary C# (Roslyn)"
EVAL_STATIC="Kv.Maintenance.Compact(args[0])"
EVAL_ROSLYN="Enumerable.Range(1, 10).Sum()"
OUT_EVAL_STATIC=$(PORT=1 "$KV" eval "$EVAL_STATIC" /tmp/x)
OUT_EVAL_ROSLYN=$(PORT=1 "$KV" eval "$EVAL_ROSLYN")
record "PORT=1 \"\$KV\" eval '$EVAL_STATIC' /tmp/x; PORT=1 \"\$KV\" eval '$EVAL_ROSLYN'   # check the answers: $OUT_EVAL_STATIC, $OUT_EVAL_ROSLYN"
PORT=1 DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile="$WORK/jit-eval-static.txt" "$KV" eval "$EVAL_STATIC" /tmp/x >/dev/null
PORT=1 DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile="$WORK/jit-eval-roslyn.txt" "$KV" eval "$EVAL_ROSLYN" >/dev/null
record "# the same two evals once more with DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile=\$W/jit-eval-{static,roslyn}.txt"
hf=(hyperfine -N --warmup 2 --runs "$CONTROL_RUNS"
  --export-json "$WORK/hyperfine-eval-static.json"
  -n "kv eval (static call)" "env PORT=1 $KV eval '$EVAL_STATIC' /tmp/x")
record "$(shq "${hf[@]}")"
run "${hf[@]}"
hf=(hyperfine -N --warmup 1 --runs "$EVAL_RUNS"
  --export-json "$WORK/hyperfine-eval-roslyn.json"
  -n "kv eval (Roslyn)" "env PORT=1 $KV eval '$EVAL_ROSLYN'")
record "$(shq "${hf[@]}")"
run "${hf[@]}"

# ---------------------------------------------------------------------------------------------
say "6a. Start -> first answer: $START_RUNS interleaved runs of each (plus 1 warm-up round)"
fa=(python3 "$BENCH/first_answer.py" --runs "$START_RUNS" --json "$WORK/first-answer.json"
  --variant "release: bin/kv start|$REL_DIR|$KV start"
  --variant "release, interactive: bin/kv start|$REL_DIR|RELEASE_MODE=interactive $KV start"
  --variant "release without R2R, interactive: bin/foo start|$FOONR_DIR|RELEASE_MODE=interactive $FOONR start"
  --variant "bare: dotnet Kv.dll|$FDD_OUT|dotnet Kv.dll"
  --variant "self-contained: ./Kv|$SC_OUT|./Kv")
record "$(shq "${fa[@]}")"
run "${fa[@]}"

say "6b. First request after boot: $REQUEST_RUNS interleaved runs of each (plus 1 warm-up round)"
fr=(python3 "$BENCH/first_request.py" --runs "$REQUEST_RUNS" --settle 0.3 --json "$WORK/first-request.json"
  --variant "release: bin/kv start|$REL_DIR|$KV start"
  --variant "release, interactive: bin/kv start|$REL_DIR|RELEASE_MODE=interactive $KV start"
  --variant "bare: dotnet Kv.dll|$FDD_OUT|dotnet Kv.dll")
record "$(shq "${fr[@]}")"
run "${fr[@]}"

say "7. Fresh daemons: start time, RSS and the first rpc ($DAEMON_RUNS starts each), then Roslyn unloaded when idle ($UNLOAD_RUNS)"
# The fast path (a member chain: no Roslyn), then the same expression in parentheses, which only
# Roslyn evaluates (load + compile on a fresh daemon).
dr=(python3 "$BENCH/daemon_rss.py" --launcher "$KV" --runs "$DAEMON_RUNS" --rpc "$RPC_EXPR" --json "$WORK/daemon.json")
record "$(shq "${dr[@]}")"
run "${dr[@]}"
drr=(python3 "$BENCH/daemon_rss.py" --launcher "$KV" --runs "$DAEMON_RUNS" --rpc "($RPC_EXPR)" --json "$WORK/daemon-roslyn.json")
record "$(shq "${drr[@]}")"
run "${drr[@]}"
# Roslyn given back: idle after 2 s instead of 300; "before" is VmRSS after a fast-path rpc (the control
# channel's own code, loaded by the first connection, stays whatever Roslyn does). rpc compiles in a process
# of its own, so a remote session is what loads Roslyn into the app here.
dru=(python3 "$BENCH/daemon_rss.py" --launcher "$KV" --runs "$UNLOAD_RUNS" --idle 2 --warmup-rpc "$RPC_EXPR"
  --rpc "($RPC_EXPR)" --remote "($RPC_EXPR)" --json "$WORK/daemon-unload.json")
record "$(shq "${dru[@]}")"
run "${dru[@]}"

say "7b. Supervision: restart under load and killed -> answering ($RESTART_RUNS runs)"
rl=(python3 "$BENCH/restart_load.py" --launcher "$KV" --runs "$RESTART_RUNS" --steady 5 --json "$WORK/restart.json")
record "$(shq "${rl[@]}")"
run "${rl[@]}"

say "7c. Upgrade and downgrade under load, state carried and stateless ($UPGRADE_RUNS runs each)"
NEXT_DIR=$WORK/kv-next
NEXT_CMD="cd $WORK/rel/Kv && dotnet publish Kv.csproj -p:Release=kv -p:Version=0.2.0 -p:KvStateVersion=2 -p:ReleasePath=$NEXT_DIR/kv"
run sh -c "$NEXT_CMD" >"$WORK/kv-next.log" 2>&1 || { tail -n 30 "$WORK/kv-next.log" >&2; die "kv 0.2.0 build failed"; }
record "sh -c \"$NEXT_CMD\"   # kv 0.2.0, state shape 2, into its own ReleasePath"
ul=(python3 "$BENCH/upgrade_load.py" --release "$REL_DIR" --tarball "$NEXT_DIR/kv-0.2.0.tar.gz" --from "$KV_VERSION"
  --runs "$UPGRADE_RUNS" --steady 3 --json "$WORK/upgrade.json")
record "$(shq "${ul[@]}")"
run "${ul[@]}"
uls=(python3 "$BENCH/upgrade_load.py" --release "$REL_DIR" --tarball "$NEXT_DIR/kv-0.2.0.tar.gz" --from "$KV_VERSION"
  --runs "$UPGRADE_RUNS" --steady 3 --stateless --json "$WORK/upgrade-stateless.json")
record "$(shq "${uls[@]}")"
run "${uls[@]}"

# ---------------------------------------------------------------------------------------------
say "8. Report"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)
{
  fact DATE "$(date -u '+%Y-%m-%d %H:%M UTC')"
  fact TOTAL_SECONDS "$SECONDS"
  fact LOAD_START "$LOAD_START"
  fact LOAD_END "$LOAD_END"
  fact LOADS "${LOADS%, }"
  fact NPROC "$(nproc)"
  fact CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  fact FREE "$(free -m)"
  fact KERNEL "$(uname -sr)"
  fact DOTNET_SDK "$(cd "$WORK" && dotnet --version)"
  fact DOTNET_RUNTIME "$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\).*/\1/p' | tail -n 1)"
  fact RELEASE_RUNTIME "$(find "$REL_DIR/runtime/shared/Microsoft.NETCore.App" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)"
  fact HYPERFINE "$(hyperfine --version | cut -d' ' -f2)"
  fact PYTHON "$(python3 -c 'import platform; print(platform.python_version())')"
  fact GIT "commit $git_rev, $git_dirty uncommitted path(s) in the working tree"
  fact ENVIRONMENT "MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1"
  fact RUNS "COLD_RUNS=$COLD_RUNS WARM_RUNS=$WARM_RUNS TAR_RUNS=$TAR_RUNS LAUNCHER_RUNS=$LAUNCHER_RUNS CONTROL_RUNS=$CONTROL_RUNS EVAL_RUNS=$EVAL_RUNS START_RUNS=$START_RUNS REQUEST_RUNS=$REQUEST_RUNS DAEMON_RUNS=$DAEMON_RUNS UNLOAD_RUNS=$UNLOAD_RUNS RESTART_RUNS=$RESTART_RUNS UPGRADE_RUNS=$UPGRADE_RUNS"
  fact WORK "$WORK"
  fact ROOT "$ROOT"
  fact PACKAGES "$ROOT/artifacts/packages"
  fact GLOBAL_SDK "$GLOBAL_SDK"
  fact KV_SDK_VERSION "$VERSION"
  fact KV_VERSION "$KV_VERSION"
  fact SIZE_RELEASE "$SIZE_RELEASE"
  fact SIZE_NOSCRIPT "$SIZE_NOSCRIPT"
  fact SIZE_RELNR "$SIZE_RELNR"
  fact SIZE_KV "$SIZE_KV"
  fact SIZE_SELFCONTAINED "$SIZE_SC"
  fact SIZE_SCR2R "$SIZE_SCR2R"
  fact SIZE_FRAMEWORK_DEPENDENT "$SIZE_FDD"
  fact SIZE_TARBALL "$SIZE_TAR"
  fact SIZE_BREAKDOWN "${SIZE_BREAKDOWN%; }"
  fact PERF_RELEASE "$PERF_RELEASE"
  fact PERF_SELFCONTAINED "$PERF_SC"
  fact PERF_TAR "$PERF_TAR"
  fact PERF_NOCHANGE "$PERF_NOCHANGE"
  fact RPC_EXPR "$RPC_EXPR"
  fact EVAL_STATIC "$EVAL_STATIC"
  fact EVAL_ROSLYN "$EVAL_ROSLYN"
  fact OUT_PING "$OUT_PING"
  fact OUT_RPC "$OUT_RPC"
  fact OUT_EVAL_STATIC "$OUT_EVAL_STATIC"
  fact OUT_EVAL_ROSLYN "$OUT_EVAL_ROSLYN"
  fact COLD_BUG "$COLD_BUG"
  fact COLD_CHECK "$COLD_CHECK"
  fact COLD_STRAY "$COLD_STRAY"
  fact COMMANDS "${COMMANDS%$'\n'}"
}
mkdir -p "$(dirname -- "$OUT")"
python3 "$BENCH/report.py" "$WORK" "$OUT"
sed -n '/^## Results/,/^## Where/p' "$OUT" | sed '$d'
printf '\nWrote %s (total %s s)\n' "$OUT" "$SECONDS"
