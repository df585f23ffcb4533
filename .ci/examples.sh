#!/usr/bin/env bash
# Tests the published shape, not the reactor: installs exalloc into a temporary local Maven
# repository, builds examples/consumer (a separate project that depends on exalloc by version
# through the BOM) against it, and runs the consumer as users would, with one native-access
# grant each:
#   class path:  java --enable-native-access=ALL-UNNAMED -cp ... example.consumer.Main
#   module path: java --enable-native-access=dev.exalloc -p ... -m example.consumer/...
# Both runs add --illegal-native-access=deny, so a missing grant fails instead of warning.
# The consumer checks real behaviour (allocate, write, read back, statistics) and exits
# non-zero on any mismatch. Plugins already in ~/.m2 are reused (a read-only tail repository).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh
jdk=$(find_jdk22)
version=$(project_version)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
repos=(-Dmaven.repo.local="$repo" -Dmaven.repo.local.tail="$HOME/.m2/repository")

echo "examples: installing exalloc $version into a temporary repository"
./mvnw -B -q install -DskipTests "${repos[@]}"
for a in exalloc exalloc-bom exalloc-parent; do
  [ -d "$repo/dev/exalloc/$a/$version" ] || { echo "examples: $a $version was not installed" >&2; exit 1; }
done

echo "examples: building examples/consumer against it (Maven on $jdk)"
rm -rf examples/consumer/target
JAVA_HOME="$jdk" ./mvnw -B -q -f examples/consumer/pom.xml "${repos[@]}" -Dexalloc.version="$version" \
  package dependency:build-classpath -Dmdep.outputFile="$tmp/classpath.txt"
deps=$(cat "$tmp/classpath.txt")
case "$deps" in
  "$repo/dev/exalloc/exalloc/$version/"*) ;;
  *) echo "examples: the consumer did not resolve exalloc from the temporary repository: $deps" >&2; exit 1 ;;
esac
app=examples/consumer/target/exalloc-consumer-1.0.jar

run() { # $1 = expected last line, rest = java arguments
  local expect=$1 out
  shift
  echo "examples: java $*"
  out=$("$jdk/bin/java" --illegal-native-access=deny "$@" 2>&1) || { echo "$out" >&2; echo "examples: FAILED" >&2; exit 1; }
  echo "$out" | sed 's/^/  /'
  [ "$(echo "$out" | tail -1)" = "$expect" ] || { echo "examples: expected '$expect'" >&2; exit 1; }
}
run "exalloc OK (class path)" \
  --enable-native-access=ALL-UNNAMED -cp "$app:$deps" example.consumer.Main
run "exalloc OK (module path, module dev.exalloc)" \
  --enable-native-access=dev.exalloc -p "$app:$deps" -m example.consumer/example.consumer.Main
rm -rf examples/consumer/target
echo "examples: consumer passed on the class path and on the module path"
