#!/usr/bin/env bash
# Build and run the libFuzzer target native/fuzz/fuzz_ops.c: random operation sequences over the
# pool, lookaside lists, a zone and quota accounts, bad frees mixed in, against a reference model,
# under AddressSanitizer + UndefinedBehaviorSanitizer, with the debug tier (EXA_DEBUG=1).
#
#   native/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
#
# SECONDS (default 60) bounds the run (-max_total_time). The CI runs `native/fuzz/run.sh 60`.
# A longer run, for a change to the allocator or the lists, e.g. an hour on every core:
#
#   native/fuzz/run.sh 3600 -jobs=$(nproc) -workers=$(nproc)
#
# It starts from the committed seed corpus (native/fuzz/corpus/) and writes what it finds new to
# native/target/fuzz/corpus/ (the committed corpus is never changed by a run; to refresh it, merge:
# `native/target/fuzz/fuzz_ops -merge=1 native/fuzz/corpus native/target/fuzz/corpus`). A model
# mismatch or a sanitizer report stops the run and leaves the input as
# native/target/fuzz/crash-*; replay it with `native/target/fuzz/fuzz_ops <file>`.
#
# Needs clang with libFuzzer: Debian's clang-14 and libclang-rt-14-dev. When run as root on a host
# with apt-get and no clang that links -fsanitize=fuzzer, it installs them.
set -euo pipefail
seconds=${1:-60}
shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/target/fuzz"
mkdir -p "$out/corpus"

probe() { # $1: compiler; 0 when it links a libFuzzer target
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' >"$out/probe.c"
  "$1" -fsanitize=fuzzer,address,undefined -o "$out/probe" "$out/probe.c" >/dev/null 2>&1
}
cc=""
for c in ${CC_FUZZ:-} clang clang-14 clang-16 clang-19; do
  if command -v "$c" >/dev/null 2>&1 && probe "$c"; then cc=$c; break; fi
done
if [ -z "$cc" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fuzz: installing clang-14 and libclang-rt-14-dev (libFuzzer)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null
    probe clang-14 && cc=clang-14
  fi
fi
if [ -z "$cc" ]; then
  echo "fuzz: no clang that links -fsanitize=fuzzer (install clang-14 and libclang-rt-14-dev)" >&2
  exit 1
fi

mapfile -t lib_sources < <(find "$here/src" -name '*.c' -not -path '*/platform/*' | sort)
echo "== building fuzz_ops with $($cc --version | head -1)"
"$cc" -DEXA_DEBUG=1 -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror \
  -Wno-unused-command-line-argument -pthread -I"$here/include" -I"$here/src" \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -o "$out/fuzz_ops" "$here/fuzz/fuzz_ops.c" "${lib_sources[@]}" -ldl

export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "== fuzzing for ${seconds}s"
cd "$out"
./fuzz_ops -max_total_time="$seconds" -max_len=512 -print_final_stats=1 "$@" corpus "$here/fuzz/corpus"
