#!/usr/bin/env bash
# exalloc benchmarks: the native C benchmark (exa_lookaside, the zone and the pool vs glibc, jemalloc,
# mimalloc, tcmalloc), instruction counts under callgrind, and the JMH benchmarks (Lookaside and the pool
# vs Arena, malloc via FFM and Netty's pooled allocator).
#
#   bench/run.sh            full run (about 15 minutes on 2 cores); tables to bench/results/latest.md
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
  newer=$(cd "$root" && find pom.xml bench/pom.xml bench/src java-api/pom.xml java-api/src generated/src \
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
mem_tsv="$work/mem.tsv"
: > "$mem_tsv"
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
    # Memory after a burst: one process per (peer, size); MEM lines (see bench_native.c, mem_run)
    for size in 64 256 1024; do
      kinds=(malloc); [ "$peer" = glibc ] && kinds=(pool malloc)
      for kind in "${kinds[@]}"; do
        "$b" mem "$kind" "$size" > "$work/$name.mem.$kind.$size" || fail "$name mem $kind $size exited with $?"
        awk -F'\t' -v OFS='\t' '$1 == "MEM" {print $2, $3, $4, $5, $6, $7, $8, $9}' "$work/$name.mem.$kind.$size" >> "$mem_tsv"
      done
    done
  done

  # Instructions per allocate+free pair (per operation for poolmixed): callgrind's total Ir for
  # 2N operations minus N operations, / N (start-up, set-up and first misses cancel out)
  if command -v valgrind >/dev/null 2>&1; then
    if [ $smoke = 1 ]; then
      cg_n=1000; cg_mix_n=4096; la_sizes=(64); pl_sizes=(64)
    else
      cg_n=20000; cg_mix_n=65536; la_sizes=(64 256 4096); pl_sizes=(16 64 256 1024 4096)
    fi
    # cg_row <binary> <kind> <size|mixed> <n> <pattern:label>...: one measurement, one tsv row per pattern
    cg_row() {
      local bin=$1 kind=$2 size=$3 n=$4 m f ir irs=() per
      shift 4
      for m in "$n" $((2 * n)); do
        f="$work/callgrind.$(basename "$bin").$kind.$size.$m"
        valgrind --tool=callgrind --callgrind-out-file="$f" "$bin" callgrind "$kind" "$size" "$m" \
          > "$f.log" 2>&1 || { cat "$f.log" >&2; fail "callgrind $(basename "$bin") $kind $size $m"; }
        ir=$(awk '/^totals:/ {print $2}' "$f")
        [ -n "$ir" ] || fail "no totals line in $f"
        irs+=("$ir")
      done
      per=$(python3 -c "import sys; print('%.1f' % ((int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3])))" "${irs[0]}" "${irs[1]}" "$n")
      for pl in "$@"; do printf '%s\t%s\t%s\t%s\n' "${pl%%:*}" "$size" "${pl#*:}" "$per" >> "$callgrind_tsv"; done
    }
    in_list() { local x=$1; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }
    all_sizes=$(printf '%s\n' "${la_sizes[@]}" "${pl_sizes[@]}" | sort -n -u)
    for b in "${bins[@]}"; do
      name=$(basename "$b"); peer=${name#bench_}
      if [ "$peer" = glibc ]; then
        for size in "${la_sizes[@]}"; do cg_row "$b" lookaside "$size" $cg_n pair:lookaside; done
        for size in "${pl_sizes[@]}"; do
          cg_row "$b" pool "$size" $cg_n poolpair:pool
          cg_row "$b" poolzero "$size" $cg_n poolpair:poolzero
        done
        cg_row "$b" pool mixed $cg_mix_n poolmixed:pool
      fi
      for size in $all_sizes; do
        pats=()
        in_list "$size" "${la_sizes[@]}" && pats+=("pair:$peer")
        in_list "$size" "${pl_sizes[@]}" && pats+=("poolpair:$peer")
        cg_row "$b" malloc "$size" $cg_n "${pats[@]}"
      done
      cg_row "$b" malloc mixed $cg_mix_n "poolmixed:$peer"
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
  jmh_args=('dev\.exalloc\.bench\.(Pair|Batch1024|PairTwoThreads|PoolPair|PoolMixed)\.' -foe true -rf json -rff "$jmh_json")
  if [ $smoke = 1 ]; then jmh_args+=(-wi 1 -w 100ms -i 1 -r 100ms); fi
  log "JMH on $java_bin: ${jmh_args[*]}"
  set +e
  "$java_bin" -jar "$jar" "${jmh_args[@]}" 2>&1 | tee "$work/jmh.log" | awk '/^# Benchmark:/ {b = $3; p = ""} /^# Parameters:/ {sub(/^# Parameters: /, ""); p = " " $0} /^# Fork: 1 of/ {print "[bench] jmh: " b p; fflush()}' >&2
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
netty=$(sed -n 's:.*<netty.version>\(.*\)</netty.version>.*:\1:p' "$root/bench/pom.xml" | head -1)
EXALLOC_BENCH_DIR="$here" python3 - "$out_md" "$native_tsv" "$callgrind_tsv" "$jmh_json" "$notes" "$native" "$java" "$smoke" "$locks_tsv" \
  "$(nproc)" "${cpu:-unknown}" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit" "$(gcc --version | head -1)" "$jdk" "$netty" \
  "$mem_tsv" <<'PY'
import json, math, os, sys

(out_md, native_tsv, cg_tsv, jmh_json, notes_file, do_native, do_java, smoke, locks_tsv,
 ncpu, cpu, date, commit, gcc, jdk, netty, mem_tsv) = sys.argv[1:]
do_native, do_java, smoke = do_native == "1", do_java == "1", smoke == "1"
SIZES = ["64", "256", "4096"]
POOL_SIZES = ["16", "64", "256", "1024", "4096"]
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

def ok(x):
    return x > 0 and math.isfinite(x)

cres, jres = {}, {}
if do_native:
    C_PATTERNS = ["pair", "batch1024", "pair2t", "xfree"]
    C_PEERS = ["lookaside", "zone", "glibc", "jemalloc", "mimalloc", "tcmalloc"]
    MALLOCS = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]
    res = {}
    for l in open(native_tsv):
        pat, size, peer, med, best = l.rstrip("\n").split("\t")
        res[(pat, size, peer)] = (float(med), float(best))
    cg = {}
    for l in open(cg_tsv):
        pat, size, peer, ir = l.rstrip("\n").split("\t")
        cg[(pat, size, peer)] = float(ir)
    cres = res
    peers = [p for p in C_PEERS if any(k[2] == p for k in res)]
    if "lookaside" not in peers or "glibc" not in peers:
        errors.append("native: no lookaside/glibc results")
    mallocs = [p for p in MALLOCS if p in peers]
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
                if not ok(r[0]):
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

    # Pool (C): exalloc's pool against the general-purpose allocators
    w("## Pool (C)")
    w("")
    w("exalloc pool = `exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, size, 'Benc')` "
      "(ExAllocatePool2, NonPagedPoolNx, not zeroed, as malloc) + `exa_pool_free` (ExFreePool). ns/op: median of "
      "5 timed runs, per allocate+free pair (poolpair2t: per pair per thread; poolmixed: per free+allocate). "
      "ratio = peer ns / exalloc pool ns (> 1: the pool is faster). instr/op: callgrind, (Ir(2N) - Ir(N)) / N.")
    w("")
    w("| pattern | size | peer | ns/op | ratio vs exalloc pool | instr/op |")
    w("|---|---:|---|---:|---:|---:|")
    pool_rows = [("poolpair", s, ["pool", "poolzero"] + mallocs) for s in POOL_SIZES]
    pool_rows += [("poolpair2t", s, ["pool"] + mallocs) for s in POOL_SIZES]
    pool_rows += [("poolmixed", "mixed", ["pool"] + mallocs)]
    for pat, size, row_peers in pool_rows:
        base = res.get((pat, size, "pool"))
        for peer in row_peers:
            r = res.get((pat, size, peer))
            if r is None:
                errors.append("native: missing %s %s %s" % (pat, size, peer))
                continue
            if not ok(r[0]):
                errors.append("native: bad value %s %s %s: %s" % (pat, size, peer, r[0]))
            ratio = "%.2f" % (r[0] / base[0]) if base else "?"
            ir = cg.get((pat, size, peer))
            name = {"pool": "exalloc pool", "poolzero": "exalloc pool, zeroed (ExAllocatePool2 default)"}.get(peer, peer)
            w("| %s | %s | %s | %s | %s | %s |" % (pat, "16..1024" if size == "mixed" else size, name, fmt(r[0]), ratio,
                                                 "%.0f" % ir if ir is not None else ""))
    w("")
    w("Patterns: poolpair = allocate + free of one size, one thread; poolpair2t = poolpair on 2 threads at once, "
      "own blocks; poolmixed = a window of 64 live blocks, each operation frees the block in a pseudo-random slot "
      "and allocates a pseudo-random size (a power-of-two class 16..1024 chosen uniformly, then a size within it) "
      "into it, from one fixed-seed table of 65536 operations: the same requests for every peer. Every allocator "
      "but the pool is malloc in its own binary (each replaces malloc for the whole process). The pool's NT rules: "
      "a request above 4064 bytes (so 4096) is a big allocation (whole pages, page-aligned, recorded in the "
      "big-allocation table), not a small block.")
    w("")

    # Memory (C): retained bytes after a burst, per peer (MEM lines)
    mem = [l.rstrip("\n").split("\t") for l in open(mem_tsv) if l.strip()]
    if not mem:
        errors.append("native: no MEM results")
    w("### Pool memory (C)")
    w("")
    w("A burst: allocate %s blocks of one size (each written whole), free them all, then trim (glibc malloc_trim(0); "
      "jemalloc tcache flush + arena purge; mimalloc mi_collect(true); tcmalloc MallocExtension_ReleaseFreeMemory; "
      "the pool exa_pool_trim). Bytes above the baseline taken just before the burst (KiB; negative: below it); "
      "overhead/block = live bytes / blocks - size. rss: resident set of the process (every peer); mapped / in_use: "
      "the pool's own statistics (exa_pool_query, non-paged pool). The pool's blocks never cross a page (NT's rule), "
      "so sizes that do not divide a page waste the page's tail." % (mem[0][2] if mem else "?"))
    w("")
    w("| size | peer | source | live KiB | after free KiB | after trim KiB | overhead B/block |")
    w("|---:|---|---|---:|---:|---:|---:|")
    order = {"pool": 0, "glibc": 1, "jemalloc": 2, "mimalloc": 3, "tcmalloc": 4}
    for r in sorted(mem, key=lambda r: (int(r[1]), order.get(r[0], 9), r[3])):
        peer, size, blocks, source, live, freed, trimmed, over = r
        name = "exalloc pool" if peer == "pool" else peer
        w("| %s | %s | %s | %d | %d | %d | %s |" % (size, name, source, int(live) // 1024, int(freed) // 1024,
                                                   int(trimmed) // 1024, over))
    w("")

if do_java:
    data = json.load(open(jmh_json))
    res = {}
    for r in data:
        cls, meth = r["benchmark"].rsplit(".", 2)[-2:]
        m = r["primaryMetric"]
        res[(cls, r.get("params", {}).get("size", "mixed"), meth)] = (m["score"], m.get("scoreError"), r["threads"], m["scoreUnit"])
    jres = res

    def jrow(cls, size, meth, label, pat, threads, base, required=True):
        r = res.get((cls, size, meth))
        if r is None:
            if required:
                errors.append("jmh: missing %s.%s size=%s" % (cls, meth, size))
            return
        score, err, th, unit = r
        if unit != "ns/op" or th != threads or not ok(score):
            errors.append("jmh: bad result %s.%s size=%s: %s %s threads=%s" % (cls, meth, size, score, unit, th))
        ns = fmt(score)
        if err is not None and isinstance(err, (int, float)) and math.isfinite(err):
            ns += " ± " + fmt(err)
        ratio = "%.2f" % (score / base[0]) if base else "?"
        w("| %s | %s | %s | %s | %s |" % (pat, "16..1024" if size == "mixed" else size, label, ns, ratio))

    NETTY = ("nettyPooled", "Netty PooledByteBufAllocator.DEFAULT (direct)")
    J_PATTERNS = [("Pair", "pair", 1), ("Batch1024", "batch1024", 1), ("PairTwoThreads", "pair (2 threads)", 2)]
    J_PEERS = [("lookasideChecked", "exalloc Lookaside (checked, default: scoped segments)"),
               ("lookasideUnchecked", "exalloc Lookaside unchecked"),
               ("localChecked", "exalloc Lookaside.Local, checked (scoped segments)"),
               ("localUnchecked", "exalloc Lookaside.Local unchecked, by address (fast path)"),
               ("localUncheckedSegment", "exalloc Lookaside.Local unchecked, segments"),
               ("lookasideRawFfm", "exalloc raw FFM downcalls (diagnostic)"),
               ("arenaConfined", "Arena.ofConfined"),
               ("mallocFfm", "malloc/free via FFM"),
               ("mallocFfmCritical", "malloc/free via critical FFM (diagnostic)"),
               NETTY]
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
                if cls == "PairTwoThreads" and not (meth.startswith("lookaside") or meth == "localUnchecked"):
                    continue
                if cls == "Batch1024" and meth in ("localChecked", "localUncheckedSegment"):
                    continue
                if cls != "Pair" and meth == NETTY[0]:
                    continue
                jrow(cls, size, meth, label, pat, threads, base)
    w("")
    w("exalloc lists: default depths (Depth 4, max 256) for pair; initialDepth(1024) + maximumDepth(1024) "
      "for batch1024, so the whole batch is cached. Arena: one confined arena per pair / per batch of 1024, "
      "allocate(size, 16) zeroes the block. Diagnostics: raw FFM = exa_lookaside_allocate/free through bare "
      "critical downcalls (as Lookaside makes them), without the Java layer (in-flight guard, checked-mode "
      "block set, reinterpret); critical FFM malloc = malloc/free linked with Linker.Option.critical(false), "
      "the plain malloc row minus the thread-state transitions. Netty: netty-buffer %s, "
      "`PooledByteBufAllocator.DEFAULT.directBuffer(size)` + `release()`, run with "
      "-Dio.netty.allocator.useCacheForAllThreads=true (per-thread caches for the JMH threads, as Netty's own "
      "event-loop threads have) and -Dio.netty.leakDetection.level=disabled." % netty)
    w("")

    # Pool (Java)
    w("## Pool (Java)")
    w("")
    w("ns/op: JMH average (± 99.9% error), per allocate+free pair (pool mixed: per free + allocate). ratio = peer "
      "ns / exalloc Pool ns (> 1: the pool is faster).")
    w("")
    w("| pattern | size | peer | ns/op | ratio vs exalloc Pool |")
    w("|---|---:|---|---:|---:|")
    P_PEERS = [("pool", "exalloc Pool, unchecked segments (PoolScope.GLOBAL)"),
               ("poolShared", "exalloc Pool, checked, shared (PoolScope.SHARED: a free closes a shared arena)"),
               ("poolConfined", "exalloc Pool, checked, confined (PoolScope.CONFINED, the default)"),
               ("poolAddress", "exalloc Pool.allocateAddress / freeAddress (fast path)"),
               ("poolRawAddress", "exalloc pool, address, bare critical downcalls (diagnostic floor)"),
               ("poolRawFfm", "exalloc pool, raw FFM downcalls (diagnostic)"),
               ("lookaside", "exalloc Lookaside of that size (checked; reference)"),
               ("arenaConfined", "Arena.ofConfined"),
               ("mallocFfm", "malloc/free via FFM"),
               NETTY]
    for pat, cls, size in [("pool pair", "PoolPair", z) for z in POOL_SIZES] + [("pool mixed", "PoolMixed", "mixed")]:
        base = res.get((cls, size, "pool"))
        for meth, label in P_PEERS:
            if cls == "PoolMixed" and meth in ("lookaside", "poolShared", "poolConfined", "poolRawAddress"):
                continue
            if cls == "PoolMixed" and meth == "arenaConfined":
                label = "Arena.ofConfined (one per block)"
            jrow(cls, size, meth, label, pat, 1, base)
    w("")
    w("pool pair: allocate + free of one size. pool mixed: the C benchmark's "
      "poolmixed, the same fixed-seed sequence of 65536 (slot, size) operations over a window of 64 live blocks. "
      "exalloc Pool: `Pool.allocate(PoolType.NON_PAGED_NX, size, tag)` (ExAllocatePoolWithTag, uninitialised) + "
      "`Pool.free(segment)` (ExFreePool). Raw FFM: the same native calls (exa_pool_allocate_typed, exa_pool_free) "
      "through bare critical downcalls, no Java layer: the floor for the API (the C table's pool row calls "
      "ExAllocatePool2 instead; the two paths are 3 instructions apart). Arena: allocate(size, 16) "
      "zeroes the block; in pool mixed each block has its own confined arena. Netty as in the table above.")
    w("")


# Issue 6's targets, computed from this run's numbers (ratios within the run)
T = []
def target(name, value, limit, unit, better="lower", note=""):
    if value is None:
        T.append((name, "not measured in this run", limit, "-", note))
        return
    met = value <= limit if better == "lower" else value >= limit
    T.append((name, ("%.2f" % value) + unit, ("<= " if better == "lower" else ">= ") + ("%g" % limit) + unit,
              "met" if met else "NOT met", note))
def c(p, s, peer):
    r = cres.get((p, s, peer))
    return r[0] if r else None
def j(cls, s, meth):
    r = jres.get((cls, s, meth))
    return r[0] if r else None
def ratio(a, b):
    return a / b if a is not None and b else None
if do_native:
    LA_GAP = ("limit: 57 instructions a pair against tcmalloc's 79 (0.6x needs about 47): NT's per-thread IRQL "
              "check, the flush/delete handshake (a busy flag and a memo check), exact per-thread counters and the "
              "exact Depth budget are all on the fast path (44 of the 57 are the library's; the floor with all of "
              "them kept is estimated at about 49)")
    for size in SIZES:
        target("C lookaside pair %s B / tcmalloc pair" % size, ratio(c("pair", size, "lookaside"), c("pair", size, "tcmalloc")), 0.6, "x",
               note=LA_GAP)
    target("C lookaside pair2t 256 B / own one-thread pair", ratio(c("pair2t", "256", "lookaside"), c("pair", "256", "lookaside")), 1.2, "x",
           note="each thread works on its own thread cache with no shared write; what remains is the 2 vCPUs' "
           "own noise (the peers' pair2t/pair ratios in this run show it) and blocks of both threads taken from "
           "the same pool pages, which can share cache lines (pages are not per thread): runs measured 1.02-1.38x")
    target("C lookaside xfree 256 B / mimalloc xfree", ratio(c("xfree", "256", "lookaside"), c("xfree", "256", "mimalloc")), 1.0, "x",
           note="bimodal on 2 vCPUs (the two threads' scheduling decides it; see the peers' median vs best): the "
           "same code measured 16 ns against mimalloc's 48 in an earlier run; the limit is one lock round trip "
           "per 32 blocks each way and every block's first word crossing cores (NT's SList link)")
    POOL_GAP = ("limit: 175 instructions a pair against tcmalloc's 79: NT's 16-byte header is written on "
                "allocate (tag, type) and checked on free (type, index, size, the next header's PreviousSize), the "
                "segment map is consulted before any read of a freed pointer, and PoolMon's per-tag counters are "
                "exact; tcmalloc keeps no header and no tag. The checks are the product (issue 5), so this gap stays")
    for size in POOL_SIZES[:-1]:
        target("C pool pair %s B / tcmalloc" % size, ratio(c("poolpair", size, "pool"), c("poolpair", size, "tcmalloc")), 1.0, "x",
               note=POOL_GAP)
    target("C pool mixed 16..1024 B / tcmalloc", ratio(c("poolmixed", "mixed", "pool"), c("poolmixed", "mixed", "tcmalloc")), 1.0, "x",
           note=POOL_GAP)
    for r in mem:
        peer, size, blocks, source, live, freed, trimmed, over = r
        if peer == "pool" and source == "mapped":
            hdr_round = 16 + (-int(size)) % 16
            tail = (4096 % (int(size) + hdr_round)) / (4096 // (int(size) + hdr_round))
            target("C pool overhead per %s-byte block, beyond the page's tail share" % size, float(over) - tail,
                   16 + (-int(size)) % 16, " B", note="measured %s B a block (mapped / blocks - size), of which %.1f B "
                   "is the page's unusable tail (NT's blocks never cross a page: %d blocks of %d B in 4096)"
                   % (over, tail, 4096 // (int(size) + hdr_round), int(size) + hdr_round))
if do_java:
    fast = j("Pair", "256", "localUnchecked")
    target("Java Lookaside pair 256 B (Local, unchecked, by address)", fast, 10, " ns", note="stretch <= 4 ns")
    target("Java Netty pooled / Lookaside fast path (256 B)", ratio(j("Pair", "256", "nettyPooled"), fast), 7, "x", "higher")
    target("Java Arena.ofConfined / Lookaside fast path (256 B)", ratio(j("Pair", "256", "arenaConfined"), fast), 6, "x", "higher")
    target("Java Lookaside default (checked, scoped) pair 256 B", j("Pair", "256", "lookasideChecked"), 10, " ns",
           note="not a target of the issue, shown for its cost: a confined arena per block (its scope ends at the "
           "free) and the cross-thread ownership set; Lookaside.Local on a checked list: see localChecked")
    pool_fast = [v for v in (j("PoolPair", "256", m) for m in ("poolAddress", "pool")) if v is not None]
    target("Java Pool pair 256 B (fastest API path)", min(pool_fast) if pool_fast else None, 15, " ns",
           note="limit: two ordinary downcalls (the pool may call Java condition listeners, an upcall, and may map "
           "memory, so not critical by default: -Dexalloc.pool.critical=true makes them critical) around the C "
           "pool's 175-instruction pair; the bare critical floor is the poolRawAddress row")
if T:
    tl = ["## Issue 6 targets, from this run", "", "| target | measured | limit | | note |", "|---|---:|---:|---|---|"]
    tl += ["| %s | %s | %s | %s | %s |" % row for row in T]
    tl.append("")
    first = next((i for i, l in enumerate(lines) if l.startswith("## ")), len(lines))
    lines[first:first] = tl

# The chart: a few headline panels, read back from the tables above (rows: | pattern | size | peer | ns | ...)
rows = []
section = ""
for l in lines:
    if l.startswith("## "):
        section = l[3:].split(" (")[0]
    elif l.startswith("| ") and not l.startswith("| pattern") and not l.startswith("|---"):
        cells = [c.strip() for c in l.strip("|").split("|")]
        if len(cells) >= 4:
            try:
                rows.append((section, cells[0], cells[1], cells[2], float(cells[3].split(" ")[0])))
            except ValueError:
                pass

def panel(title, unit, section, pattern, size, ours_prefix="exalloc"):
    bars = [{"label": peer, "value": v, "ours": peer.startswith(ours_prefix)}
            for (sec, pat, sz, peer, v) in rows if sec == section and pat == pattern and sz == size]
    return {"title": title, "unit": unit, "bars": bars}

chart = {"title": "exalloc vs peers, ns per allocate+free (shorter is faster)",
         "subtitle": "%s; %s CPUs; commit %s; ratios in brackets are peer / first exalloc bar" % (date, ncpu, commit),
         "panels": [panel("C, pair, 256 B, one thread", "ns", "C", "pair", "256"),
                    panel("C, pair, 256 B, two threads (per pair per thread)", "ns", "C", "pair2t", "256"),
                    panel("C, cross-thread free (xfree), 256 B", "ns", "C", "xfree", "256"),
                    panel("C pool, pair, 256 B", "ns", "Pool", "poolpair", "256"),
                    panel("C pool, mixed 16..1024 B", "ns", "Pool", "poolmixed", "16..1024"),
                    panel("Java, pair, 256 B", "ns", "Java", "pair", "256"),
                    panel("Java pool, pair, 256 B", "ns", "Pool", "pool pair", "256")]}
if True:  # the smoke run draws one too, so that chart.py cannot rot
    chart_svg = os.path.join(os.path.dirname(out_md), "latest.svg" if not smoke else "smoke.svg")
    chart_json = chart_svg[:-4] + ".chart.json"
    json.dump(chart, open(chart_json, "w"), indent=1)
    import subprocess
    subprocess.check_call([sys.executable, os.path.join(os.environ["EXALLOC_BENCH_DIR"], "chart.py"), chart_json, chart_svg])
    os.remove(chart_json)
    lines.insert(1, "")
    lines.insert(2, "![chart](%s)" % os.path.basename(chart_svg))

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
