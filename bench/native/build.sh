#!/usr/bin/env bash
# Build the native benchmark, one binary per peer, into bench/target/native/ (or $1).
#
#   bench_glibc     glibc malloc/free + exa_lookaside (libexalloc.so)
#   bench_jemalloc  \
#   bench_mimalloc   > only if the Debian package is installed (libjemalloc-dev,
#   bench_tcmalloc  /   libmimalloc-dev, libgoogle-perftools-dev); skipped with a note otherwise
#
# libexalloc.so: the one the Maven/NAR build produced (found by bench/lib.sh under
# native/target/nar), or, when there is none, one built here from native/src with the NAR build's
# flags. Fails if several NAR builds are left over.
# Prints the built binaries' names, one a line, on stdout; notes go to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/bench/target/native}
mkdir -p "$out"
cc=${CC:-gcc}
cflags=(-std=c11 -O2 -g -Wall -Wextra -Werror -pthread)

. "$here/../lib.sh"
lib_rc=0
nar_lib=$(exalloc_native_lib "$root" 2> "$out/find-lib.log") || lib_rc=$?
sed 's/^/build.sh: /' "$out/find-lib.log" >&2
if [ $lib_rc = 0 ]; then
  libdir=$(dirname "$nar_lib")
  echo "build.sh: using $nar_lib" >&2
elif [ $lib_rc = 1 ]; then
  echo "build.sh: building libexalloc.so from native/src instead" >&2
  libdir="$out/lib"
  mkdir -p "$libdir"
  # the NAR build's sources: every .c under native/src but platform/ (platform.c #includes those)
  mapfile -t srcs < <(find "$root/native/src" -name '*.c' -not -path '*/platform/*' | sort)
  "$cc" -std=c11 -O2 -g -Wall -Wextra -Werror -fvisibility=hidden -fPIC -shared -pthread \
    -I"$root/native/include" -I"$root/native/src" -o "$libdir/libexalloc.so" "${srcs[@]}"
else
  exit 1
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
