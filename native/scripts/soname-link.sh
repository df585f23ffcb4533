#!/usr/bin/env bash
# Give the NAR build's library directory the name the SONAME points at:
#   <nar lib dir>/libexalloc.so.<abi> -> libexalloc.so
# Programs linked against the built library (-L<dir> -lexalloc: the C tests, the native
# benchmark) record libexalloc.so.<abi> as their dependency, so the loader looks for that
# name. The Maven build runs it right after the library is linked (process-classes), with
# --remove before NAR zips the directory (prepare-package: NAR would store the link as a
# second copy of the library), and again after (package).
#
#   native/scripts/soname-link.sh LIBDIR ABI [--remove]
set -euo pipefail
dir=${1:?usage: soname-link.sh LIBDIR ABI [--remove]}
abi=${2:?usage: soname-link.sh LIBDIR ABI [--remove]}
if [ "${3:-}" = --remove ]; then
  rm -f "$dir/libexalloc.so.$abi"
  echo "soname-link: removed $dir/libexalloc.so.$abi for NAR's archive"
  exit 0
fi
case "$(uname -s)" in
  Linux) ;;
  *) echo "soname-link: $(uname -s): nothing to do"; exit 0 ;;
esac
[ -f "$dir/libexalloc.so" ] || { echo "soname-link: no $dir/libexalloc.so" >&2; exit 1; }
ln -sfn libexalloc.so "$dir/libexalloc.so.$abi"
echo "soname-link: $dir/libexalloc.so.$abi -> libexalloc.so"
