#!/usr/bin/env bash
# Build the C package: exalloc-<version>-<platform>.tar.gz (.zip for Windows) in OUTDIR, with
#   include/                  the public headers
#   lib/                      the library (Linux: libexalloc.so.<abi>.<version> with the links
#                             libexalloc.so.<abi> and libexalloc.so)
#   lib/pkgconfig/exalloc.pc  pkg-config, relocatable (${pcfiledir})
#   lib/cmake/exalloc/        exallocConfig.cmake, exallocConfigVersion.cmake: the imported
#                             target exalloc::exalloc, relocatable (CMAKE_CURRENT_LIST_DIR)
#   bin/exapoolmon            the PoolMon tool (tools/)
#   LICENSE, README.md        (README from dist/README.md)
# under one top-level folder of the archive's name. The Maven build runs it in the package
# phase; the archive is reproducible (sorted entries, fixed owner and time: SOURCE_DATE_EPOCH,
# else the last commit's time).
#
#   native/scripts/dist.sh VERSION PLATFORM LIBRARY TOOLDIR OUTDIR
#     VERSION   the project version (0.1.0-SNAPSHOT); the library's file name uses its numbers
#     PLATFORM  linux-x86_64, linux-aarch64, macos-..., windows-x86_64 (the parent POM's
#               exalloc.platform)
#     LIBRARY   the built library (the NAR build's libexalloc.so / .dylib / exalloc.dll)
#     TOOLDIR   where exapoolmon was built (target/bin)
set -euo pipefail
usage="usage: dist.sh VERSION PLATFORM LIBRARY TOOLDIR OUTDIR"
version=${1:?$usage}; platform=${2:?$usage}; library=${3:?$usage}; tooldir=${4:?$usage}; outdir=${5:?$usage}
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
fail() { echo "dist: $*" >&2; exit 1; }

[ -f "$library" ] || fail "no library at $library (build the native module first)"
abi=$(sed -n 's/.*\bEXA_ABI_VERSION *= *\([0-9][0-9]*\).*/\1/p' "$here/include/exalloc.h")
[ -n "$abi" ] || fail "no EXA_ABI_VERSION in include/exalloc.h"
numeric=$(printf '%s' "$version" | grep -oE '^[0-9]+(\.[0-9]+)*') || fail "version '$version' does not start with numbers"
IFS=. read -r vmajor vminor _ <<< "$numeric.0.0"
# the version the library reports must be the one the package is named for
reported=$(sed -n 's/.*exa_version_string(void) *{ *return "\([^"]*\)".*/\1/p' "$here/src/nt/exalloc.c")
[ "$reported" = "$numeric" ] || fail "exa_version_string() returns '${reported:-?}' but the project version is $version"

name="exalloc-$version-$platform"
stage="$outdir/dist/$name"
rm -rf "$stage"
mkdir -p "$stage/include" "$stage/lib/pkgconfig" "$stage/lib/cmake/exalloc" "$stage/bin"
install -m 644 "$here/include/exalloc.h" "$here/include/exalloc_nt.h" "$here/include/exalloc_nt_atomic.h" "$stage/include/"

soname_note=""
extra_property=""
case "$platform" in
  linux-*)
    real="libexalloc.so.$abi.$numeric"
    install -m 755 "$library" "$stage/lib/$real"
    ln -s "$real" "$stage/lib/libexalloc.so.$abi"
    ln -s "libexalloc.so.$abi" "$stage/lib/libexalloc.so"
    libfile="lib/$real"
    soname_note=" (SONAME libexalloc.so.$abi)"
    extra_property="IMPORTED_SONAME \"libexalloc.so.$abi\""
    tool="exapoolmon"
    ;;
  macos-*)
    real="libexalloc.$abi.dylib"
    install -m 755 "$library" "$stage/lib/$real"
    ln -s "$real" "$stage/lib/libexalloc.dylib"
    libfile="lib/$real"
    extra_property="IMPORTED_SONAME \"@rpath/$real\""
    tool="exapoolmon"
    ;;
  windows-*)
    # the DLL beside the programs, its import library in lib/
    real="exalloc.dll"
    install -m 755 "$library" "$stage/bin/$real"
    implib="${library%.dll}.lib"
    [ -f "$implib" ] && install -m 644 "$implib" "$stage/lib/exalloc.lib"
    libfile="bin/$real"
    extra_property="IMPORTED_IMPLIB \"\${_exalloc_prefix}/lib/exalloc.lib\""
    tool="exapoolmon.exe"
    ;;
  *) fail "unknown platform '$platform'" ;;
esac
if [ -f "$tooldir/$tool" ]; then
  install -m 755 "$tooldir/$tool" "$stage/bin/$tool"
else
  fail "no $tooldir/$tool (tools/build.sh builds it)"
fi
if [ -f "$root/LICENSE" ]; then install -m 644 "$root/LICENSE" "$stage/LICENSE"; else fail "no LICENSE at $root"; fi

case "$platform" in *-x86_64|*-aarch64) ptr=8 ;; *) ptr=4 ;; esac
subst() {
  sed -e "s|@VERSION@|$numeric|g" -e "s|@VERSION_MAJOR@|$vmajor|g" -e "s|@VERSION_MINOR@|$vminor|g" \
      -e "s|@ABI@|$abi|g" -e "s|@PLATFORM@|$platform|g" -e "s|@LIBRARY_FILE@|$libfile|g" \
      -e "s|@LIBRARY_NAME@|$real|g" -e "s|@SONAME_NOTE@|$soname_note|g" \
      -e "s|@EXTRA_PROPERTY@|$extra_property|g" -e "s|@SIZEOF_VOID_P@|$ptr|g" "$1" > "$2"
  if grep -n '@[A-Z_]*@' "$2" >&2; then fail "unreplaced placeholder in $2"; fi
}
subst "$here/dist/exalloc.pc.in" "$stage/lib/pkgconfig/exalloc.pc"
subst "$here/dist/exallocConfig.cmake.in" "$stage/lib/cmake/exalloc/exallocConfig.cmake"
subst "$here/dist/exallocConfigVersion.cmake.in" "$stage/lib/cmake/exalloc/exallocConfigVersion.cmake"
subst "$here/dist/README.md" "$stage/README.md"

epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 315532800)}
find "$stage" -exec touch -h -d "@$epoch" {} +
case "$platform" in
  windows-*)
    archive="$outdir/$name.zip"
    rm -f "$archive"
    (cd "$outdir/dist" && find "$name" | LC_ALL=C sort | zip -q -X -y "$archive" -@)
    ;;
  *)
    archive="$outdir/$name.tar.gz"
    tar -C "$outdir/dist" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
        --format=gnu -cf - "$name" | gzip -n -9 > "$archive"
    ;;
esac
echo "dist: $archive ($(cd "$outdir/dist" && find "$name" -type f | wc -l) files, library $real)"
