#!/bin/sh
# Makes linux-arm64 binaries run on this x64 machine: qemu-user-static registered with
# binfmt_misc, plus the arm64 C/C++ runtime libraries (.NET's host and runtime need libc,
# libstdc++ and the arm64 dynamic loader). Used by .ci/run and needed by Arm64ReleaseTests.
# Run as root. Idempotent: a second run installs and registers nothing new.
#
# Which arm64 libraries, and QEMU_LD_PREFIX. The registration (flags OPF) lets the kernel
# start qemu for any arm64 ELF; the ELF's interpreter /lib/ld-linux-aarch64.so.1 then loads
# libc & co. Two setups work, and mixing them does not:
# * cross libraries only (what this script installs): they live in /usr/aarch64-linux-gnu;
#   /lib/ld-linux-aarch64.so.1 becomes a symlink to their loader, and programs need
#   QEMU_LD_PREFIX=/usr/aarch64-linux-gnu, without which that loader finds no arm64 libc
#   ("libdl.so.2: cannot open shared object file").
# * multiarch libc6:arm64 (dpkg --add-architecture arm64), if someone installed it: it owns
#   /lib/ld-linux-aarch64.so.1 and puts its libraries in /etc/ld.so.cache; programs must NOT
#   get QEMU_LD_PREFIX: the cross loader would load the multiarch libc (a newer build) and
#   .NET spins forever at startup. This script then leaves that symlink alone.
# Neither the cross packages nor a bare machine have an arm64 ICU: .NET apps need
# DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 (or InvariantGlobalization) unless libicu72:arm64 is in.
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

multiarch_loader=/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1
if [ -e "$multiarch_loader" ]; then
  ld_prefix=
  libc_expected=/lib/aarch64-linux-gnu/libc.so.6
else
  ln -sf "$prefix/lib/ld-linux-aarch64.so.1" /lib/ld-linux-aarch64.so.1
  ld_prefix=$prefix
  libc_expected=/lib/libc.so.6 # as qemu shows $prefix/lib/libc.so.6
fi

# Proof: the arm64 dynamic loader (an arm64 ELF executable) runs under qemu and resolves
# libstdc++'s dependencies (libc, libm, libgcc_s) from the same glibc build as itself.
probe() {
  if [ -n "$ld_prefix" ]; then
    QEMU_LD_PREFIX=$ld_prefix /lib/ld-linux-aarch64.so.1 --list "$prefix/lib/libstdc++.so.6" 2>&1
  else
    env -u QEMU_LD_PREFIX /lib/ld-linux-aarch64.so.1 --list "$prefix/lib/libstdc++.so.6" 2>&1
  fi
}
if ! out=$(probe) || ! printf '%s\n' "$out" | grep -q "libc\.so\.6 => $libc_expected "; then
  fail "an arm64 binary does not run as expected (QEMU_LD_PREFIX=${ld_prefix:-unset}, libc should be $libc_expected):
/lib/ld-linux-aarch64.so.1 --list libstdc++.so.6 said: ${out:-nothing}
binfmt_misc qemu-aarch64: $(tr '\n' ' ' <"$binfmt/qemu-aarch64")"
fi
if [ -n "$ld_prefix" ]; then
  echo "arm64-emulation: ready (cross libraries); run arm64 programs with QEMU_LD_PREFIX=$ld_prefix"
else
  echo "arm64-emulation: ready (multiarch libc6:arm64); run arm64 programs WITHOUT QEMU_LD_PREFIX"
fi
