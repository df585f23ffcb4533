#!/usr/bin/env bash
# Build the native benchmark, one binary per peer, into bench/target/native/ (or $1).
#
#   bench_glibc     glibc malloc/free + exa_lookaside (libexalloc.so)
#   bench_jemalloc  \
#   bench_mimalloc   > only if the Debian package is installed (libjemalloc-dev,
#   bench_tcmalloc  /   libmimalloc-dev, libgoogle-perftools-dev); skipped with a note otherwise
#
# libexalloc.so: the Maven/NAR build's (native/target/nar/...), or, when that is missing,
# one built here from native/src/*.c with the NAR build's flags.
# Prints the built binaries' names, one a line, on stdout; notes go to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/bench/target/native}
mkdir -p "$out"
cc=${CC:-gcc}
cflags=(-std=c11 -O2 -g -Wall -Wextra -Werror -pthread)

nar_lib="$root/native/target/nar/exalloc-native-0.1.0-SNAPSHOT-amd64-Linux-gpp-shared/lib/amd64-Linux-gpp/shared/libexalloc.so"
if [ -f "$nar_lib" ]; then
  libdir=$(dirname "$nar_lib")
else
  echo "build.sh: $nar_lib not found; building libexalloc.so from native/src" >&2
  libdir="$out/lib"
  mkdir -p "$libdir"
  "$cc" -std=c11 -O2 -g -Wall -Wextra -Werror -fvisibility=hidden -fPIC -shared -pthread \
    -I"$root/native/include" -I"$root/native/src" -o "$libdir/libexalloc.so" "$root"/native/src/*.c
fi

"$cc" "${cflags[@]}" -DBENCH_WITH_EXALLOC -DBENCH_PEER='"glibc"' -I"$root/native/include" \
  -o "$out/bench_glibc" "$here/bench_native.c" -L"$libdir" -lexalloc -Wl,-rpath,"$libdir" -ldl
echo "$out/bench_glibc"

# peer name, linker flag, a file that tells whether the -dev package is installed
peer() {
  local name=$1 lib=$2 probe=$3
  if ! ls $probe >/dev/null 2>&1; then
    echo "build.sh: $name not installed ($probe missing): skipped" >&2
    return 0
  fi
  # --no-as-needed: nothing in the binary names the allocator, it only interposes malloc/free
  "$cc" "${cflags[@]}" -DBENCH_PEER="\"$name\"" -o "$out/bench_$name" "$here/bench_native.c" \
    -Wl,--no-as-needed "$lib" -Wl,--as-needed -ldl
  echo "$out/bench_$name"
}
peer jemalloc -ljemalloc "/usr/lib/*/libjemalloc.so"
peer mimalloc -lmimalloc "/usr/lib/*/libmimalloc.so"
peer tcmalloc -ltcmalloc_minimal "/usr/lib/*/libtcmalloc_minimal.so"
