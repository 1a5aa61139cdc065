#!/bin/sh
# bin/{{RELEASE_NAME}}: the launcher of release {{RELEASE_NAME}}, written by Relcraft {{RELCRAFT_VERSION}}.
# Generated at build time; customise releases/VSN/env.sh (from rel/env.sh.template) instead.
# A shim: it finds the release, sources env.sh with the command's arguments, and hands the command
# to lib/relcraft-*/relcraft (native) or Relcraft.Launcher.dll (on the release's runtime), where
# every command lives. Only `version` is answered here.
set -e

# Filled in when the release is assembled.
BUILT_NAME='{{RELEASE_NAME}}'
BUILT_MODE='{{RELEASE_MODE}}'
RELCRAFT_VSN='{{RELCRAFT_VERSION}}'
RELCRAFT_RUNTIME_MODE='{{RUNTIME_MODE}}'
RELCRAFT_ENTRY='{{RELEASE_ENTRY}}'
RELCRAFT_APPHOST='{{APPHOST}}'

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

[ -d "$RELEASE_ROOT/releases/$RELEASE_VSN" ] || fail "$RELEASE_NAME: version $RELEASE_VSN is not installed (no $RELEASE_ROOT/releases/$RELEASE_VSN)"
if [ -f "$RELEASE_ROOT/releases/$RELEASE_VSN/env.sh" ]; then
  # shellcheck disable=SC1090,SC1091
  . "$RELEASE_ROOT/releases/$RELEASE_VSN/env.sh"
fi

if [ "${1:-}" = version ]; then
  printf '%s %s\n' "$RELEASE_NAME" "$RELEASE_VSN"
  exit 0
fi

RELCRAFT_TOOLS_DIR=$RELEASE_ROOT/lib/relcraft-$RELCRAFT_VSN
export RELCRAFT_RUNTIME_MODE RELCRAFT_ENTRY RELCRAFT_APPHOST RELCRAFT_TOOLS_DIR

# RELCRAFT_MANAGED_LAUNCHER=1 runs the managed build even where the native one exists (tests use it).
if [ -x "$RELCRAFT_TOOLS_DIR/relcraft" ] && [ "${RELCRAFT_MANAGED_LAUNCHER:-}" != 1 ]; then
  exec "$RELCRAFT_TOOLS_DIR/relcraft" "$@"
fi
case $RELCRAFT_RUNTIME_MODE in
  bundled)
    DOTNET_ROOT=$RELEASE_ROOT/runtime
    export DOTNET_ROOT
    exec "$DOTNET_ROOT/dotnet" exec "$RELCRAFT_TOOLS_DIR/Relcraft.Launcher.dll" "$@"
    ;;
  apphost)
    DOTNET_ROOT=$RELEASE_ROOT/runtime
    export DOTNET_ROOT
    exec "$RELCRAFT_TOOLS_DIR/Relcraft.Launcher" "$@"
    ;;
  *)
    if [ -n "${DOTNET_ROOT:-}" ] && [ -x "$DOTNET_ROOT/dotnet" ]; then
      exec "$DOTNET_ROOT/dotnet" exec "$RELCRAFT_TOOLS_DIR/Relcraft.Launcher.dll" "$@"
    fi
    command -v dotnet >/dev/null 2>&1 ||
      fail "$RELEASE_NAME was built without a runtime (ReleaseIncludeRuntime=false) and no dotnet was found on PATH or in DOTNET_ROOT"
    exec dotnet exec "$RELCRAFT_TOOLS_DIR/Relcraft.Launcher.dll" "$@"
    ;;
esac
