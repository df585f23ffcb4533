#!/usr/bin/env bash
# Use the C package as its users would: unpack exalloc-<version>-<platform>.tar.gz into a
# temporary prefix and build and run, against that prefix only,
#   1. a C99 program with `pkg-config --cflags --libs exalloc` (consumers/c),
#   2. a C++17 program that includes both headers (consumers/cpp),
#   3. a CMake project with find_package(exalloc CONFIG) and exalloc::exalloc (consumers/cmake).
# Each program checks real behaviour (lookaside counters, LIFO reuse, pool tag counters,
# a queued spin lock across threads) and exits non-zero on a failure. Before that, the
# archive's layout is checked (the two headers only, the SONAME links, the package files).
# pkg-config and cmake come from Debian: installed with apt-get when missing and root.
#
#   native/scripts/consumers.sh [ARCHIVE]   (default: the one native/target holds)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "consumers: $*" >&2; exit 1; }

archive=${1:-}
if [ -z "$archive" ]; then
  mapfile -t found < <(find "$here/target" -maxdepth 1 -name 'exalloc-*.tar.gz' -type f)
  [ ${#found[@]} = 1 ] || fail "expected one native/target/exalloc-*.tar.gz (./mvnw -pl native package), found ${#found[@]}"
  archive=${found[0]}
fi
[ -f "$archive" ] || fail "no archive $archive"

need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "consumers: installing ${need[*]} (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    fail "missing ${need[*]} and cannot install them (not root, or no apt-get)"
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/exalloc-consumers.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
mkdir -p "$prefix"
tar -xzf "$archive" -C "$prefix" --strip-components=1

# the layout
[ "$(cd "$prefix/include" && ls | tr '\n' ' ')" = "exalloc.h exalloc_nt.h exalloc_nt_atomic.h " ] || fail "include/ holds $(ls "$prefix/include")"
abi=$(sed -n 's/.*\bEXA_ABI_VERSION *= *\([0-9][0-9]*\).*/\1/p' "$prefix/include/exalloc.h")
[ -L "$prefix/lib/libexalloc.so" ] && [ -L "$prefix/lib/libexalloc.so.$abi" ] || fail "lib/ lacks the links libexalloc.so and libexalloc.so.$abi"
real=$(readlink -f "$prefix/lib/libexalloc.so")
[ -f "$real" ] && [ ! -L "$real" ] || fail "lib/libexalloc.so does not lead to a file"
soname=$(objdump -p "$real" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "libexalloc.so.$abi" ] || fail "the packaged library's SONAME is '$soname'"
for f in lib/pkgconfig/exalloc.pc lib/cmake/exalloc/exallocConfig.cmake lib/cmake/exalloc/exallocConfigVersion.cmake \
         bin/exapoolmon LICENSE README.md; do
  [ -e "$prefix/$f" ] || fail "the archive has no $f"
done
echo "consumers: archive $(basename "$archive"): layout ok ($(basename "$real"), SONAME $soname)"

# the program must load the packaged library, found through its SONAME
loads_packaged() {
  local exe=$1 resolved
  resolved=$(ldd "$exe" | awk -v so="libexalloc.so.$abi" '$1 == so {print $3}')
  [ -n "$resolved" ] && [ "$(readlink -f "$resolved")" = "$real" ] \
    || fail "$(basename "$exe") loads '${resolved:-nothing}' for libexalloc.so.$abi, not the packaged library"
}

# 1. pkg-config, C99
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
version=$(pkg-config --modversion exalloc)
libdir=$(pkg-config --variable=libdir exalloc)
mkdir -p "$work/c"
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is intended
gcc -std=c99 -Wall -Wextra -pedantic -Werror -DEXPECTED_VERSION="\"$version\"" \
  -o "$work/c/consumer" "$here/consumers/c/consumer.c" $(pkg-config --cflags --libs exalloc) -Wl,-rpath,"$libdir"
loads_packaged "$work/c/consumer"
"$work/c/consumer" || fail "the pkg-config C program failed"
echo "consumers: pass: C99 program built with pkg-config (exalloc $version)"

# 2. C++17, both headers
mkdir -p "$work/cpp"
# shellcheck disable=SC2046
g++ -std=c++17 -Wall -Wextra -pedantic -Werror -pthread \
  -o "$work/cpp/consumer" "$here/consumers/cpp/consumer.cpp" $(pkg-config --cflags --libs exalloc) -Wl,-rpath,"$libdir"
loads_packaged "$work/cpp/consumer"
"$work/cpp/consumer" || fail "the C++17 program failed"
echo "consumers: pass: C++17 program with exalloc.h and exalloc_nt.h"

# 3. CMake, find_package(exalloc CONFIG) and exalloc::exalloc
unset PKG_CONFIG_PATH
cmake -S "$here/consumers/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  > "$work/cmake-configure.log" 2>&1 || { cat "$work/cmake-configure.log" >&2; fail "the CMake project did not configure"; }
cmake --build "$work/cmake" > "$work/cmake-build.log" 2>&1 || { cat "$work/cmake-build.log" >&2; fail "the CMake project did not build"; }
loads_packaged "$work/cmake/consumer"
"$work/cmake/consumer" || fail "the CMake program failed"
echo "consumers: pass: CMake project with find_package(exalloc) and exalloc::exalloc ($(cmake --version | head -1))"
# ... and the package's version file refuses a version it does not provide
mkdir -p "$work/cmake-newer"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(newer C)\nfind_package(exalloc 99.0 CONFIG REQUIRED)\n' > "$work/cmake-newer/CMakeLists.txt"
if cmake -S "$work/cmake-newer" -B "$work/cmake-newer/build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/cmake-newer.log" 2>&1; then
  fail "find_package(exalloc 99.0) accepted the package of version $version"
fi
grep -q 'exallocConfig.cmake, version: ' "$work/cmake-newer.log" || { cat "$work/cmake-newer.log" >&2; fail "find_package(exalloc 99.0) failed for another reason than the version"; }
echo "consumers: pass: find_package(exalloc 99.0) refuses version $version"
