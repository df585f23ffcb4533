#!/usr/bin/env bash
# The jextract bindings serve every platform, so every target's C compiler must lay out the
# public structs of exalloc.h as the bindings do. BindingLayouts.java prints the bindings'
# layouts (size, alignment, each member's offset and size) and layout-sizes.c turns them into
# static assertions, compiled (not run) for each target:
#   linux-x86_64       gcc
#   linux-aarch64      aarch64-linux-gnu-gcc
#   linux-x86_64-musl  musl-gcc
#   windows-x86_64     clang-14 --target=x86_64-w64-mingw32, else x86_64-w64-mingw32-gcc
# At load time the Java API compares the sizes once more with the library's exa_struct_size.
#
#   native/scripts/layout-check.sh [--require-all] [CLASSES_DIR]
#
# CLASSES_DIR (default java-api/target/classes) holds the compiled bindings: build java-api
# first. A target whose compiler is missing is skipped and named, unless --require-all
# (native/scripts/cross-setup.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
require_all=0
if [ "${1:-}" = --require-all ]; then require_all=1; shift; fi
classes=${1:-"$root/java-api/target/classes"}
fail() { echo "layout-check: $*" >&2; exit 1; }
[ -d "$classes/dev/exalloc/internal/bindings" ] || fail "no compiled bindings under $classes: build java-api first"

# a JDK 22 or newer (java.lang.foreign final): JAVA_HOME's, java on PATH, or one under /usr/lib/jvm
java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
java=""
for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
  if [ -n "$j" ] && [ -x "$j" ] && [ "$(java_major "$j")" -ge 22 ] 2>/dev/null; then java=$j; break; fi
done
[ -n "$java" ] || fail "needs a JDK 22 or newer (JAVA_HOME, PATH or /usr/lib/jvm)"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$java" --enable-native-access=ALL-UNNAMED -cp "$classes" "$root/native/scripts/BindingLayouts.java" "$classes" > "$out/layouts.h"
structs=$(grep -c '^EXA_LAYOUT' "$out/layouts.h")
fields=$(grep -c '^EXA_FIELD' "$out/layouts.h")
echo "layout-check: the bindings lay out $structs structs, $fields members"

if command -v clang-14 >/dev/null 2>&1 && command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  windows="clang-14 --target=x86_64-w64-mingw32"
else
  windows="x86_64-w64-mingw32-gcc"
fi
checked=0 skipped=()
for target in "linux-x86_64=gcc" "linux-aarch64=aarch64-linux-gnu-gcc" "linux-x86_64-musl=musl-gcc" "windows-x86_64=$windows"; do
  name=${target%%=*} cc=${target#*=}
  if ! command -v "${cc%% *}" >/dev/null 2>&1; then
    skipped+=("$name (no ${cc%% *})")
    continue
  fi
  if ! $cc -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$root/native/include" \
      -DEXA_BINDING_LAYOUTS="\"$out/layouts.h\"" "$root/native/scripts/layout-sizes.c" 2> "$out/$name.log"; then
    grep -E 'error|note: in expansion' "$out/$name.log" | head -20 >&2
    fail "$name ($cc) lays out a public struct differently from the bindings"
  fi
  echo "layout-check: $name ($cc): $structs sizes and alignments, $fields member offsets and sizes match"
  checked=$((checked + 1))
done
if [ ${#skipped[@]} -gt 0 ]; then
  echo "layout-check: skipped: ${skipped[*]}"
  [ $require_all = 0 ] || fail "--require-all: a target's compiler is missing (native/scripts/cross-setup.sh installs them)"
fi
[ $checked -gt 0 ] || fail "no target compiler found"
echo "layout-check: ok ($checked targets)"
