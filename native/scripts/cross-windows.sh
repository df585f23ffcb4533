#!/usr/bin/env bash
# Build exalloc for windows-x86_64 and run its C tests under Wine.
#
#   native/scripts/cross-windows.sh [--no-run]
#
# Toolchain (native/scripts/cross-setup.sh installs it): clang-14 targeting
# x86_64-w64-mingw32 with -fno-emulated-tls (native TLS: a thread-local is a %gs-relative
# load through _tls_index, where mingw gcc would call __emutls_get_address on every access),
# lld-14, mingw-w64's headers, import libraries and libgcc, and wine for the tests.
#
# Output, in native/target/cross-windows-x86_64/:
#   exalloc.dll          the library (exports: exactly the public headers' EXA_API functions)
#   libexalloc.dll.a     its import library
#   exalloc_tests.exe    the C test runner (native/test/*.c), linked against exalloc.dll
#   tests.log            the runner's output under Wine
#
# Checks, each failing the script:
#   - the library and the tests compile with the project's warning flags (-Werror);
#   - the DLL imports only kernel32.dll, advapi32.dll and msvcrt.dll;
#   - exports = the EXA_API declarations of include/exalloc.h and include/exalloc_nt.h;
#   - no emulated TLS: the DLL imports and defines no __emutls_* symbol, and the lookaside
#     fast path (exa_lookaside_allocate) reads its thread-locals through %gs:0x58 (the TEB's
#     ThreadLocalStoragePointer);
#   - the C tests pass under Wine: prints "windows-x86_64: N passed, N failed, N skipped".
# Wine runs with its own prefix under the output directory (nothing in $HOME).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/target/cross-windows-x86_64
run=1
[ "${1:-}" = --no-run ] && run=0
fail() { echo "cross-windows: $*" >&2; exit 1; }

cc=${EXA_WIN_CC:-clang-14}
command -v "$cc" >/dev/null || fail "$cc not found (native/scripts/cross-setup.sh installs it)"
command -v x86_64-w64-mingw32-gcc >/dev/null || fail "mingw-w64 not found (native/scripts/cross-setup.sh installs it)"
objdump=$(command -v llvm-objdump-14 || command -v x86_64-w64-mingw32-objdump) || fail "no objdump for PE files"
libgcc_dir=$(dirname "$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)")
target=(--target=x86_64-w64-mingw32 -fno-emulated-tls)
link=(-fuse-ld=lld-14 -L"$libgcc_dir")
warn=(-std=c11 -O2 -g -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror)

rm -rf "$out/obj" "$out/test-obj"
mkdir -p "$out/obj" "$out/test-obj"

# The library: every source as the Maven build compiles it (platform/ through base/platform.c).
objs=()
while IFS= read -r f; do
  rel=${f#"$here/src/"}
  o=$out/obj/${rel//\//_}.o
  "$cc" "${target[@]}" "${warn[@]}" -DEXA_BUILDING_LIBRARY=1 -I"$here/include" -I"$here/src" -c "$f" -o "$o"
  objs+=("$o")
done < <(find "$here/src" -name '*.c' -not -path '*/platform/*' | sort)
"$cc" "${target[@]}" "${link[@]}" -shared -o "$out/exalloc.dll" "${objs[@]}" -Wl,--out-implib,"$out/libexalloc.dll.a" -ladvapi32
echo "cross-windows: built $out/exalloc.dll"

# Self-contained: the DLL needs only DLLs every Windows has (no libgcc, winpthread or libc++).
imports=$("$objdump" -p "$out/exalloc.dll" | awk '/DLL Name:/ {print $3}' | sort -u | tr '\n' ' ')
for d in $imports; do
  case "$(echo "$d" | tr 'A-Z' 'a-z')" in
    kernel32.dll|advapi32.dll|msvcrt.dll) ;;
    *) fail "exalloc.dll imports $d (only kernel32, advapi32 and msvcrt are expected)" ;;
  esac
done
echo "cross-windows: imports ok: $imports"

# Exports: exactly the public functions.
public=$(cat "$here/include/exalloc.h" "$here/include/exalloc_nt.h" | grep -v '^\s*#' \
  | tr '\n' ' ' | grep -oE 'EXA_API[^;{(]*\(' | grep -v '^EXA_API extern ' | grep -oE '[A-Za-z_][A-Za-z0-9_]*\s*\($' \
  | tr -d ' (' | sort -u)
# (the one piece of public data, the inline lookaside path's thread block, is ELF-only: the
# header refuses that path on Windows, so the DLL does not export it)
exported=$("$objdump" -p "$out/exalloc.dll" | sed -n '/^Export Table:/,/^$/p' | awk '$1 ~ /^[0-9]+$/ && NF == 3 {print $3}' | sort -u)
extra=$(comm -13 <(echo "$public") <(echo "$exported"))
missing=$(comm -23 <(echo "$public") <(echo "$exported"))
[ -z "$missing" ] || fail "exalloc.dll does not export: $(echo $missing)"
[ -z "$extra" ] || fail "exalloc.dll exports names the public headers do not declare: $(echo $extra)"
echo "cross-windows: exports ok: $(echo "$exported" | wc -l) = the public headers' EXA_API functions"

# Native TLS, not emulated: no __emutls anywhere, and the lookaside fast path reads the TEB's
# TLS array (gs:0x58) itself.
if "$objdump" -p "$out/exalloc.dll" | grep -q __emutls || "$objdump" -t "$out/exalloc.dll" | grep -q __emutls; then
  fail "exalloc.dll uses emulated TLS (__emutls_*): build with -fno-emulated-tls"
fi
fast=$("$objdump" -d --no-show-raw-insn --disassemble-symbols=exa_lookaside_allocate "$out/exalloc.dll")
echo "$fast" | grep -qE '%gs:(0x58|88)\b' || fail "exa_lookaside_allocate does not read its thread-locals through %gs:0x58"
echo "$fast" | grep -q 'emutls' && fail "exa_lookaside_allocate calls emulated TLS"
echo "cross-windows: native TLS: exa_lookaside_allocate reads %gs:0x58, $(echo "$fast" | grep -cE '^ *[0-9a-f]+:') instructions, no __emutls"

# The C tests: one executable linked against the import library (winpthreads statically, for
# the tests' own threads; the library itself uses Win32 threads only).
tobjs=()
for f in "$here"/test/*.c; do
  o=$out/test-obj/$(basename "${f%.c}").o
  "$cc" "${target[@]}" "${warn[@]}" -I"$here/include" -I"$here/src" -I"$here/test" -c "$f" -o "$o"
  tobjs+=("$o")
done
"$cc" "${target[@]}" "${link[@]}" -o "$out/exalloc_tests.exe" "${tobjs[@]}" "$out/libexalloc.dll.a" -Wl,-Bstatic -lpthread -Wl,-Bdynamic
echo "cross-windows: built $out/exalloc_tests.exe"
[ $run = 1 ] || exit 0

command -v wine >/dev/null || fail "wine not found (native/scripts/cross-setup.sh installs it)"
export WINEPREFIX=$out/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY
if [ ! -d "$WINEPREFIX" ]; then wineboot -i >/dev/null 2>&1 || true; fi
set +e
# A hung case must not hang the build: the whole run gets 20 minutes (it takes about one).
(cd "$out" && timeout -k 10 "${EXA_WIN_TEST_TIMEOUT:-1200}" wine ./exalloc_tests.exe) >"$out/tests.log" 2>&1
rc=$?
set -e
grep -E '^(FAIL|    FAILED|    skipped|    child)' "$out/tests.log" || true
summary=$(grep -E '^native: [0-9]+ passed, [0-9]+ failed' "$out/tests.log" | tail -1)
[ -n "$summary" ] || { tail -30 "$out/tests.log"; fail "the test runner printed no summary (exit $rc)"; }
echo "windows-x86_64: ${summary#native: }"
[ $rc = 0 ] || fail "C tests failed under wine (exit $rc); the log is $out/tests.log"
