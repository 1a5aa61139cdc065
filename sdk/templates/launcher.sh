#!/bin/sh
# bin/{{RELEASE_NAME}}: the launcher of release {{RELEASE_NAME}}, written by Relcraft {{RELCRAFT_VERSION}}.
# Generated at build time; customise releases/VSN/env.sh (from rel/env.sh.template) instead.
# Cheap commands (version, pid, status, stop) are answered here without starting a runtime;
# daemon supervision lives in lib/relcraft-*/Relcraft.Launcher.dll.
set -e

# Filled in when the release is assembled.
BUILT_NAME='{{RELEASE_NAME}}'
BUILT_MODE='{{RELEASE_MODE}}'
RELCRAFT_VSN='{{RELCRAFT_VERSION}}'
RUNTIME_MODE='{{RUNTIME_MODE}}'
ENTRY='{{RELEASE_ENTRY}}'
APPHOST='{{APPHOST}}'

fail() { printf '%s\n' "$*" >&2; exit 1; }

# Resolve symlinks to this script, then RELEASE_ROOT is bin/..
SELF=$0
while [ -h "$SELF" ]; do
  LINK=$(readlink "$SELF")
  case $LINK in
    /*) SELF=$LINK ;;
    *) SELF=${SELF%/*}/$LINK ;;
  esac
done
case $SELF in
  */*) BIN_DIR=${SELF%/*} ;;
  *) BIN_DIR=. ;;
esac
RELEASE_ROOT=${RELEASE_ROOT:-$(CDPATH='' cd -- "$BIN_DIR/.." && pwd -P)}
RELEASE_NAME=${RELEASE_NAME:-$BUILT_NAME}
if [ -z "${RELEASE_VSN:-}" ]; then
  read -r RELEASE_VSN <"$RELEASE_ROOT/releases/start.data" || fail "$RELEASE_ROOT/releases/start.data is missing or empty"
fi
RELEASE_COMMAND=${1:-}
RELEASE_PROG=${RELEASE_PROG:-${0##*/}}
RELEASE_NODE=${RELEASE_NODE:-$RELEASE_NAME}
RELEASE_TMP=${RELEASE_TMP:-$RELEASE_ROOT/tmp}
RELEASE_MODE=${RELEASE_MODE:-$BUILT_MODE}
RELEASE_STOP_TIMEOUT=${RELEASE_STOP_TIMEOUT:-30}
export RELEASE_ROOT RELEASE_NAME RELEASE_VSN RELEASE_COMMAND RELEASE_PROG RELEASE_NODE RELEASE_TMP RELEASE_MODE RELEASE_STOP_TIMEOUT

REL_VSN_DIR=$RELEASE_ROOT/releases/$RELEASE_VSN
[ -d "$REL_VSN_DIR" ] || fail "$RELEASE_NAME: version $RELEASE_VSN is not installed (no $REL_VSN_DIR)"
if [ -f "$REL_VSN_DIR/env.sh" ]; then
  # shellcheck disable=SC1091
  . "$REL_VSN_DIR/env.sh"
fi

case $RELEASE_NODE in
  '' | *[!A-Za-z0-9_.-]*) fail "RELEASE_NODE '$RELEASE_NODE' is invalid: use letters, digits, '.', '_' or '-'" ;;
esac
PID_FILE=$RELEASE_TMP/$RELEASE_NODE.pid
LOG_FILE=$RELEASE_TMP/log/$RELEASE_NODE.log
TOOLS_DIR=$RELEASE_ROOT/lib/relcraft-$RELCRAFT_VSN
APP_DIR=$RELEASE_ROOT/lib/$RELEASE_NAME-$RELEASE_VSN
RUNTIME_CONFIG=$REL_VSN_DIR/$RELEASE_NAME.runtimeconfig.json

usage() {
  cat >&2 <<EOF
Usage: $RELEASE_PROG COMMAND [ARGS]

  start [ARGS]     start in the foreground (the launcher's pid becomes the app's)
  console [ARGS]   start in the foreground with a C# shell attached to the same process
  daemon [ARGS]    start in the background; logs in $RELEASE_TMP/log
  stop             stop gracefully and wait until the system is gone
  restart [ARGS]   stop, then start as a daemon
  pid              print the pid of the running system
  status           exit 0 if running, 3 if not
  ping             print "pong" if the running system answers on its control channel
  rpc EXPR         evaluate C# inside the running system and print the value
  remote           interactive C# shell inside the running system
  eval EXPR [ARGS] evaluate C# in a fresh process with the app loaded but not started
  version          print "$RELEASE_NAME VERSION"
EOF
  if [ -d "$REL_VSN_DIR/commands" ]; then
    for _cmd in "$REL_VSN_DIR/commands/"*; do
      [ -f "$_cmd" ] || continue
      _cmd=${_cmd##*/}
      printf '  %-16s (custom command)\n' "${_cmd%.*}" >&2
    done
  fi
}

# proc_state PID: sets STATE and STARTED from /proc/PID/stat; fails if there is no such process.
proc_state() {
  { read -r _stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  _rest=${_stat##*) }
  set -f
  # shellcheck disable=SC2086
  set -- $_rest
  set +f
  STATE=$1
  STARTED=${20}
}

# running: true when the pid file names a live process that is still the one it was written for.
# A zombie counts as gone; a pid reused by another program (other start time) counts as gone.
running() {
  PID=
  { read -r _pid _started <"$PID_FILE"; } 2>/dev/null || return 1
  case $_pid in '' | *[!0-9]*) return 1 ;; esac
  if [ -r /proc/self/stat ]; then
    proc_state "$_pid" || return 1
    [ "$STATE" != Z ] || return 1
    [ -z "$_started" ] || [ "$_started" = "$STARTED" ] || return 1
  else
    kill -0 "$_pid" 2>/dev/null || return 1
  fi
  PID=$_pid
}

require_not_running() {
  if running; then fail "$RELEASE_NAME is already running (pid $PID)"; fi
}

prepare_tmp() {
  mkdir -p "$RELEASE_TMP" || fail "cannot create RELEASE_TMP $RELEASE_TMP"
  (umask 077 && mkdir -p "$RELEASE_TMP/control") || fail "cannot create $RELEASE_TMP/control"
  chmod 700 "$RELEASE_TMP/control"
}

# ensure_cookie: a release unpacked from its tarball has no cookie yet; make one, readable by us only.
ensure_cookie() {
  [ -s "$RELEASE_ROOT/releases/COOKIE" ] && return 0
  [ -n "${RELEASE_COOKIE:-}" ] && return 0
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$RELEASE_ROOT/releases/COOKIE") ||
    fail "cannot create $RELEASE_ROOT/releases/COOKIE"
}

# hand_over_cookie: RELEASE_COOKIE reaches the app through a 0600 file it reads and deletes,
# never through its environment or argv.
hand_over_cookie() {
  if [ -n "${RELEASE_COOKIE:-}" ]; then
    RELCRAFT_COOKIE_FILE=$RELEASE_TMP/control/.$RELEASE_NODE.cookie.$$
    (umask 077 && printf '%s' "$RELEASE_COOKIE" >"$RELCRAFT_COOKIE_FILE") || fail "cannot write $RELCRAFT_COOKIE_FILE"
    export RELCRAFT_COOKIE_FILE
  fi
  unset RELEASE_COOKIE
}

# run_hooks EVENT: the release's hooks for EVENT (releases/VSN/hooks/EVENT/*), in order.
run_hooks() {
  [ -d "$REL_VSN_DIR/hooks/$1" ] || return 0
  for _hook in "$REL_VSN_DIR/hooks/$1/"*; do
    [ -f "$_hook" ] || continue
    sh "$_hook" || { printf '%s hook %s failed\n' "$1" "${_hook##*/}" >&2; return 1; }
  done
}

# run_tool ARGS: Relcraft.Launcher (ping, rpc, remote) on the release's runtime.
run_tool() {
  require_agent "$1"
  find_dotnet
  if [ "$RUNTIME_MODE" = apphost ]; then
    exec "$TOOLS_DIR/Relcraft.Launcher" "$@"
  fi
  exec "$DOTNET" "$TOOLS_DIR/Relcraft.Launcher.dll" "$@"
}

# eval_expression EXPR ARGS: a fresh app process; the agent evaluates EXPR before Main and exits.
eval_expression() {
  if [ $# -lt 1 ]; then
    usage
    printf 'eval needs an expression\n' >&2
    exit 2
  fi
  require_agent eval
  RELCRAFT_EVAL=$1
  export RELCRAFT_EVAL
  shift
  find_dotnet
  app_environment
  unset RELEASE_COOKIE
  exec_app "$@"
}

find_dotnet() {
  case $RUNTIME_MODE in
    bundled)
      DOTNET=$RELEASE_ROOT/runtime/dotnet
      DOTNET_ROOT=$RELEASE_ROOT/runtime
      export DOTNET_ROOT
      ;;
    apphost)
      DOTNET=
      DOTNET_ROOT=$RELEASE_ROOT/runtime
      export DOTNET_ROOT
      ;;
    *)
      if [ -n "${DOTNET_ROOT:-}" ] && [ -x "$DOTNET_ROOT/dotnet" ]; then
        DOTNET=$DOTNET_ROOT/dotnet
      else
        DOTNET=$(command -v dotnet) || fail "$RELEASE_NAME was built without a runtime (ReleaseIncludeRuntime=false) and no dotnet was found on PATH or in DOTNET_ROOT"
      fi
      ;;
  esac
  [ -z "$DOTNET" ] || [ -x "$DOTNET" ] || fail "runtime not found: $DOTNET"
}

# app_environment: what every process of the app sees besides RELEASE_*.
app_environment() {
  # The Generic Host takes its content root (appsettings*.json, wwwroot/) from the working directory;
  # in a release it is the app's own folder, as WORKDIR /app is in container images. The working
  # directory itself stays the operator's, so relative paths given as arguments keep their meaning.
  # An explicit DOTNET_CONTENTROOT or ASPNETCORE_CONTENTROOT wins.
  if [ -z "${DOTNET_CONTENTROOT:-}" ] && [ -z "${ASPNETCORE_CONTENTROOT:-}" ]; then
    DOTNET_CONTENTROOT=$APP_DIR
    export DOTNET_CONTENTROOT
  fi
  if hooks_disabled; then
    # No agent can run: the supervisor falls back to "alive after a grace period" for readiness.
    RELCRAFT_NO_AGENT=1
    export RELCRAFT_NO_AGENT
    return 0
  fi
  if [ -f "$TOOLS_DIR/Relcraft.Agent.dll" ]; then
    DOTNET_STARTUP_HOOKS=$TOOLS_DIR/Relcraft.Agent.dll${DOTNET_STARTUP_HOOKS:+:$DOTNET_STARTUP_HOOKS}
    export DOTNET_STARTUP_HOOKS
  fi
}

# hooks_disabled: the app turned startup hooks off, so the agent (control channel, boot config) cannot load.
hooks_disabled() {
  grep -q '"System.StartupHookProvider.IsSupported": *false' "$RUNTIME_CONFIG" 2>/dev/null
}

require_agent() {
  if hooks_disabled; then
    fail "$1 needs the Relcraft agent, but this app disables startup hooks (System.StartupHookProvider.IsSupported=false in $RUNTIME_CONFIG)"
  fi
}

# exec_app ARGS: replace this shell with the app (same pid).
exec_app() {
  if [ "$RUNTIME_MODE" = apphost ]; then
    exec "$APP_DIR/$APPHOST" "$@"
  fi
  exec "$DOTNET" exec --runtimeconfig "$RUNTIME_CONFIG" "$APP_DIR/$ENTRY" "$@"
}

write_pid_file() {
  proc_state "$1" || fail "cannot read /proc/$1/stat"
  printf '%s %s\n' "$1" "$STARTED" >"$PID_FILE.tmp.$$"
  mv -f "$PID_FILE.tmp.$$" "$PID_FILE"
}

log_tail() {
  if [ -f "$LOG_FILE" ]; then
    printf 'Last lines of %s:\n' "$LOG_FILE" >&2
    tail -n "${RELEASE_LOG_TAIL:-20}" "$LOG_FILE" >&2
  fi
}

start_daemon() {
  require_not_running
  prepare_tmp
  mkdir -p "${LOG_FILE%/*}"
  ensure_cookie
  run_hooks pre_start || exit 1
  find_dotnet
  app_environment
  hand_over_cookie
  # The supervisor detaches (own session), owns the log files, and reports one line on fd 3 once
  # the app is ready or has died; reading that line is how we know when to return. Its own
  # stderr goes to the log, so a runtime that cannot start at all still explains why (log tail).
  # shellcheck disable=SC2094 # the supervisor appends to the log; the shell only opens it for append too
  if [ "$RUNTIME_MODE" = apphost ]; then
    REPORT=$("$TOOLS_DIR/Relcraft.Launcher" supervise "$PID_FILE" "$LOG_FILE" -- \
      "$APP_DIR/$APPHOST" "$@" </dev/null 3>&1 1>/dev/null 2>>"$LOG_FILE" &)
  else
    REPORT=$("$DOTNET" exec "$TOOLS_DIR/Relcraft.Launcher.dll" supervise "$PID_FILE" "$LOG_FILE" -- \
      "$DOTNET" exec --runtimeconfig "$RUNTIME_CONFIG" "$APP_DIR/$ENTRY" "$@" </dev/null 3>&1 1>/dev/null 2>>"$LOG_FILE" &)
  fi
  case $REPORT in
    ready\ *)
      run_hooks post_start || true
      return 0
      ;;
    timeout\ *)
      printf '%s did not report ready within %ss (pid %s); it keeps running\n' "$RELEASE_NAME" "${RELEASE_START_TIMEOUT:-60}" "${REPORT#timeout }" >&2
      log_tail
      exit 1
      ;;
    exited\ *)
      printf '%s failed to start (exit code %s)\n' "$RELEASE_NAME" "${REPORT#exited }" >&2
      log_tail
      exit 1
      ;;
    *)
      printf '%s failed to start: %s\n' "$RELEASE_NAME" "$REPORT" >&2
      log_tail
      exit 1
      ;;
  esac
}

stop_system() {
  if ! running; then
    printf '%s is not running\n' "$RELEASE_NAME" >&2
    return 1
  fi
  run_hooks pre_stop || true
  kill -TERM "$PID" 2>/dev/null || true
  _ticks=0
  _limit=$((RELEASE_STOP_TIMEOUT * 10))
  while running; do
    if [ "$_ticks" -ge "$_limit" ]; then
      printf '%s did not stop within %ss; killing pid %s\n' "$RELEASE_NAME" "$RELEASE_STOP_TIMEOUT" "$PID" >&2
      kill -KILL "$PID" 2>/dev/null || true
      while running; do sleep 0.05; done
      break
    fi
    sleep 0.1
    _ticks=$((_ticks + 1))
  done
  rm -f "$PID_FILE"
  run_hooks post_stop || true
}

[ $# -gt 0 ] || { usage; exit 1; }
COMMAND=$1
shift

case $COMMAND in
  start | console)
    [ "$COMMAND" = start ] || require_agent console
    require_not_running
    prepare_tmp
    ensure_cookie
    run_hooks pre_start || exit 1
    find_dotnet
    app_environment
    hand_over_cookie
    write_pid_file $$
    exec_app "$@"
    ;;
  daemon)
    start_daemon "$@"
    ;;
  stop)
    stop_system
    ;;
  restart)
    if running; then stop_system; fi
    start_daemon "$@"
    ;;
  pid)
    if running; then printf '%s\n' "$PID"; else fail "$RELEASE_NAME is not running"; fi
    ;;
  status)
    if running; then
      printf '%s is running (pid %s)\n' "$RELEASE_NAME" "$PID"
    else
      printf '%s is not running\n' "$RELEASE_NAME"
      exit 3
    fi
    ;;
  version)
    printf '%s %s\n' "$RELEASE_NAME" "$RELEASE_VSN"
    ;;
  ping)
    run_tool ping
    ;;
  rpc)
    run_tool rpc "$@"
    ;;
  remote)
    run_tool remote
    ;;
  eval)
    eval_expression "$@"
    ;;
  help | -h | --help)
    usage
    ;;
  *)
    # Custom commands (ReleaseCommand items): releases/VSN/commands/NAME.eval|.rpc|.sh
    CUSTOM=$REL_VSN_DIR/commands/$COMMAND
    case $COMMAND in */* | .*) CUSTOM=/nonexistent ;; esac
    if [ -f "$CUSTOM.eval" ]; then
      eval_expression "$(cat "$CUSTOM.eval")" "$@"
    elif [ -f "$CUSTOM.rpc" ]; then
      run_tool rpc "$(cat "$CUSTOM.rpc")"
    elif [ -f "$CUSTOM.sh" ]; then
      exec sh "$CUSTOM.sh" "$@"
    fi
    usage
    fail "Unknown command: $COMMAND"
    ;;
esac
