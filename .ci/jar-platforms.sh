#!/usr/bin/env bash
# Lists the native libraries in the java-api jar and fails unless it carries each required
# platform's library, in that platform's binary format, and its platform index
# (dev/exalloc/native/platforms.txt) names exactly the libraries it carries.
#
#   .ci/jar-platforms.sh [JAR [PLATFORM...]]
#
# JAR defaults to java-api/target/exalloc-<version>.jar; the platforms default to the three of
# the multi-platform jar (linux-x86_64 linux-aarch64 windows-x86_64). Build that jar with
#   ./mvnw -B verify -Pmulti-platform     (after native/scripts/cross-*.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
jar=${1:-}
if [ -z "$jar" ]; then
  jar=$(ls java-api/target/exalloc-*.jar 2>/dev/null | grep -vE -- '-(sources|javadoc|tests)\.jar$' | head -1 || true)
fi
[ -n "$jar" ] && [ -f "$jar" ] || { echo "jar-platforms: no java-api jar (build it first)" >&2; exit 1; }
shift || true
required=("$@")
[ ${#required[@]} -gt 0 ] || required=(linux-x86_64 linux-aarch64 windows-x86_64)

python3 - "$jar" "${required[@]}" <<'PY'
import re, struct, sys, zipfile
jar, required = sys.argv[1], sys.argv[2:]
ROOT = "dev/exalloc/native/"
NAMES = {"linux": "libexalloc.so", "macos": "libexalloc.dylib", "windows": "exalloc.dll"}
PLATFORM = re.compile(r"(linux|macos|windows)-(x86_64|aarch64)(-musl)?")
ELF_MACHINE = {0x3E: "x86_64", 0xB7: "aarch64"}
PE_MACHINE = {0x8664: "x86_64", 0xAA64: "aarch64"}

def describe(data):
    """(format, arch) of a library's bytes, or (None, None)."""
    if data[:4] == b"\x7fELF" and len(data) > 20:
        return "ELF", ELF_MACHINE.get(struct.unpack_from("<H", data, 18)[0])
    if data[:2] == b"MZ" and len(data) > 64:
        pe = struct.unpack_from("<I", data, 60)[0]
        if data[pe:pe + 4] == b"PE\0\0":
            return "PE", PE_MACHINE.get(struct.unpack_from("<H", data, pe + 4)[0])
    if data[:4] in (b"\xcf\xfa\xed\xfe",):
        return "Mach-O", {0x01000007: "x86_64", 0x0100000C: "aarch64"}.get(struct.unpack_from("<I", data, 4)[0])
    return None, None

z = zipfile.ZipFile(jar)
problems, carried = [], set()
print(f"jar-platforms: {jar}")
for name in sorted(z.namelist()):
    if not name.startswith(ROOT) or name.endswith("/"):
        continue
    rest = name[len(ROOT):]
    if "/" not in rest:
        continue
    platform, file = rest.split("/", 1)
    m = PLATFORM.fullmatch(platform)
    data = z.read(name)
    fmt, arch = describe(data)
    print(f"  {platform:<20} {file:<18} {len(data):>9} bytes  {fmt or 'unknown format'} {arch or ''}")
    if not m:
        problems.append(f"{name}: not a platform folder")
        continue
    os_, want_arch, musl = m.group(1), m.group(2), m.group(3)
    if file != NAMES[os_]:
        problems.append(f"{name}: the library on {os_} is named {NAMES[os_]}")
        continue
    want_fmt = {"linux": "ELF", "windows": "PE", "macos": "Mach-O"}[os_]
    if (fmt, arch) != (want_fmt, want_arch):
        problems.append(f"{name}: is {fmt or 'not a library'} {arch or ''}, expected {want_fmt} {want_arch}")
    elif os_ == "linux" and bool(musl) == (b"libc.so.6" in data):
        problems.append(f"{name}: " + ("linked against glibc (libc.so.6)" if musl else "not linked against glibc"))
    carried.add(platform)

index = z.read(ROOT + "platforms.txt").decode() if ROOT + "platforms.txt" in z.namelist() else None
if index is None:
    problems.append(ROOT + "platforms.txt is missing")
else:
    listed = {l.strip() for l in index.splitlines() if l.strip() and not l.startswith("#")}
    if listed != carried:
        problems.append(f"platforms.txt lists {sorted(listed)} but the jar carries {sorted(carried)}")
for p in required:
    if p not in carried:
        problems.append(f"no library for {p}")
for p in problems:
    print(f"jar-platforms: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"jar-platforms: ok: {len(carried)} platforms ({', '.join(sorted(carried))}); required {', '.join(required)}")
PY
