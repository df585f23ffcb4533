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
# library is missing or older than the sources, then bench/native/build.sh. The raw results stay in
# bench/target/bench-run; bench/report.py writes the tables and the chart from them. Exits non-zero
# if any step fails or any expected result is missing. See bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

smoke=0 native=1 java=1
for a in "$@"; do
  case "$a" in
    --smoke) smoke=1 ;;
    --native-only) java=0 ;;
    --java-only) native=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
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
# the library the Maven build produced (bench/lib.sh: any version, any NAR platform directory)
. "$here/lib.sh"
lib_rc=0
lib=$(exalloc_native_lib "$root" 2> "$work/find-lib.log") || lib_rc=$?
if [ $lib_rc = 2 ]; then cat "$work/find-lib.log" >&2; fail "more than one libexalloc.so built"; fi
need_build=0
if [ ! -f "$jar" ] || [ $lib_rc != 0 ]; then
  need_build=1
else
  newer=$(cd "$root" && find pom.xml bench/pom.xml bench/src java-api/pom.xml java-api/src generated/src \
            native/pom.xml native/src native/include -type f -newer "$jar" 2>/dev/null | head -3 || true)
  if [ -n "$newer" ]; then log "sources newer than benchmarks.jar (e.g. $(echo "$newer" | head -1))"; need_build=1; fi
fi
if [ $need_build = 1 ]; then
  log "building: ./mvnw -B -q package -DskipTests"
  (cd "$root" && ./mvnw -B -q package -DskipTests) || fail "./mvnw package"
  lib=$(exalloc_native_lib "$root") || fail "the build left no single libexalloc.so (see above)"
fi
log "library: ${lib#$root/}"

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
      local bin=$1 kind=$2 size=$3 n=$4 per
      shift 4
      per=$(callgrind_per_op "$n" "$work/callgrind.$(basename "$bin").$kind.$size" "$bin" callgrind "$kind" "$size") \
        || fail "callgrind $(basename "$bin") $kind $size"
      for pl in "$@"; do printf '%s\t%s\t%s\t%s\n' "${pl%%:*}" "$size" "${pl#*:}" "$per" >> "$callgrind_tsv"; done
    }
    in_list() { local x=$1; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }
    all_sizes=$(printf '%s\n' "${la_sizes[@]}" "${pl_sizes[@]}" | sort -n -u)
    for b in "${bins[@]}"; do
      name=$(basename "$b"); peer=${name#bench_}
      if [ "$peer" = glibc ]; then
        for size in "${la_sizes[@]}"; do
          cg_row "$b" lookaside "$size" $cg_n pair:lookaside
          cg_row "$b" lookaside-inline "$size" $cg_n pair:lookaside-inline
        done
        for size in "${pl_sizes[@]}"; do
          cg_row "$b" pool "$size" $cg_n poolpair:pool
          cg_row "$b" poolnt "$size" $cg_n poolpair:poolnt
          cg_row "$b" poolzero "$size" $cg_n poolpair:poolzero
        done
        cg_row "$b" pool mixed $cg_mix_n poolmixed:pool
        cg_row "$b" poolnt mixed $cg_mix_n poolmixed:poolnt
        cg_row "$b" lock-classic 0 $cg_n uncontended:classic
        cg_row "$b" lock-queued 0 $cg_n uncontended:queued
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
  jmh_args=('dev\.exalloc\.bench\.(Pair|Batch1024|PairTwoThreads|PoolPair|PoolMixed|JavaTargets)\.' -foe true -rf json -rff "$jmh_json")
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
{
  printf 'native\t%s\njava\t%s\nsmoke\t%s\n' "$native" "$java" "$smoke"
  printf 'ncpu\t%s\ncpu\t%s\ndate\t%s\ncommit\t%s\n' "$(nproc)" "${cpu:-unknown}" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit"
  printf 'gcc\t%s\njdk\t%s\nnetty\t%s\n' "$(gcc --version | head -1)" "$jdk" "$netty"
} > "$work/meta.tsv"
python3 "$here/report.py" "$work" "$out_md"
log "tables written to ${out_md#$root/}"
