#!/usr/bin/env bash
# exalloc benchmarks: the native C benchmark (exa_lookaside vs glibc, jemalloc, mimalloc, tcmalloc),
# instruction counts under callgrind, and the JMH benchmarks (Lookaside vs Arena vs malloc via FFM).
#
#   bench/run.sh            full run (about 8 minutes on 2 cores); tables to bench/results/latest.md
#   bench/run.sh --smoke    tiny iteration counts, proves the harness works (well under 2 minutes);
#                           tables to bench/target/bench-run/smoke.md (latest.md is left alone)
#   bench/run.sh --native-only | --java-only    one half (combinable with --smoke)
#
# Builds what it needs: `./mvnw -B package -DskipTests` when the benchmarks jar or the native
# library is missing or older than the sources, then bench/native/build.sh. Exits non-zero if any
# step fails or any expected result is missing. See bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

smoke=0 native=1 java=1
for a in "$@"; do
  case "$a" in
    --smoke) smoke=1 ;;
    --native-only) java=0 ;;
    --java-only) native=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$a' (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$native$java" = 00 ]; then echo "run.sh: --native-only and --java-only exclude each other" >&2; exit 2; fi

work="$root/bench/target/bench-run"
rm -rf "$work"
mkdir -p "$work"
if [ $smoke = 1 ]; then out_md="$work/smoke.md"; else out_md="$root/bench/results/latest.md"; fi

log() { printf '[bench] %s\n' "$*" >&2; }
fail() { printf '[bench] FAILED: %s\n' "$*" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || fail "python3 is needed to parse the results"

# ---------------------------------------------------------------------------------------------
# A JDK >= 22 (FFM is final since 22; the classes target 25)
# ---------------------------------------------------------------------------------------------
java_feature() { "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'; }
find_java() {
  local c v cands=()
  [ -n "${EXALLOC_JAVA:-}" ] && cands+=("$EXALLOC_JAVA")
  [ -n "${JAVA_HOME:-}" ] && cands+=("$JAVA_HOME/bin/java")
  if [ -f "$HOME/.m2/toolchains.xml" ]; then
    while read -r c; do cands+=("$c/bin/java"); done < <(sed -n 's:.*<jdkHome>\(.*\)</jdkHome>.*:\1:p' "$HOME/.m2/toolchains.xml")
  fi
  command -v java >/dev/null 2>&1 && cands+=("$(command -v java)")
  for c in /usr/lib/jvm/*/bin/java /opt/java/*/bin/java /Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java; do
    [ -x "$c" ] && cands+=("$c")
  done
  for c in "${cands[@]}"; do
    [ -x "$c" ] || continue
    v=$(java_feature "$c")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 22 ] 2>/dev/null; then echo "$c"; return 0; fi
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
jar="$root/bench/target/benchmarks.jar"
lib="$root/native/target/nar/exalloc-native-0.1.0-SNAPSHOT-amd64-Linux-gpp-shared/lib/amd64-Linux-gpp/shared/libexalloc.so"
need_build=0
if [ ! -f "$jar" ] || [ ! -f "$lib" ]; then
  need_build=1
else
  newer=$(cd "$root" && find pom.xml bench/pom.xml bench/src java-api/pom.xml java-api/src generated/pom.xml generated/src \
            native/pom.xml native/src native/include -type f -newer "$jar" 2>/dev/null | head -3 || true)
  if [ -n "$newer" ]; then log "sources newer than benchmarks.jar (e.g. $(echo "$newer" | head -1))"; need_build=1; fi
fi
if [ $need_build = 1 ]; then
  log "building: ./mvnw -B -q package -DskipTests"
  (cd "$root" && ./mvnw -B -q package -DskipTests) || fail "./mvnw package"
fi

# ---------------------------------------------------------------------------------------------
# Native benchmark
# ---------------------------------------------------------------------------------------------
native_tsv="$work/native.tsv"
callgrind_tsv="$work/callgrind.tsv"
: > "$native_tsv"
: > "$callgrind_tsv"
locks_tsv="$work/locks.tsv"
: > "$locks_tsv"
notes="$work/notes.txt"
: > "$notes"
if [ $native = 1 ]; then
  log "building the native benchmark (bench/native/build.sh)"
  "$here/native/build.sh" "$root/bench/target/native" > "$work/native-binaries.txt" 2> "$work/native-build.log" \
    || { cat "$work/native-build.log" >&2; fail "bench/native/build.sh"; }
  grep 'skipped' "$work/native-build.log" | sed 's/^build.sh: //' >> "$notes" || true
  mapfile -t bins < "$work/native-binaries.txt"
  [ $smoke = 1 ] && target_ms=2 || target_ms=100
  for b in "${bins[@]}"; do
    name=$(basename "$b"); peer=${name#bench_}
    log "native: $name time $target_ms"
    "$b" time "$target_ms" > "$work/$name.out" || fail "$name exited with $?"
    # the allocator must really have replaced malloc in this binary
    provider=$(awk -F'\t' '$1 == "INFO" && $2 == "malloc" {print $4}' "$work/$name.out")
    case "$peer" in glibc) want=libc.so ;; tcmalloc) want=libtcmalloc ;; *) want=lib$peer ;; esac
    case "$provider" in *"$want"*) ;; *) fail "$name: malloc comes from '$provider', expected $want" ;; esac
    awk -F'\t' -v OFS='\t' '$1 == "RESULT" {print $2, $3, $4, $5, $6}' "$work/$name.out" >> "$native_tsv"
    awk -F'\t' -v OFS='\t' '$1 == "LOCK" {print $2, $3, $4, $5}' "$work/$name.out" >> "$locks_tsv"
  done

  # Instructions per allocate+free pair: callgrind's total Ir for 2N pairs minus N pairs, / N
  if command -v valgrind >/dev/null 2>&1; then
    if [ $smoke = 1 ]; then cg_n=1000; cg_sizes=(64); else cg_n=20000; cg_sizes=(64 256 4096); fi
    for b in "${bins[@]}"; do
      name=$(basename "$b"); peer=${name#bench_}
      if [ "$peer" = glibc ]; then kinds=(lookaside malloc); else kinds=(malloc); fi
      for kind in "${kinds[@]}"; do
        for size in "${cg_sizes[@]}"; do
          irs=()
          for n in $cg_n $((2 * cg_n)); do
            f="$work/callgrind.$peer.$kind.$size.$n"
            valgrind --tool=callgrind --callgrind-out-file="$f" "$b" callgrind "$kind" "$size" "$n" \
              > "$f.log" 2>&1 || { cat "$f.log" >&2; fail "callgrind $name $kind $size $n"; }
            ir=$(awk '/^totals:/ {print $2}' "$f")
            [ -n "$ir" ] || fail "no totals line in $f"
            irs+=("$ir")
          done
          [ "$kind" = lookaside ] && label=lookaside || label=$peer
          python3 -c "import sys; print('pair\t%s\t%s\t%.1f' % (sys.argv[1], sys.argv[2], (int(sys.argv[4]) - int(sys.argv[3])) / int(sys.argv[5])))" \
            "$size" "$label" "${irs[0]}" "${irs[1]}" "$cg_n" >> "$callgrind_tsv"
        done
      done
      log "callgrind: $name done"
    done
  else
    echo "valgrind not installed: no instruction counts" >> "$notes"
  fi
fi

# ---------------------------------------------------------------------------------------------
# JMH
# ---------------------------------------------------------------------------------------------
jmh_json="$work/jmh.json"
java_bin=""
if [ $java = 1 ]; then
  java_bin=$(find_java) || fail "no JDK >= 22 found (looked at \$EXALLOC_JAVA, \$JAVA_HOME, ~/.m2/toolchains.xml, java on PATH, /usr/lib/jvm/*); set JAVA_HOME to one"
  jmh_args=('dev\.exalloc\.bench\.(Pair|Batch1024|PairTwoThreads)\.' -foe true -rf json -rff "$jmh_json")
  if [ $smoke = 1 ]; then jmh_args+=(-wi 1 -w 100ms -i 1 -r 100ms); fi
  log "JMH on $java_bin: ${jmh_args[*]}"
  set +e
  "$java_bin" -jar "$jar" "${jmh_args[@]}" 2>&1 | tee "$work/jmh.log" | awk '/^# Benchmark:/ {b = $3} /^# Parameters:/ {sub(/^# Parameters: /, ""); print "[bench] jmh: " b " " $0; fflush()}' >&2
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" != 0 ]; then tail -40 "$work/jmh.log" >&2; fail "JMH exited with $rc"; fi
  [ -s "$jmh_json" ] || fail "JMH wrote no results to $jmh_json"
fi

# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$out_md")"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(cd "$root" && git status --porcelain -- native java-api generated bench/src bench/native 2>/dev/null)" ]; then
  commit="$commit + uncommitted changes"
fi
jdk=""; [ -n "$java_bin" ] && jdk=$("$java_bin" -version 2>&1 | head -1)
python3 - "$out_md" "$native_tsv" "$callgrind_tsv" "$jmh_json" "$notes" "$native" "$java" "$smoke" "$locks_tsv" \
  "$(nproc)" "${cpu:-unknown}" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit" "$(gcc --version | head -1)" "$jdk" <<'PY'
import json, math, os, sys

(out_md, native_tsv, cg_tsv, jmh_json, notes_file, do_native, do_java, smoke, locks_tsv,
 ncpu, cpu, date, commit, gcc, jdk) = sys.argv[1:]
do_native, do_java, smoke = do_native == "1", do_java == "1", smoke == "1"
SIZES = ["64", "256", "4096"]
errors = []
lines = []
w = lines.append

w("# exalloc benchmarks%s" % (" (SMOKE RUN: tiny iteration counts, numbers meaningless)" if smoke else ""))
w("")
w("- date: %s; commit: %s" % (date, commit))
w("- machine: %s CPUs (nproc), %s" % (ncpu, cpu))
w("- noisy shared machine: compare ratios within one run, not absolute numbers across runs")
notes = [l.strip() for l in open(notes_file) if l.strip()]
for n in notes:
    w("- note: %s" % n)
w("")

def fmt(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x if x >= 10 else "%.2f" % x

if do_native:
    C_PATTERNS = ["pair", "batch1024", "pair2t", "xfree"]
    C_PEERS = ["lookaside", "zone", "glibc", "jemalloc", "mimalloc", "tcmalloc"]
    res = {}
    for l in open(native_tsv):
        pat, size, peer, med, best = l.rstrip("\n").split("\t")
        res[(pat, size, peer)] = (float(med), float(best))
    cg = {}
    for l in open(cg_tsv):
        pat, size, peer, ir = l.rstrip("\n").split("\t")
        cg[(pat, size, peer)] = float(ir)
    peers = [p for p in C_PEERS if any(k[2] == p for k in res)]
    if "lookaside" not in peers or "glibc" not in peers:
        errors.append("native: no lookaside/glibc results")
    w("## C (%s; gcc -O2)" % gcc)
    w("")
    w("ns/op: median of 5 timed runs (clock_gettime), per allocate+free pair; per block for batch1024 and "
      "xfree; per pair per thread for pair2t. ratio = peer ns / exalloc ns (> 1: exalloc faster). "
      "instr/pair: callgrind, (Ir(2N pairs) - Ir(N pairs)) / N.")
    w("")
    w("| pattern | size | peer | ns/op | ratio vs exalloc | instr/pair |")
    w("|---|---:|---|---:|---:|---:|")
    for pat in C_PATTERNS:
        for size in SIZES:
            base = res.get((pat, size, "lookaside"))
            for peer in peers:
                r = res.get((pat, size, peer))
                if r is None:
                    errors.append("native: missing %s %s %s" % (pat, size, peer))
                    continue
                if not (r[0] > 0 and math.isfinite(r[0])):
                    errors.append("native: bad value %s %s %s: %s" % (pat, size, peer, r[0]))
                ratio = "%.2f" % (r[0] / base[0]) if base else "?"
                ir = cg.get((pat, size, peer))
                name = {"lookaside": "exalloc lookaside", "zone": "exalloc zone (interlocked)"}.get(peer, peer)
                w("| %s | %s | %s | %s | %s | %s |" % (pat, size, name, fmt(r[0]), ratio, "%.0f" % ir if ir is not None else ""))
    w("")
    w("Patterns: pair = allocate + free, one thread; batch1024 = allocate 1024 then free them in allocation "
      "order; pair2t = pair on 2 threads at once, own blocks (exalloc: one shared list); xfree = thread A "
      "allocates, passes the block through a 1024-slot ring, thread B frees it. exalloc lists: NT default "
      "depths (Depth 4, max 256) for pair/pair2t, Depth = MaximumDepth = 1024 for batch1024/xfree. exalloc zone: "
      "one segment, ExInterlockedAllocateFromZone/FreeToZone (one spin lock around the free list).")
    w("")
    locks = {}
    for l in open(locks_tsv):
        pat, kind, med, best = l.rstrip("\n").split("\t")
        locks[(pat, kind)] = (float(med), float(best))
    w("### Spin locks (exalloc, same run)")
    w("")
    w("ns per acquire + release with an empty critical section, raising to DISPATCH_LEVEL and back as NT does; "
      "contended2t: two threads on one lock, per acquire+release per thread. ratio = queued / classic.")
    w("")
    w("| pattern | classic (KeAcquireSpinLock) | queued (KeAcquireInStackQueuedSpinLock) | ratio |")
    w("|---|---:|---:|---:|")
    for pat in ["uncontended", "contended2t"]:
        c, q = locks.get((pat, "classic")), locks.get((pat, "queued"))
        if c is None or q is None:
            errors.append("native: missing lock results for %s" % pat)
            continue
        w("| %s | %s | %s | %.2f |" % (pat, fmt(c[0]), fmt(q[0]), q[0] / c[0]))
    w("")

if do_java:
    J_PATTERNS = [("Pair", "pair", 1), ("Batch1024", "batch1024", 1), ("PairTwoThreads", "pair (2 threads)", 2)]
    J_PEERS = [("lookasideChecked", "exalloc Lookaside (checked, default)"),
               ("lookasideUnchecked", "exalloc Lookaside unchecked"),
               ("lookasideRawFfm", "exalloc raw FFM downcalls (diagnostic)"),
               ("arenaConfined", "Arena.ofConfined"),
               ("mallocFfm", "malloc/free via FFM"),
               ("mallocFfmCritical", "malloc/free via critical FFM (diagnostic)")]
    data = json.load(open(jmh_json))
    res = {}
    for r in data:
        cls, meth = r["benchmark"].rsplit(".", 2)[-2:]
        m = r["primaryMetric"]
        res[(cls, r["params"]["size"], meth)] = (m["score"], m.get("scoreError"), r["threads"], m["scoreUnit"])
    w("## Java (%s; JMH 1.37, AverageTime)" % jdk)
    w("")
    w("ns/op: JMH average (± 99.9% error when there are enough iterations), per allocate+free pair; batch1024 "
      "per block (@OperationsPerInvocation(1024)); 2-thread rows per pair per thread. ratio = peer ns / "
      "exalloc checked ns (> 1: the default Lookaside is faster).")
    w("")
    w("| pattern | size | peer | ns/op | ratio vs exalloc |")
    w("|---|---:|---|---:|---:|")
    for cls, pat, threads in J_PATTERNS:
        for size in SIZES:
            base = res.get((cls, size, "lookasideChecked"))
            for meth, label in J_PEERS:
                r = res.get((cls, size, meth))
                if r is None:
                    if cls != "PairTwoThreads" or meth.startswith("lookaside"):
                        errors.append("jmh: missing %s.%s size=%s" % (cls, meth, size))
                    continue
                score, err, th, unit = r
                if unit != "ns/op" or th != threads or not (score > 0 and math.isfinite(score)):
                    errors.append("jmh: bad result %s.%s size=%s: %s %s threads=%s" % (cls, meth, size, score, unit, th))
                ns = fmt(score)
                if err is not None and isinstance(err, (int, float)) and math.isfinite(err):
                    ns += " ± " + fmt(err)
                ratio = "%.2f" % (score / base[0]) if base else "?"
                w("| %s | %s | %s | %s | %s |" % (pat, size, label, ns, ratio))
    w("")
    w("exalloc lists: default depths (Depth 4, max 256) for pair; initialDepth(1024) + maximumDepth(1024) "
      "for batch1024, so the whole batch is cached. Arena: one confined arena per pair / per batch of 1024, "
      "allocate(size, 16) zeroes the block. Diagnostics: raw FFM = exa_lookaside_allocate/free through bare "
      "critical downcalls (as Lookaside makes them), without the Java layer (in-flight guard, checked-mode "
      "block set, reinterpret); critical FFM malloc = malloc/free linked with Linker.Option.critical(false), "
      "the plain malloc row minus the thread-state transitions.")
    w("")

text = "\n".join(lines)
with open(out_md, "w") as f:
    f.write(text + "\n")
print(text)
if errors:
    for e in errors:
        print("[bench] FAILED: " + e, file=sys.stderr)
    sys.exit(1)
PY
log "tables written to ${out_md#$root/}"
