#!/usr/bin/env bash
# Reproducible builds: two clean builds of the same commit in the same directory must give
# byte-identical published jars (java-api's jar, which embeds libexalloc, its sources and javadoc jars, and the native
# module's sources and javadoc jars). Prints the sha256 of each and fails on any difference, naming the entries
# that differ.
#
# The native module's NAR archives are compared entry by entry instead: nar-maven-plugin
# ignores project.build.outputTimestamp, stamps each entry with the build time, writes the
# build date into nar.properties and file times into cpptasks' history.xml. Those three are
# reported; any other difference (the library itself, the headers) fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for run in 1 2; do
  echo "reproducible: clean build $run"
  ./mvnw -B -q clean package -DskipTests
  mkdir -p "$tmp/$run"
  cp java-api/target/exalloc-*.jar native/target/exalloc-native-*-sources.jar native/target/exalloc-native-*-javadoc.jar native/target/exalloc-native-*.nar "$tmp/$run/"
done

python3 - "$tmp/1" "$tmp/2" <<'PY'
import hashlib, os, sys, zipfile
one, two = sys.argv[1], sys.argv[2]
NAR_BUILD_STAMPS = ("nar.properties", "history.xml")
failed = False

def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()

def entry_diffs(a, b):
    za, zb = zipfile.ZipFile(a), zipfile.ZipFile(b)
    na, nb = set(za.namelist()), set(zb.namelist())
    diffs = sorted(na ^ nb)
    diffs += sorted(n for n in na & nb if za.read(n) != zb.read(n))
    return diffs

names = sorted(os.listdir(one))
jars = [n for n in names if n.endswith(".jar")]
if not jars:
    print("reproducible: no published jar was built", file=sys.stderr)
    sys.exit(1)
for name in names:
    a, b = os.path.join(one, name), os.path.join(two, name)
    if not os.path.exists(b):
        print(f"  {name}: built only once", file=sys.stderr)
        failed = True
        continue
    same = sha(a) == sha(b)
    print(f"  {sha(a)}  {name}" + ("" if same else f"\n  {sha(b)}  {name} (second build)"))
    if same:
        continue
    diffs = entry_diffs(a, b)
    if name.endswith(".jar"):
        failed = True
        print(f"  {name} DIFFERS; entries: {', '.join(diffs) or 'none (entry times or order only)'}",
              file=sys.stderr)
    else:
        real = [d for d in diffs if os.path.basename(d) not in NAR_BUILD_STAMPS]
        if real:
            failed = True
            print(f"  {name} DIFFERS in content: {', '.join(real)}", file=sys.stderr)
        else:
            print(f"    NAR archive, not byte-identical: build-time stamps only "
                  f"({', '.join(diffs) or 'entry times'}); every other entry is identical")
if failed:
    print("reproducible: the two builds differ", file=sys.stderr)
    sys.exit(1)
print(f"reproducible: {len(jars)} published jars byte-identical across two clean builds")
PY
