# Shell functions shared by the benchmark scripts; sourced (`. bench/lib.sh`), not run.

# exalloc_native_lib ROOT
#   Prints the path of the libexalloc.so that the Maven build (NAR plugin) left under
#   ROOT/native/target/nar, whatever the project version and the platform directory (the NAR
#   "AOL", e.g. amd64-Linux-gpp) are. Exactly one such library must exist:
#     none     returns 1 and says on stderr where it looked (build with ./mvnw -B package first);
#     several  returns 2 and names them (builds of another version or platform are left over:
#              ./mvnw clean, or remove native/target/nar).
exalloc_native_lib() {
  local root=$1 f found=()
  local pattern="native/target/nar/exalloc-native-*-shared/lib/*/shared/libexalloc.so"
  for f in "$root"/$pattern; do
    [ -f "$f" ] && found+=("$f")
  done
  case ${#found[@]} in
    1) printf '%s\n' "${found[0]}" ;;
    0) printf 'no libexalloc.so built yet: nothing matches %s/%s\n' "$root" "$pattern" >&2
       return 1 ;;
    *) printf '%d libexalloc.so builds match %s/%s (remove the stale ones, e.g. ./mvnw clean):\n' \
         "${#found[@]}" "$root" "$pattern" >&2
       printf '  %s\n' "${found[@]}" >&2
       return 2 ;;
  esac
}

# callgrind_per_op N PREFIX COMMAND...
#   Runs `COMMAND... N` and `COMMAND... 2N` under valgrind --tool=callgrind (output files
#   PREFIX.N and PREFIX.2N, valgrind's log beside them as .log) and prints the instructions one
#   operation costs, (Ir(2N) - Ir(N)) / N with one decimal: start-up, set-up and first misses are
#   the same in both runs and cancel out. Returns 1, saying why on stderr, if a run fails.
callgrind_per_op() {
  local n=$1 prefix=$2 m f ir irs=()
  shift 2
  for m in "$n" $((2 * n)); do
    f="$prefix.$m"
    if ! valgrind --tool=callgrind --callgrind-out-file="$f" "$@" "$m" > "$f.log" 2>&1; then
      cat "$f.log" >&2
      echo "callgrind failed: $* $m" >&2
      return 1
    fi
    ir=$(awk '/^totals:/ {print $2}' "$f")
    if [ -z "$ir" ]; then echo "no totals line in $f" >&2; return 1; fi
    irs+=("$ir")
  done
  python3 -c "import sys; print('%.1f' % ((int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3])))" "${irs[0]}" "${irs[1]}" "$n"
}
