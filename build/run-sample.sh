#!/bin/sh
# Quick start: pack the SDK into artifacts/packages, assemble the Kv sample's default release,
# start it as a daemon and show that it answers. Stop it with samples/Kv/bin/rel/kv/bin/kv stop.
set -eu
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
cd "$ROOT"
VERSION=$(sed -n 's/.*"Relcraft.Sdk": *"\([^"]*\)".*/\1/p' global.json)

dotnet pack -c Release -o artifacts/packages -p:Version="$VERSION" --nologo -v:q
# MSBuild's SDK resolver caches Relcraft.Sdk by version: drop the cached copy so the fresh pack is used.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/relcraft.sdk/$VERSION" "${NUGET_PACKAGES:-$HOME/.nuget/packages}/relcraft.runtime/$VERSION"

dotnet publish samples/Kv/Kv.csproj -p:Release=true --nologo
KV=samples/Kv/bin/rel/kv/bin/kv
"$KV" stop 2>/dev/null || true
PORT=${KV_PORT:-4040}
PORT=$PORT "$KV" daemon
echo "kv is running as pid $("$KV" pid), listening on 127.0.0.1:$PORT"
printf '%s\n' "Try:  printf 'CREATE shopping\\r\\nPUT shopping milk 1\\r\\nGET shopping milk\\r\\n' | nc -q1 127.0.0.1 $PORT"
echo "Stop: $KV stop"
