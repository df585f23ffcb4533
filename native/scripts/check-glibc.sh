#!/usr/bin/env bash
# The glibc baseline: a Linux libexalloc must load on glibc 2.17 and later, so no symbol it
# imports may ask for a version newer than GLIBC_2.17 (src/base/arch_glibc.h binds the names
# whose default version is newer), and the libraries that held pthread_* and dl* before glibc
# 2.34 must be among its DT_NEEDED entries when it imports such names.
#
#   native/scripts/check-glibc.sh LIB...
#
# Prints, per library, the highest GLIBC_ version it needs; fails listing every symbol above
# GLIBC_2.17. Reads the dynamic symbol table with objdump -T and the NEEDED entries with
# readelf -d (the host's binutils read an AArch64 library's tables too).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: check-glibc.sh LIB..." >&2; exit 2; }
baseline=2.17
objdump=${OBJDUMP:-objdump}
readelf=${READELF:-readelf}
status=0
newer() { # $1 > $2 as versions
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]
}
for lib in "$@"; do
  [ -f "$lib" ] || { echo "check-glibc: no such file: $lib" >&2; status=1; continue; }
  # "(GLIBC_2.34) pthread_create" / "GLIBC_2.34  pthread_create" depending on binutils
  syms=$("$objdump" -T "$lib" | sed -n 's/.*[( ]GLIBC_\([0-9][0-9.]*\))\{0,1\} \{1,\}\([A-Za-z_][A-Za-z0-9_]*\)$/\1 \2/p' | sort -u)
  if [ -z "$syms" ]; then
    echo "check-glibc: $lib: no GLIBC_ versions (not a glibc build?)"
    continue
  fi
  max=$(cut -d' ' -f1 <<<"$syms" | sort -V | tail -1)
  bad=$(while read -r v name; do if newer "$v" "$baseline"; then echo "  $name@GLIBC_$v"; fi; done <<<"$syms")
  needed=$("$readelf" -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  missing=""
  if grep -qE ' (pthread_[a-z_]+)$' <<<"$syms" && ! grep -q 'libpthread\.so\.0' <<<"$needed"; then missing+=" libpthread.so.0"; fi
  if grep -qE ' (dl[a-z]+)$' <<<"$syms" && ! grep -q 'libdl\.so\.2' <<<"$needed"; then missing+=" libdl.so.2"; fi
  if [ -n "$bad" ]; then
    echo "check-glibc: $lib: needs GLIBC_$max, above the GLIBC_$baseline baseline:"
    echo "$bad"
    status=1
  else
    echo "check-glibc: $lib: highest version GLIBC_$max (baseline GLIBC_$baseline): ok"
  fi
  if [ -n "$missing" ]; then
    echo "check-glibc: $lib: imports names that glibc before 2.34 keeps in$missing, which it does not name as NEEDED (it has: $needed)"
    status=1
  fi
done
exit $status
