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
