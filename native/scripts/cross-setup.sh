#!/usr/bin/env bash
# Install the cross toolchains and emulators the cross-platform builds use, from Debian's
# packages, when they are missing:
#
#   linux-aarch64   gcc-aarch64-linux-gnu, libc6-dev-arm64-cross; run under qemu-user
#   windows-x86_64  clang-14 and lld-14 targeting x86_64-w64-mingw32 (native TLS with
#                   -fno-emulated-tls), mingw-w64's headers, import libraries and libgcc; run
#                   under wine
#   linux-x86_64-musl  musl-tools
#
#   native/scripts/cross-setup.sh [--check]
#
# Installs only when run as root on a host with apt-get; otherwise (or with --check) it lists
# what is missing and exits 1 when anything is. Prints one line per tool found.
set -euo pipefail
packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user
          mingw-w64 clang-14 lld-14 wine wine64 musl-tools)
tools=(aarch64-linux-gnu-gcc qemu-aarch64 x86_64-w64-mingw32-gcc clang-14 ld.lld-14 wine musl-gcc)
missing() {
  local t out=()
  for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || out+=("$t"); done
  echo "${out[@]:-}"
}
m=$(missing)
if [ -n "$m" ] && [ "${1:-}" != "--check" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "cross-setup: installing ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  m=$(missing)
fi
for t in "${tools[@]}"; do
  if command -v "$t" >/dev/null 2>&1; then echo "cross-setup: $t: $(command -v "$t")"; fi
done
if [ -n "$m" ]; then echo "cross-setup: missing: $m" >&2; exit 1; fi
