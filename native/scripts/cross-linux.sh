#!/usr/bin/env bash
# Build libexalloc and its C tests for another Linux target and run the tests there.
#
#   native/scripts/cross-linux.sh TARGET [test filter]
#
#   TARGET         compiler                 runs under
#   aarch64        aarch64-linux-gnu-gcc    qemu-aarch64 -L /usr/aarch64-linux-gnu
#   x86_64-musl    musl-gcc                 natively (musl's loader)
#   x86_64         gcc                      natively (the host build, as the jar ships it)
#
# The library is built as the Maven build builds it (native/pom.xml): the same warning flags
# (-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror -fvisibility=hidden), -O2,
# the export list exalloc.map and the SONAME libexalloc.so.<abi>; for glibc targets also the
# glibc baseline header (src/base/arch_glibc.h, checked by scripts/check-glibc.sh).
# Output: native/target/cross-linux-<TARGET>/libexalloc.so (the path the multi-platform jar
# takes it from) and exalloc_tests beside it. Prints the runner's counts as
# "linux-<TARGET>: N passed, N failed, N skipped" and exits non-zero when a test fails.
#
# QEMU_PAGE_SIZE=65536 runs the aarch64 tests with 64 KiB pages (qemu-aarch64 -p); the
# counts line then names the page size. Install the toolchains with scripts/cross-setup.sh.
set -euo pipefail
target=${1:?usage: cross-linux.sh aarch64|x86_64-musl|x86_64 [filter]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
abi=$(sed -n 's/.*\bEXA_ABI_VERSION *= *\([0-9][0-9]*\).*/\1/p' "$here/include/exalloc.h")
[ -n "$abi" ] || { echo "cross-linux: no EXA_ABI_VERSION in include/exalloc.h" >&2; exit 1; }
glibc=1
run=()
case "$target" in
  aarch64)
    cc=${CC:-aarch64-linux-gnu-gcc}
    sysroot=${EXA_AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
    run=(qemu-aarch64 -L "$sysroot")
    if [ -n "${QEMU_PAGE_SIZE:-}" ]; then run+=(-p "$QEMU_PAGE_SIZE"); fi
    ;;
  x86_64-musl)
    cc=${CC:-musl-gcc}
    glibc=0
    ;;
  x86_64)
    cc=${CC:-gcc}
    ;;
  *) echo "cross-linux: unknown target '$target' (aarch64|x86_64-musl|x86_64)" >&2; exit 2 ;;
esac
command -v "$cc" >/dev/null 2>&1 || { echo "cross-linux: $cc not found (native/scripts/cross-setup.sh installs it)" >&2; exit 1; }
if [ ${#run[@]} -gt 0 ]; then
  command -v "${run[0]}" >/dev/null 2>&1 || { echo "cross-linux: ${run[0]} not found (native/scripts/cross-setup.sh installs it)" >&2; exit 1; }
fi
if [ ${#run[@]} -gt 0 ]; then export EXA_TEST_EMULATOR="${run[*]}"; fi   # test.h: how the tests start programs of this target
label="linux-$target"
[ -n "${QEMU_PAGE_SIZE:-}" ] && [ "$target" = aarch64 ] && label="$label (pages of $QEMU_PAGE_SIZE bytes)"
out="$here/target/cross-linux-$target"
rm -rf "$out"
mkdir -p "$out"
warn=(-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror)
compat=() compat_libs=()
if [ "$glibc" = 1 ]; then
  compat=(-include "$here/src/base/arch_glibc.h")
  compat_libs=(-Wl,--push-state,--no-as-needed -l:libpthread.so.0 -l:libdl.so.2 -Wl,--pop-state)
fi
if [ "$target" = x86_64-musl ]; then
  # musl-gcc searches musl's headers only; the kernel's (linux/membarrier.h) are the host's,
  # as Alpine's linux-headers package gives them
  mkdir -p "$out/kernel-headers"
  for d in linux asm-generic; do ln -sfn "/usr/include/$d" "$out/kernel-headers/$d"; done
  ln -sfn /usr/include/x86_64-linux-gnu/asm "$out/kernel-headers/asm"
  warn+=(-isystem "$out/kernel-headers")
  # musl has no backtrace(): the platform layer walks frame pointers (allocation sites)
  warn+=(-fno-omit-frame-pointer)
fi
mapfile -t lib_sources < <(find "$here/src" -name '*.c' -not -path '*/platform/*' | sort)
echo "== exalloc for $label ($("$cc" --version | head -1))"
"$cc" "${warn[@]}" -O2 -g -fvisibility=hidden -fPIC -pthread "${compat[@]}" -I"$here/include" -I"$here/src" \
  -shared -o "$out/libexalloc.so" "${lib_sources[@]}" \
  -Wl,-soname,"libexalloc.so.$abi" -Wl,--version-script="$here/exalloc.map" -Wl,--no-undefined "${compat_libs[@]}"
ln -sfn libexalloc.so "$out/libexalloc.so.$abi"
"$cc" "${warn[@]}" -O2 -g -pthread -I"$here/include" -I"$here/src" -o "$out/exalloc_tests" "$here"/test/*.c \
  -L"$out" -lexalloc -ldl -Wl,-rpath,"$out"
# test_diag.c runs the exapoolmon tool when it finds it beside the tests' build
CC="$cc" bash "$here/tools/build.sh" "$out" >/dev/null
echo "library: $out/libexalloc.so"
log="$out/tests.log"
set +e
( cd "$out" && "${run[@]}" "$out/exalloc_tests" "$@" ) 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
counts=$(grep -E '^native: [0-9]+ passed' "$log" | tail -1 | sed 's/^native: //')
if [ -z "$counts" ]; then
  echo "$label: the test runner printed no counts (exit status $rc)"
  exit 1
fi
echo "$label: $counts"
exit "$rc"
