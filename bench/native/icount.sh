#!/usr/bin/env bash
# Instructions per allocate+free pair, counted by callgrind, for exalloc's lookaside and pool
# routines (its own API and the NT names) and, for comparison, malloc/free (glibc, and tcmalloc
# when libgoogle-perftools-dev is installed). Prints a markdown table.
#
#   bench/native/icount.sh [--out FILE] [--n N] [--note TEXT]...
#     --out FILE   write the table to FILE as well as to stdout
#     --n N        pairs in the shorter run (default 20000; the longer one does 2N)
#     --note TEXT  an extra line under the heading (repeatable), e.g. what the run is a baseline for
#
# Needs valgrind, gcc, python3 and the library the Maven build produced (bench/lib.sh finds it:
# ./mvnw -B -pl native package -Dexalloc.native.skipTests=true builds just that). The driver,
# bench/native/icount_driver.c, is built here against that library and native/include; one pair
# costs (Ir(2N pairs) - Ir(N pairs)) / N, so start-up and set-up cancel out. Counts are exact and
# repeatable on one machine and toolchain (unlike times), which makes them the figure to compare
# before and after a change to the C core.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/bench/lib.sh"

out="" n=20000 notes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --note) notes+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "icount.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
fail() { printf 'icount.sh: %s\n' "$*" >&2; exit 1; }
case "$n" in ''|*[!0-9]*) fail "--n takes a whole number" ;; esac
[ "$n" -gt 0 ] || fail "--n must be > 0"
for tool in valgrind python3 "${CC:-gcc}"; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
done

lib=$(exalloc_native_lib "$root") \
  || fail "no single libexalloc.so (see above); build it: ./mvnw -B -pl native package -Dexalloc.native.skipTests=true"
libdir=$(dirname "$lib")
echo "icount.sh: library $lib" >&2

work="$root/bench/target/icount"
rm -rf "$work"
mkdir -p "$work"
cc=${CC:-gcc}
cflags=(-std=c11 -O2 -g -Wall -Wextra -Werror -I"$root/native/include")
# one binary with glibc's malloc, one with tcmalloc's (it replaces malloc for the whole process)
"$cc" "${cflags[@]}" -o "$work/icount_glibc" "$here/icount_driver.c" "$here/icount_inline.c" \
  -L"$libdir" -lexalloc -Wl,-rpath,"$libdir" -ldl
drivers=(glibc)
if ls /usr/lib/*/libtcmalloc_minimal.so >/dev/null 2>&1; then
  # --no-as-needed: nothing in the driver names tcmalloc, it only interposes malloc/free
  "$cc" "${cflags[@]}" -o "$work/icount_tcmalloc" "$here/icount_driver.c" "$here/icount_inline.c" \
    -L"$libdir" -lexalloc -Wl,-rpath,"$libdir" -Wl,--no-as-needed -ltcmalloc_minimal -Wl,--as-needed -ldl
  drivers+=(tcmalloc)
else
  echo "icount.sh: tcmalloc not installed (libgoogle-perftools-dev): its row is left out" >&2
fi
for d in "${drivers[@]}"; do
  case "$d" in glibc) want=libc.so ;; *) want=lib$d ;; esac
  provider=$("$work/icount_$d" malloc 16 0 | awk -F'\t' '$1 == "malloc" {print $2}')
  case "$provider" in *"$want"*) ;; *) fail "icount_$d: malloc comes from '$provider', expected $want" ;; esac
done

sizes=(16 64 256 1024 4096 mixed)
small=(16 64 256 1024 4096)
# per <driver> <routine> <size>: instructions per pair
per() {
  callgrind_per_op "$n" "$work/callgrind.$1.$2.$3" "$work/icount_$1" "$2" "$3" || fail "callgrind icount_$1 $2 $3"
}
# row <label> <driver> <routine> <size>...: one table row, empty cells for sizes not measured
row() {
  local label=$1 d=$2 r=$3 s cells="" v
  shift 3
  for s in "${sizes[@]}"; do
    v=""
    case " $* " in *" $s "*) v=$(per "$d" "$r" "$s") ;; esac
    cells+=" $v |"
  done
  printf '| %s |%s\n' "$label" "$cells"
  echo "icount.sh: $label done" >&2
}

glibc_version=$(getconf GNU_LIBC_VERSION 2>/dev/null || echo "glibc")
tc_version=$(dpkg-query -W -f '${Version}' libtcmalloc-minimal4 2>/dev/null || true)
commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ]; then
  # the library is built from native/: name the commit that last changed it too
  commit="$commit (native/ as of $(cd "$root" && git log -1 --format=%h HEAD -- native))"
  if [ -n "$(cd "$root" && git status --porcelain -- native 2>/dev/null)" ]; then
    commit="$commit + uncommitted changes in native/"
  fi
fi
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)

table="$work/icount.md"
{
  echo "# Instructions per allocate+free pair (callgrind)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $commit"
  echo "- machine: ${cpu:-unknown}; $("$cc" --version | head -1); $(valgrind --version)"
  for note in ${notes[@]+"${notes[@]}"}; do echo "- $note"; done
  echo
  echo "Instructions per pair: (Ir(2N) - Ir(N)) / N with N = $n, counted by callgrind over the whole process"
  echo "(start-up and set-up cancel out), so each figure also holds the driver's loop and calls, about"
  echo "10 instructions, the same in every row (bench/native/icount_driver.c). Lookaside lists: one list of 64-byte blocks, NT's"
  echo "default depths, non-paged. Pool: NonPagedPoolNx (ExAllocatePoolWithTag) or POOL_FLAG_NON_PAGED"
  echo "(ExAllocatePool2, which zeroes the block unless POOL_FLAG_UNINITIALIZED is given). A request"
  echo "above 4064 bytes (so 4096) is a big allocation: whole pages, not a small block. mixed: the native"
  echo "benchmark's poolmixed pattern (a window of 64 live blocks; each operation frees one in a pseudo-random"
  echo "slot and allocates a pseudo-random size of 16..1024 bytes into it), per free + allocate."
  echo "Made by bench/native/icount.sh."
  echo
  printf '| routine pair | %s |\n' "$(printf '%s B | ' "${sizes[@]}" | sed 's/ | $//; s/mixed B/mixed 16..1024 B (per free + allocate)/')"
  printf '|---|%s\n' "$(printf -- '---:|%.0s' "${sizes[@]}")"
  row "exa_lookaside_allocate / exa_lookaside_free" glibc exa-lookaside 64
  row "ExAllocateFromNPagedLookasideList / ExFreeToNPagedLookasideList" glibc nt-lookaside 64
  row "the same, EXA_NT_INLINE_LOOKASIDE (header-inline fast path)" glibc nt-lookaside-inline 64
  row "ExAllocatePoolWithTag(NonPagedPoolNx) / ExFreePoolWithTag" glibc pool-withtag "${sizes[@]}"
  row "ExAllocatePool2(POOL_FLAG_NON_PAGED) / ExFreePoolWithTag" glibc pool2 "${small[@]}"
  row "ExAllocatePool2(NON_PAGED \\| UNINITIALIZED) / ExFreePoolWithTag" glibc pool2-uninit "${sizes[@]}"
  row "malloc / free ($glibc_version)" glibc malloc "${sizes[@]}"
  if [ -x "$work/icount_tcmalloc" ]; then
    row "malloc / free (tcmalloc_minimal${tc_version:+ $tc_version})" tcmalloc malloc "${sizes[@]}"
  fi
} > "$table"
cat "$table"
if [ -n "$out" ]; then cp "$table" "$out"; fi
