#!/usr/bin/env bash
# Soak: N threads for a while over the pool, lookaside lists and a zone, every block checked
# against an ownership ledger (test/soak/soak.c: an owner word and a fill written at
# allocation, checked before every free and hand-over; a block with two owners fails).
#
#   native/scripts/soak.sh [--asan|--tsan] [THREADS [SECONDS [SEED]]]
#
# Defaults: 4 threads, 25 seconds (the short run CI makes). A longer run, before a release or
# after a change to the pool's or the lists' concurrency:
#
#   native/scripts/soak.sh 16 1800            # 16 threads, 30 minutes, release build
#   native/scripts/soak.sh --asan 8 600       # 8 threads, 10 minutes, ASan+UBSan build
#
# The library is built from src/ with the release flags (-O2, as the Maven build), or with
# a sanitizer, into native/target/soak[-asan|-tsan]/. The last line is
# "soak: PASS ..." or "soak: FAIL ..."; the exit status is non-zero on FAIL.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mode=release
case "${1:-}" in
  --asan) mode=asan; shift ;;
  --tsan) mode=tsan; shift ;;
esac
threads=${1:-4}
seconds=${2:-25}
seed=${3:-0x5EED}
cc=${CC:-gcc}
flags=(-std=c11 -g -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror -pthread -I"$here/include")
case "$mode" in
  release) flags+=(-O2); out="$here/target/soak" ;;
  asan) flags+=(-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)
        out="$here/target/soak-asan"
        export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0} ;;
  tsan) flags+=(-O1 -fsanitize=thread); out="$here/target/soak-tsan"
        export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} ;;
esac
mkdir -p "$out"
mapfile -t lib_sources < <(find "$here/src" -name '*.c' -not -path '*/platform/*' | sort)
"$cc" "${flags[@]}" -fPIC -fvisibility=hidden -I"$here/src" -shared -o "$out/libexalloc.so" "${lib_sources[@]}"
"$cc" "${flags[@]}" -o "$out/exalloc_soak" "$here/test/soak/soak.c" -L"$out" -lexalloc -Wl,-rpath,"$out"
echo "== exalloc soak ($mode): $threads threads, $seconds s, seed $seed"
"$out/exalloc_soak" "$threads" "$seconds" "$seed"
