#!/bin/sh
# Makes linux-arm64 binaries run on this x64 machine: qemu-user-static registered with
# binfmt_misc, plus the arm64 libraries a .NET release needs (libc, libstdc++, OpenSSL for
# the control channel's HMAC and any crypto, ICU for globalization). Used by .ci/run and
# needed by Arm64ReleaseTests. Run as root. Idempotent: a second run changes nothing.
#
# The libraries are Debian's own arm64 packages (dpkg multiarch), not the *-arm64-cross ones:
# those have no OpenSSL and no ICU, and without libssl an arm64 app aborts at the first rpc
# ("No usable version of libssl was found"). libc6:arm64 owns the interpreter
# /lib/ld-linux-aarch64.so.1 and puts its libraries in /etc/ld.so.cache, so programs need no
# QEMU_LD_PREFIX, and must NOT get QEMU_LD_PREFIX=/usr/aarch64-linux-gnu if the cross
# libraries are installed too: that pairs the cross loader with the multiarch libc (another
# glibc build) and .NET spins forever at startup. The registration (flags OPF) opens qemu at
# registration time, so it also works in the tests' private mount namespaces.
# .NET under qemu also needs DOTNET_EnableWriteXorExecute=0: with W^X the JIT writes code
# through a second mapping, qemu misses the change and runs stale code (e.g. Kestrel failing
# with a NullReferenceException at startup).
set -eu

binfmt=/proc/sys/fs/binfmt_misc
conf=/usr/lib/binfmt.d/qemu-aarch64.conf
packages="qemu-user-static libc6:arm64 libstdc++6:arm64 libssl3:arm64 libicu72:arm64 zlib1g:arm64"

fail() {
  echo "arm64-emulation: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root"

installed() {
  for pkg in $packages; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || return 1
  done
}

if ! installed; then
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq # the arm64 package lists
  fi
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq $packages >/dev/null 2>&1 || {
    apt-get update -qq # a fresh machine has no package lists, or old ones
    # shellcheck disable=SC2086
    apt-get install -y -qq $packages >/dev/null
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

# Proof: the arm64 dynamic loader (an arm64 ELF executable) runs under qemu and resolves
# libssl's dependencies from the multiarch libc, as every arm64 program will.
loader=/lib/ld-linux-aarch64.so.1
libssl=/usr/lib/aarch64-linux-gnu/libssl.so.3
if ! out=$(env -u QEMU_LD_PREFIX "$loader" --list "$libssl" 2>&1) ||
  ! printf '%s\n' "$out" | grep -q 'libc\.so\.6 => /lib/aarch64-linux-gnu/libc\.so\.6 '; then
  fail "an arm64 binary does not run as expected: $loader --list $libssl said: ${out:-nothing}
binfmt_misc qemu-aarch64: $(tr '\n' ' ' <"$binfmt/qemu-aarch64")"
fi
echo "arm64-emulation: ready ($(grep '^interpreter' "$binfmt/qemu-aarch64"), $(grep '^flags' "$binfmt/qemu-aarch64")); run arm64 programs without QEMU_LD_PREFIX, .NET ones with DOTNET_EnableWriteXorExecute=0"
