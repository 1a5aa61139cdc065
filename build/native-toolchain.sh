#!/bin/sh
# What NativeAOT needs to compile Relcraft's native launcher for linux-x64 and (cross) linux-arm64:
# clang and lld to link, Debian's aarch64 binutils (objcopy) and libc for the arm64 build.
# Idempotent and quick when everything is there; run by .ci/run and by the package build.
set -e
have() {
  command -v clang >/dev/null 2>&1 && command -v ld.lld >/dev/null 2>&1 &&
    command -v aarch64-linux-gnu-objcopy >/dev/null 2>&1 && [ -e /usr/aarch64-linux-gnu/lib/libc.so ] &&
    [ -e /usr/lib/gcc-cross/aarch64-linux-gnu ]
}
have && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "native-toolchain: clang, lld, gcc-aarch64-linux-gnu, binutils-aarch64-linux-gnu and libc6-dev-arm64-cross are needed to build the native launcher; install them (as root: build/native-toolchain.sh)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq clang lld gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null ||
  { apt-get update -qq && apt-get install -y -qq clang lld gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null; }
have || { echo "native-toolchain: installed, but the tools are still missing" >&2; exit 1; }
