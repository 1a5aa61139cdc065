#!/bin/sh
# Makes linux-arm64 binaries run on this x64 machine: qemu-user-static registered with
# binfmt_misc, plus the arm64 C/C++ runtime libraries (.NET's host and runtime need libc,
# libstdc++ and the arm64 dynamic loader). Used by .ci/run and needed by Arm64ReleaseTests.
# Run as root. Idempotent: a second run installs and registers nothing new.
#
# The arm64 libraries live in /usr/aarch64-linux-gnu. Programs started under emulation need
# QEMU_LD_PREFIX=/usr/aarch64-linux-gnu in their environment: the registration (flags OPF)
# lets the kernel start qemu for any arm64 ELF, and the symlink below makes the interpreter
# /lib/ld-linux-aarch64.so.1 resolve, but without the prefix that loader searches /lib and
# /usr/lib and finds no arm64 libc ("libdl.so.2: cannot open shared object file").
# There is no arm64 ICU among the cross packages: .NET apps need
# DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 (or InvariantGlobalization) under this emulation.
set -eu

prefix=/usr/aarch64-linux-gnu
binfmt=/proc/sys/fs/binfmt_misc
conf=/usr/lib/binfmt.d/qemu-aarch64.conf

fail() {
  echo "arm64-emulation: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root"

installed() {
  for pkg in qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || return 1
  done
}

if ! installed; then
  export DEBIAN_FRONTEND=noninteractive
  # A fresh container has no package lists; update only when the install cannot find them.
  apt-get install -y -qq qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross >/dev/null
  }
fi

[ -f "$conf" ] || fail "$conf is missing after installing qemu-user-static"

if [ ! -e "$binfmt/register" ]; then
  mount -t binfmt_misc binfmt_misc "$binfmt" ||
    fail "cannot mount binfmt_misc at $binfmt (a container needs --privileged, or register it on the host)"
fi

if [ ! -e "$binfmt/qemu-aarch64" ]; then
  # The file's one rule line: :qemu-aarch64:M::magic:mask:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:FLAGS
  rule=$(grep -v '^[[:space:]]*#' "$conf" | grep -m 1 '^:qemu-aarch64:') ||
    fail "no qemu-aarch64 rule in $conf"
  printf '%s\n' "$rule" >"$binfmt/register" ||
    fail "cannot register qemu-aarch64 in $binfmt/register"
fi
if ! grep -qx enabled "$binfmt/qemu-aarch64"; then
  echo 1 >"$binfmt/qemu-aarch64"
  grep -qx enabled "$binfmt/qemu-aarch64" || fail "binfmt_misc entry qemu-aarch64 is registered but cannot be enabled"
fi

ln -sf "$prefix/lib/ld-linux-aarch64.so.1" /lib/ld-linux-aarch64.so.1

# Proof: the arm64 dynamic loader (an arm64 ELF executable) runs under qemu and resolves
# libstdc++'s dependencies (libc, libm, libgcc_s) from the cross libraries.
loader="$prefix/lib/ld-linux-aarch64.so.1"
if ! out=$(QEMU_LD_PREFIX="$prefix" "$loader" --list "$prefix/lib/libstdc++.so.6" 2>&1) ||
  ! printf '%s\n' "$out" | grep -q 'libc\.so\.6 =>'; then
  fail "an arm64 binary does not run: $loader --list libstdc++.so.6 said: ${out:-nothing}
binfmt_misc qemu-aarch64: $(tr '\n' ' ' <"$binfmt/qemu-aarch64")"
fi
echo "arm64-emulation: ready ($(grep '^interpreter' "$binfmt/qemu-aarch64"), $(grep '^flags' "$binfmt/qemu-aarch64")); run arm64 programs with QEMU_LD_PREFIX=$prefix"
