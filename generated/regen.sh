#!/usr/bin/env bash
# Regenerate generated/src/main/java/dev/exalloc/internal/bindings from native/include/exalloc.h
# with an INSTALLED jextract (this project never builds or ships jextract itself). java-api
# compiles these sources into module dev.exalloc, which does not export the package.
#
#   generated/regen.sh            rewrite the bindings in place
#   generated/regen.sh --check    regenerate into a temporary directory and fail on any
#                                 difference with the committed bindings
#
# jextract is found as $JEXTRACT, else `jextract` on PATH. Output is deterministic (two runs
# diff clean), so the committed files are exactly what this script produces.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
header="$root/native/include/exalloc.h"
pkg=dev.exalloc.internal.bindings
pkgdir=${pkg//.//}
jextract=${JEXTRACT:-$(command -v jextract || true)}
if [[ -z "$jextract" || ! -x "$jextract" ]]; then
  echo "regen.sh: no jextract found (set JEXTRACT=/path/to/bin/jextract or put it on PATH)." >&2
  echo "regen.sh: jextract is not in any package registry the build can reach: install it yourself," >&2
  echo "regen.sh: built from the openjdk/jextract sources (https://github.com/openjdk/jextract, its README" >&2
  echo "regen.sh: says how; it needs a JDK and LLVM/libclang), then put its bin/ on PATH or set JEXTRACT." >&2
  exit 2
fi

# The library's class files are for Java 22, and jextract's current output calls one method that
# Java 23 added: SymbolLookup.findOrThrow(name). Rewrite each call into its Java 22 spelling,
# find(name).orElseThrow(...), with the same failure (UnsatisfiedLinkError) that jextract's own
# Java 22 output throws. Part of generating: the committed files are this function's output.
java22() { # $1 = output root
  find "$1/$pkgdir" -name '*.java' -exec sed -i -E \
    's/SYMBOL_LOOKUP\.findOrThrow\("([A-Za-z0-9_]+)"\)/SYMBOL_LOOKUP.find("\1").orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: \1"))/g' {} +
  if grep -rq 'findOrThrow' "$1/$pkgdir"; then
    echo "regen.sh: a findOrThrow call is left that the Java 22 rewrite did not match" >&2
    exit 1
  fi
}

# C long is 64 bits on Linux and macOS (LP64) but 32 on Windows (LLP64), where the canonical
# layout of "long" is JAVA_INT and the generated cast to OfLong would fail when the bindings load.
# exalloc.h declares no plain long (checked here), so every long jextract reports on this LP64
# host is a 64-bit typedef (uintptr_t: the library is built for 64-bit targets only). Pin C_LONG
# to 64 bits so no binding depends on the size of C long. Part of generating, like java22.
long_free() { # $1 = output root
  local shared="$1/$pkgdir/exalloc_h\$shared.java"
  if perl -0777 -ne 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g; s{\blong\s+long\b}{}g; exit(/\blong\b/ ? 0 : 1)' "$header"; then
    echo "regen.sh: $header declares a plain long, whose size differs between Linux and Windows: use exa_i64/exa_u64 or a fixed-width type" >&2
    exit 1
  fi
  perl -0pi -e 's{^(\s*)public static final ValueLayout\.OfLong C_LONG = \(ValueLayout\.OfLong\) Linker\.nativeLinker\(\)\.canonicalLayouts\(\)\.get\("long"\);}{$1// exalloc.h has no plain long: each long here is a 64-bit typedef (uintptr_t) on every\n$1// target, so C_LONG is 64 bits everywhere, also where C long is 32 (Windows). regen.sh writes it.\n$1public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;}m' "$shared"
  if grep -q 'canonicalLayouts().get("long")' "$shared" || ! grep -q 'C_LONG = ValueLayout.JAVA_LONG;' "$shared"; then
    echo "regen.sh: the C_LONG rewrite did not match $shared" >&2
    exit 1
  fi
}

generate() { # $1 = output root
  local out=$1 work
  work=$(mktemp -d)
  # jextract reads ./compile_flags.txt if present: run it from an empty directory.
  (cd "$work" && "$jextract" --output "$out" --target-package "$pkg" --header-class-name exalloc_h \
      -I "$root/native/include" @"$here/includes.txt" "$header")
  rmdir "$work"
  java22 "$out"
  long_free "$out"
}

if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  if diff -r "$tmp/$pkgdir" "$here/src/main/java/$pkgdir" >/dev/null; then
    echo "regen.sh: bindings match native/include/exalloc.h"
  else
    diff -r "$tmp/$pkgdir" "$here/src/main/java/$pkgdir" | head -40 >&2
    echo "regen.sh: bindings differ from native/include/exalloc.h: run generated/regen.sh and commit" >&2
    exit 1
  fi
  exit 0
fi

rm -rf "$here/src/main/java/$pkgdir"
generate "$here/src/main/java"
echo "regen.sh: wrote $(ls "$here/src/main/java/$pkgdir" | wc -l) files to generated/src/main/java/$pkgdir"
