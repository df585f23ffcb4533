#!/usr/bin/env bash
# Check the built shared library's exports and SONAME against the public headers.
#
#   native/scripts/check-exports.sh [LIBRARY]     (default: the NAR build's libexalloc.so)
#
# Passes when
#   - the dynamic symbol table defines exactly the functions that include/exalloc.h and
#     include/exalloc_nt.h declare with EXA_API, and the data they declare with
#     "EXA_API extern" (nothing internal such as _exa_* or an
#     internal function without the exa_ prefix, and nothing public missing);
#   - every export carries the version node of exalloc.map (EXALLOC_<abi>);
#   - the SONAME is libexalloc.so.<abi>, where <abi> is EXA_ABI_VERSION in exalloc.h.
# Needs nm and objdump (binutils). Linux/ELF only; elsewhere it says so and passes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(uname -s)" != Linux ]; then echo "check-exports: not an ELF platform ($(uname -s)): skipped"; exit 0; fi
lib=${1:-}
if [ -z "$lib" ]; then
  mapfile -t found < <(find "$here/target/nar" -path '*-shared/lib/*/shared/libexalloc.so' -type f 2>/dev/null)
  [ ${#found[@]} = 1 ] || { echo "check-exports: expected one built libexalloc.so under $here/target/nar, found ${#found[@]}" >&2; exit 1; }
  lib=${found[0]}
fi
fail() { echo "check-exports: $*" >&2; exit 1; }

abi=$(sed -n 's/.*\bEXA_ABI_VERSION *= *\([0-9][0-9]*\).*/\1/p' "$here/include/exalloc.h")
[ -n "$abi" ] || fail "no EXA_ABI_VERSION in include/exalloc.h"

# The public functions: every declaration that starts with EXA_API, up to its name's '('.
public=$(cat "$here/include/exalloc.h" "$here/include/exalloc_nt.h" | grep -v '^\s*#' \
  | tr '\n' ' ' | grep -oE 'EXA_API[^;{(]*\(' | grep -v '^EXA_API extern ' | grep -oE '[A-Za-z_][A-Za-z0-9_]*\s*\($' \
  | tr -d ' (' | sort -u)
[ -n "$public" ] || fail "found no EXA_API declarations in the public headers"
# Public data (the inline lookaside path's thread block): "EXA_API extern ... NAME" up to the
# first attribute or ';'.
data=$(cat "$here/include/exalloc.h" "$here/include/exalloc_nt.h" | grep -v '^\s*#' | tr '\n' ' ' \
  | grep -oE 'EXA_API extern [^;(]*' | sed -E 's/ *__attribute__ *$//' | grep -oE '[A-Za-z_][A-Za-z0-9_]*\s*$' \
  | tr -d ' ' | sort -u)
public=$(printf '%s\n%s\n' "$public" "$data" | grep -v '^$' | sort -u)

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^EXALLOC_' | sort -u)
extra=$(comm -13 <(echo "$public") <(echo "$exported"))
missing=$(comm -23 <(echo "$public") <(echo "$exported"))
[ -z "$extra" ] || fail "$lib exports names the public headers do not declare: $(echo $extra)"
[ -z "$missing" ] || fail "$lib does not export these public functions: $(echo $missing)"

unversioned=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v "@@EXALLOC_$abi\$" | grep -v "^EXALLOC_$abi\$" || true)
[ -z "$unversioned" ] || fail "exports without the version node EXALLOC_$abi: $(echo $unversioned | head -c 400)"

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "libexalloc.so.$abi" ] || fail "SONAME is '${soname:-none}', expected libexalloc.so.$abi (EXA_ABI_VERSION = $abi)"

echo "check-exports: ok: $(echo "$exported" | wc -l) exports = the public headers' EXA_API functions, version node EXALLOC_$abi, SONAME $soname"
