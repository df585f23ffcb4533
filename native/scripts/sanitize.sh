#!/usr/bin/env bash
# Build the native library and its C tests with a sanitizer and run them.
#
#   native/scripts/sanitize.sh asan    AddressSanitizer + UndefinedBehaviorSanitizer
#   native/scripts/sanitize.sh tsan    ThreadSanitizer (the concurrent parts: stress, spin locks)
#
# The library is built as a shared object, as in production, with the same warning flags as
# the Maven build (-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror
# -fvisibility=hidden), from every .c under src/ but the platform/ implementations (which
# base/platform.c includes). Both builds are debug-tier builds (EXA_DEBUG=1), so the C tests
# also run the invariant validators (test_debug.c). Output goes to native/target/sanitize-<mode>/.
# Prints the test runner's "native: N passed, N failed" line.
set -euo pipefail
mode=${1:?usage: sanitize.sh asan|tsan}
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/target/sanitize-$mode"
mkdir -p "$out"
cc=${CC:-gcc}
# EXA_DEBUG=1: the debug tier (src/base/debug.h): internal invariant validators, exported
# for the C tests (test_debug.c), which the plain Maven build leaves out.
common=(-DEXA_DEBUG=1 -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror -pthread -I"$here/include")
case "$mode" in
  asan)
    san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    filter=""
    ;;
  tsan)
    san=(-fsanitize=thread)
    export TSAN_OPTIONS=${TSAN_OPTIONS:-allocator_may_return_null=1:halt_on_error=1:second_deadlock_stack=1}
    export EXA_TEST_SCALE=${EXA_TEST_SCALE:-4}
    filter=""
    ;;
  *) echo "sanitize.sh: unknown mode '$mode' (asan|tsan)" >&2; exit 2 ;;
esac
mapfile -t lib_sources < <(find "$here/src" -name '*.c' -not -path '*/platform/*' | sort)
echo "== exalloc native tests under $mode ($($cc --version | head -1))"
$cc "${common[@]}" "${san[@]}" -fPIC -fvisibility=hidden -I"$here/src" -shared -o "$out/libexalloc.so" "${lib_sources[@]}"
$cc "${common[@]}" "${san[@]}" -I"$here/src" -o "$out/exalloc_tests" "$here"/test/*.c -L"$out" -lexalloc -ldl -Wl,-rpath,"$out"
bash "$here/tools/build.sh" "$out" >/dev/null   # the exapoolmon tool, run by test_diag.c
"$out/exalloc_tests" $filter
