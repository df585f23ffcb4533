#!/usr/bin/env bash
# Deploys the build to a local file repository, as a release would deploy to Maven Central
# (./mvnw deploy -DaltDeploymentRepository=id::url), and checks what Central asks of that
# layout: every deployed POM has name, description, url, a license with its url, scm (url and
# connection) and developers, itself or through a deployed parent; every artifact whose
# packaging is not pom comes with its -sources.jar and -javadoc.jar; every file has .md5 and
# .sha1 checksums that match. The artifacts users need are there, internal ones (bench) are
# not, and the BOM's version is the project's. The exalloc jar holds Java 22 class files only
# (version 66), module-info.class, the bindings and the LICENSE, and Enable-Native-Access in its
# manifest. Signatures (.asc) are the release step's job
# and not checked here (README, Releasing).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh
version=$(project_version)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "deploy-check: ./mvnw deploy to file:$tmp/staging"
./mvnw -B -q deploy -DskipTests -DaltDeploymentRepository=staging::file:"$tmp/staging"

python3 - "$tmp/staging" "$version" <<'PY'
import hashlib, os, re, sys
import xml.etree.ElementTree as ET

root, version = sys.argv[1], sys.argv[2]
NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# What users need: the Java API (with the BOM and the parent its POM names), and the native
# module. Internal modules must not be deployed.
REQUIRED = {"exalloc-parent", "exalloc", "exalloc-bom"}
FORBIDDEN = {"exalloc-bench"}
# exalloc-native (NAR packaging) is checked like the others: native/pom.xml attaches its C
# sources and its C API reference as the -sources.jar and -javadoc.jar.
errors = []

poms = {}   # artifactId -> (dir, pom file stem, parsed root)
base = os.path.join(root, "dev", "exalloc")
for artifact in sorted(os.listdir(base)):
    vdir = os.path.join(base, artifact, version)
    if not os.path.isdir(vdir):
        errors.append(f"{artifact}: no {version} directory")
        continue
    pom_files = sorted(f for f in os.listdir(vdir) if f.endswith(".pom"))
    if not pom_files:
        errors.append(f"{artifact}: no POM")
        continue
    stem = pom_files[-1][:-4]       # newest: snapshots carry a timestamp in the name
    poms[artifact] = (vdir, stem, ET.parse(os.path.join(vdir, pom_files[-1])).getroot())

def text(el, path):
    found = el.find(path, NS)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None

def inherited(artifact, path):
    seen = set()
    while artifact in poms and artifact not in seen:
        seen.add(artifact)
        value = text(poms[artifact][2], path)
        if value:
            return value
        artifact = text(poms[artifact][2], "m:parent/m:artifactId")
    return None

for artifact in sorted(REQUIRED - poms.keys()):
    errors.append(f"{artifact}: not deployed")
for artifact in sorted(FORBIDDEN & poms.keys()):
    errors.append(f"{artifact}: internal, but deployed")

for artifact, (vdir, stem, pom) in sorted(poms.items()):
    missing = [field for field, path in [
        ("name", "m:name"), ("description", "m:description"), ("url", "m:url"),
        ("license name", "m:licenses/m:license/m:name"), ("license url", "m:licenses/m:license/m:url"),
        ("scm url", "m:scm/m:url"), ("scm connection", "m:scm/m:connection"),
        ("developer", "m:developers/m:developer/m:name")] if not inherited(artifact, path)]
    if missing:
        errors.append(f"{artifact}: POM lacks {', '.join(missing)}")
    packaging = text(pom, "m:packaging") or "jar"
    files = set(os.listdir(vdir))
    wanted = [stem + ".pom"]
    if packaging != "pom":
        wanted += [stem + "." + ("jar" if packaging == "jar" else packaging)]
        wanted += [stem + "-sources.jar", stem + "-javadoc.jar"]
    for f in wanted:
        if f not in files:
            errors.append(f"{artifact}: {f} missing")
    for f in sorted(files):
        if f.endswith((".md5", ".sha1", ".sha256", ".sha512")) or f.startswith("maven-metadata"):
            continue
        data = open(os.path.join(vdir, f), "rb").read()
        for ext, algo in (("md5", hashlib.md5), ("sha1", hashlib.sha1)):
            sum_file = os.path.join(vdir, f + "." + ext)
            if not os.path.exists(sum_file):
                errors.append(f"{artifact}: {f}.{ext} missing")
            elif open(sum_file).read().split()[0] != algo(data).hexdigest():
                errors.append(f"{artifact}: {f}.{ext} does not match")
    shown = sorted(re.sub(re.escape(stem), "<a>", f) for f in files if not f.endswith((".md5", ".sha1"))
                   and not f.startswith("maven-metadata"))
    print(f"  {artifact} ({packaging}): {' '.join(shown)} (+ .md5 .sha1 each)")

bom = poms.get("exalloc-bom")
if bom is not None and text(bom[2], "m:version") != version:
    errors.append(f"exalloc-bom: version {text(bom[2], 'm:version')}, project {version}")
if bom is not None:
    managed = [text(d, "m:artifactId") for d in bom[2].findall("m:dependencyManagement/m:dependencies/m:dependency", NS)]
    if "exalloc" not in managed:
        errors.append("exalloc-bom: does not manage exalloc")

# The Java API jar as published: Java 22 class files (major 66) throughout, a modular jar with the
# bindings inside, and the manifest grant for executable jars.
api = poms.get("exalloc")
if api is not None:
    import struct, zipfile
    jar = zipfile.ZipFile(os.path.join(api[0], api[1] + ".jar"))
    majors = {}
    for n in jar.namelist():
        if n.endswith(".class"):
            major = struct.unpack(">H", jar.read(n)[6:8])[0]
            majors.setdefault(major, []).append(n)
    if set(majors) != {66}:
        errors.append("exalloc jar: class-file versions " + ", ".join(
            f"{m} ({len(v)} e.g. {v[0]})" for m, v in sorted(majors.items())) + "; want 66 (Java 22) only")
    names = set(jar.namelist())
    for must in ("module-info.class", "dev/exalloc/internal/bindings/exalloc_h.class", "META-INF/LICENSE"):
        if must not in names:
            errors.append(f"exalloc jar: {must} missing")
    manifest = jar.read("META-INF/MANIFEST.MF").decode()
    if "Enable-Native-Access: ALL-UNNAMED" not in manifest:
        errors.append("exalloc jar: manifest lacks Enable-Native-Access: ALL-UNNAMED")
    print(f"  exalloc jar: {sum(len(v) for v in majors.values())} classes, class-file versions {sorted(majors)}, "
          f"modular, LICENSE, Enable-Native-Access in the manifest")

for e in errors:
    print(f"  ERROR {e}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"deploy-check: {len(poms)} artifacts deployed in Central's layout, metadata complete")
PY
