#!/usr/bin/env bash
# bench/run.sh: Relcraft's benchmark. One command does everything and writes docs/benchmarks.md:
#   1. packs the SDK into artifacts/packages (like build/run-sample.sh) and drops the cached copy,
#   2. copies samples/Kv + samples/Kv.Storage into a temporary work directory (three copies: release,
#      self-contained, framework-dependent), so the repository's bin/ and obj/ are never touched,
#   3. times cold and no-change assembly against a plain self-contained publish (hyperfine),
#   4. times the launcher's cheap commands (version, pid, status) with hyperfine,
#   5. times start -> first answer (CREATE x -> OK) for bin/kv start, dotnet Kv.dll and ./Kv,
#   6. measures sizes (release dir, self-contained publish, tarball) and 7. memory (VmRSS),
#   8. compares everything with the targets from the issue (PASS/MISS), and
#   9. stops every process it started and deletes the work directory (trap), however it ends.
#
# Knobs (environment): COLD_RUNS (5) WARM_RUNS (10) LAUNCHER_RUNS (40) START_RUNS (20) DAEMON_RUNS (7)
#                      BENCH_OUTPUT (docs/benchmarks.md)
# Only 127.0.0.1 is used; ports are picked free for every start.
set -euo pipefail

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
BENCH=$ROOT/bench
COLD_RUNS=${COLD_RUNS:-5}
WARM_RUNS=${WARM_RUNS:-10}
LAUNCHER_RUNS=${LAUNCHER_RUNS:-40}
START_RUNS=${START_RUNS:-20}
DAEMON_RUNS=${DAEMON_RUNS:-7}
OUT=${BENCH_OUTPUT:-$ROOT/docs/benchmarks.md}

say() { printf '\n==> %s\n' "$*" >&2; }
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
# MSBuild's SDK resolver caches Relcraft.Sdk by version: drop the cached copy so the fresh pack is used.
NUGET_CACHE=${NUGET_PACKAGES:-$HOME/.nuget/packages}
rm -rf "$NUGET_CACHE/relcraft.sdk/$VERSION"
record "rm -rf ~/.nuget/packages/relcraft.sdk/$VERSION"

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
for v in rel sc fdd; do
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
record "# \$W/{rel,sc,fdd}/: copies of samples/Kv, samples/Kv.Storage, samples/Directory.Build.props (no bin/, obj/)"
record "# \$W/global.json: copy of \$ROOT/global.json; \$W/nuget.config: package source \$ROOT/artifacts/packages"

REL_DIR=$WORK/rel/Kv/bin/rel/kv
KV=$REL_DIR/bin/kv
SC_OUT=$WORK/sc-out
FDD_OUT=$WORK/fdd-out
REL_CMD="cd $WORK/rel/Kv && dotnet publish Kv.csproj -p:Release=true"
SC_CMD="cd $WORK/sc/Kv && dotnet publish Kv.csproj -c Release -r linux-x64 --self-contained -o $SC_OUT"
FDD_CMD="cd $WORK/fdd/Kv && dotnet publish Kv.csproj -c Release -o $FDD_OUT"
showvar REL "$REL_CMD"
showvar SC "$SC_CMD"
showvar FDD "$FDD_CMD"
showpath KV "$KV"
record "sh -c \"\$REL\"   # the cold-build check: the very first build, no bin/ at all"

# ---------------------------------------------------------------------------------------------
say "3a. Cold-build check: the first release build, with no bin/ at all"
COLD_BUG=0
COLD_STRAY=no
if run sh -c "$REL_CMD" >"$WORK/cold-check.log" 2>&1 && [ -x "$KV" ]; then
  COLD_CHECK="succeeded."
else
  COLD_BUG=1
  first_error=$(grep -E 'error [A-Z]+[0-9]+' "$WORK/cold-check.log" | sed -e 's/^[^:]*: *//' -e 's/ \[[^]]*\]$//' |
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
# leave an empty Kv/bin/ so that the release build can succeed; both commands get the same.
prep() { # DIR [EXTRA_DIR]
  local p="rm -rf '$1/Kv/bin' '$1/Kv/obj' '$1/Kv/bin\\' '$1/Kv.Storage/bin' '$1/Kv.Storage/obj'"
  [ $# -lt 2 ] || p+=" '$2'"
  [ "$COLD_BUG" = 0 ] || p+=" && mkdir '$1/Kv/bin'"
  printf '%s' "$p"
}
PREP_REL=$(prep "$WORK/rel")
PREP_SC=$(prep "$WORK/sc" "$SC_OUT")
showvar PREP_REL "$PREP_REL"
showvar PREP_SC "$PREP_SC"

say "3b. Priming: one build of each (fills the NuGet cache with Relcraft.Sdk and the runtime pack)"
sh -c "$PREP_REL"
run sh -c "$REL_CMD" >"$WORK/prime-rel.log" 2>&1 || { tail -n 30 "$WORK/prime-rel.log" >&2; die "release build failed"; }
run sh -c "$SC_CMD" >"$WORK/prime-sc.log" 2>&1 || { tail -n 30 "$WORK/prime-sc.log" >&2; die "self-contained publish failed"; }
run sh -c "$FDD_CMD" >"$WORK/prime-fdd.log" 2>&1 || { tail -n 30 "$WORK/prime-fdd.log" >&2; die "framework-dependent publish failed"; }
record "sh -c \"\$PREP_REL\"; sh -c \"\$REL\"; sh -c \"\$SC\"; sh -c \"\$FDD\"   # priming; FDD is the bare app"
[ -x "$KV" ] || die "no launcher at $KV after the release build"

say "3c. Cold assembly: $COLD_RUNS runs each"
hf=(hyperfine --runs "$COLD_RUNS"
  --prepare "$PREP_REL" --prepare "$PREP_SC"
  --export-json "$WORK/hyperfine-cold.json"
  -n "release (cold)" "$REL_CMD"
  -n "self-contained (cold)" "$SC_CMD")
record "$(shq "${hf[@]}")"
retry run "${hf[@]}"

say "3d. No-change assembly: 1 warm-up + $WARM_RUNS runs each"
hf=(hyperfine --warmup 1 --runs "$WARM_RUNS"
  --export-json "$WORK/hyperfine-warm.json"
  -n "release (no change)" "$REL_CMD"
  -n "self-contained (no change)" "$SC_CMD")
record "$(shq "${hf[@]}")"
retry run "${hf[@]}"

# ---------------------------------------------------------------------------------------------
say "6. Sizes"
TARBALL=$(find "$WORK/rel/Kv/bin/rel" -maxdepth 1 -name 'kv-*.tar.gz' | head -n 1)
[ -n "$TARBALL" ] || die "the kv release has no tarball (expected Steps=\"assemble;tar\" in samples/Kv/Kv.csproj)"
KV_VERSION=${TARBALL##*/kv-}
KV_VERSION=${KV_VERSION%.tar.gz}
SIZE_RELEASE=$(du -sb "$REL_DIR" | cut -f1)
SIZE_SC=$(du -sb "$SC_OUT" | cut -f1)
SIZE_FDD=$(du -sb "$FDD_OUT" | cut -f1)
SIZE_TAR=$(stat -c %s "$TARBALL")
record "du -sb \$W/rel/Kv/bin/rel/kv; du -sb \$W/sc-out; du -sb \$W/fdd-out; stat -c %s \$W/rel/Kv/bin/rel/kv-$KV_VERSION.tar.gz"
SIZE_BREAKDOWN=
for d in "$REL_DIR"/* "$REL_DIR"/lib/*; do
  SIZE_BREAKDOWN+="$(du -sb "$d" | cut -f1) ${d#"$REL_DIR"/}; "
done
printf 'release %s B, self-contained %s B, framework-dependent %s B, tarball %s B\n' \
  "$SIZE_RELEASE" "$SIZE_SC" "$SIZE_FDD" "$SIZE_TAR" >&2

# ---------------------------------------------------------------------------------------------
say "Where the time goes: one more cold build of each with -clp:PerformanceSummary"
perf() { # NAME PREP CMD
  local t0 t1
  sh -c "$2"
  t0=$(date +%s.%N)
  run sh -c "$3 -clp:PerformanceSummary" >"$WORK/perf-$1.log" 2>&1 || { tail -n 30 "$WORK/perf-$1.log" >&2; die "$1 build failed"; }
  t1=$(date +%s.%N)
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$t1"
}
PERF_RELEASE=$(perf release "$PREP_REL" "$REL_CMD")
PERF_SC=$(perf selfcontained "$PREP_SC" "$SC_CMD")
record "sh -c \"\$PREP_REL\" && sh -c \"\$REL -clp:PerformanceSummary\""
record "sh -c \"\$PREP_SC\" && sh -c \"\$SC -clp:PerformanceSummary\""
printf 'release %s s, self-contained %s s\n' "$PERF_RELEASE" "$PERF_SC" >&2
[ -x "$KV" ] || die "no launcher at $KV after the release build"

# ---------------------------------------------------------------------------------------------
say "4. Launcher: version, pid, status ($LAUNCHER_RUNS runs each, daemon running)"
PORT=$(free_port)
export PORT Kv__Port=$PORT
"$KV" daemon
unset PORT Kv__Port
APP_PID=$("$KV" pid)
SUP_PID=$(sed -e 's/^.*) //' "/proc/$APP_PID/stat" | cut -d' ' -f2)
DAEMON_PIDS="$APP_PID $SUP_PID"
record "PORT=\$PORT Kv__Port=\$PORT \"\$KV\" daemon   # PORT: a free port"
hf=(hyperfine -N --warmup 3 --runs "$LAUNCHER_RUNS"
  --export-json "$WORK/hyperfine-launcher.json"
  -n "kv version" "$KV version"
  -n "kv pid" "$KV pid"
  -n "kv status" "$KV status")
record "$(shq "${hf[@]}")"
run "${hf[@]}"
"$KV" stop
record "\"\$KV\" stop"
DAEMON_PIDS=

# ---------------------------------------------------------------------------------------------
say "5. Start -> first answer: $START_RUNS interleaved runs of each (plus 1 warm-up round)"
fa=(python3 "$BENCH/first_answer.py" --runs "$START_RUNS" --json "$WORK/first-answer.json"
  --variant "release: bin/kv start|$REL_DIR|$KV start"
  --variant "bare: dotnet Kv.dll|$FDD_OUT|dotnet Kv.dll"
  --variant "self-contained: ./Kv|$SC_OUT|./Kv")
record "$(shq "${fa[@]}")"
run "${fa[@]}"

say "7. Daemon: start time and RSS ($DAEMON_RUNS starts)"
dr=(python3 "$BENCH/daemon_rss.py" --launcher "$KV" --runs "$DAEMON_RUNS" --json "$WORK/daemon.json")
record "$(shq "${dr[@]}")"
run "${dr[@]}"

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
  fact NPROC "$(nproc)"
  fact CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  fact FREE "$(free -m)"
  fact KERNEL "$(uname -sr)"
  fact DOTNET_SDK "$(cd "$WORK" && dotnet --version)"
  fact DOTNET_RUNTIME "$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\).*/\1/p' | tail -n 1)"
  fact HYPERFINE "$(hyperfine --version | cut -d' ' -f2)"
  fact PYTHON "$(python3 -c 'import platform; print(platform.python_version())')"
  fact GIT "commit $git_rev, $git_dirty uncommitted path(s) in the working tree"
  fact ENVIRONMENT "MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1"
  fact WORK "$WORK"
  fact ROOT "$ROOT"
  fact PACKAGES "$ROOT/artifacts/packages"
  fact GLOBAL_SDK "$GLOBAL_SDK"
  fact KV_SDK_VERSION "$VERSION"
  fact KV_VERSION "$KV_VERSION"
  fact SIZE_RELEASE "$SIZE_RELEASE"
  fact SIZE_SELFCONTAINED "$SIZE_SC"
  fact SIZE_FRAMEWORK_DEPENDENT "$SIZE_FDD"
  fact SIZE_TARBALL "$SIZE_TAR"
  fact SIZE_BREAKDOWN "${SIZE_BREAKDOWN%; }"
  fact PERF_RELEASE "$PERF_RELEASE"
  fact PERF_SELFCONTAINED "$PERF_SC"
  fact COLD_BUG "$COLD_BUG"
  fact COLD_CHECK "$COLD_CHECK"
  fact COLD_STRAY "$COLD_STRAY"
  fact COMMANDS "${COMMANDS%$'\n'}"
}
mkdir -p "$(dirname -- "$OUT")"
python3 "$BENCH/report.py" "$WORK" "$OUT"
sed -n '/^## Results/,/^## Where/p' "$OUT" | sed '$d'
printf '\nWrote %s (total %s s)\n' "$OUT" "$SECONDS"
