#!/usr/bin/env bash
# The C core's layer check (native/LAYERS.md). Compiles every library source under src/ (the
# platform/ implementations through base/platform.c, as the build does), maps each defined
# symbol to its file and floor with nm, and fails when
#   - a file references a symbol defined on a higher floor (an upward call or data read), or
#     in a sibling folder of the same floor (lookaside/ and zone/ do not use each other);
#   - files of one floor call each other in a loop (a cycle in the file graph of a floor).
#
#   native/scripts/layers.sh              check the sources
#   native/scripts/layers.sh --self-test  show that the check fails on an injected upward
#                                         call and on an injected loop, and passes without
#
# Floors, lowest first: base < pool < {lookaside, zone} < diag < verifier < nt. The sources are
# compiled as the debug tier (EXA_DEBUG=1), a superset of the plain build. When the Windows
# cross compiler is installed (clang-14 for x86_64-w64-mingw32, native/scripts/cross-setup.sh),
# the check runs a second time on the Windows build, so base/platform/win32.c is held to the
# same floors as base/platform/posix.c; set EXA_LAYERS_WINDOWS=0 to leave that out.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-gcc}
nm=nm
flags=(-DEXA_DEBUG=1 -std=c11 -O2 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror -fvisibility=hidden -fPIC -pthread
       -I"$here/include" -I"$here/src")

floor_of() {
  case "$1" in
    base/*) echo 0 ;; pool/*) echo 1 ;; lookaside/*|zone/*) echo 2 ;; diag/*) echo 3 ;;
    verifier/*) echo 4 ;; nt/*) echo 5 ;; *) echo "?" ;;
  esac
}

# compile SRCROOT OBJDIR: one object per source, at OBJDIR/<folder>/<name>.o
compile() {
  local root=$1 obj=$2 f rel
  while IFS= read -r f; do
    rel=${f#"$root"/}
    mkdir -p "$obj/$(dirname "$rel")"
    "$cc" "${flags[@]}" -c "$f" -o "$obj/${rel%.c}.o"
  done < <(find "$root" -name '*.c' -not -path '*/platform/*' | sort)
}

# check OBJDIR: prints every violation, returns 1 when there is one
check() {
  local obj=$1 o rel bad=0
  local defs=$obj.defs uses=$obj.uses
  : >"$defs"; : >"$uses"
  while IFS= read -r o; do
    rel=${o#"$obj"/}; rel=${rel%.o}.c
    $nm --defined-only "$o" | awk -v f="$rel" 'NF == 3 && $2 ~ /[TtDdBbRrVWC]/ && $3 !~ /^\./ {print $3, f}' >>"$defs"
    $nm -u "$o" | awk -v f="$rel" '{print $2, f}' >>"$uses"
  done < <(find "$obj" -name '*.o' | sort)
  sort -u -o "$defs" "$defs"; sort -u -o "$uses" "$uses"
  # symbol user definer -> edges between files
  local edges=$obj.edges
  join "$uses" "$defs" | awk '$2 != $3 {print $2, $3, $1}' | sort -u >"$edges"
  local user def sym fu fd
  while read -r user def sym; do
    fu=$(floor_of "$user"); fd=$(floor_of "$def")
    if [ "$fu" = "?" ] || [ "$fd" = "?" ]; then
      echo "layers: $user or $def is in no floor (LAYERS.md lists the folders)"; bad=1
    elif [ "$fd" -gt "$fu" ]; then
      echo "layers: UPWARD $user (floor $fu) uses $sym from $def (floor $fd)"; bad=1
    elif [ "$fd" = "$fu" ] && [ "${user%%/*}" != "${def%%/*}" ]; then
      echo "layers: SIDEWAYS $user uses $sym from $def (sibling folders on floor $fu)"; bad=1
    fi
  done <"$edges"
  # loops between files of one floor: a file that reaches itself through same-floor edges
  awk '{print $1, $2}' "$edges" | sort -u | while read -r user def; do
    [ "$(floor_of "$user")" = "$(floor_of "$def")" ] && echo "$user $def"
  done >"$obj.same"
  local loops
  loops=$(awk '
    { adj[$1] = adj[$1] " " $2; nodes[$1] = 1; nodes[$2] = 1 }
    function reach(from, to,    seen, stack, n, cur, i, k, parts) {
      n = 0; stack[++n] = from; delete seen
      while (n > 0) {
        cur = stack[n--]
        k = split(adj[cur], parts, " ")
        for (i = 1; i <= k; i++) {
          if (parts[i] == to) return 1
          if (!(parts[i] in seen)) { seen[parts[i]] = 1; stack[++n] = parts[i] }
        }
      }
      return 0
    }
    END { for (a in nodes) { k = split(adj[a], p, " "); for (i = 1; i <= k; i++) if (reach(p[i], a)) print a " -> " p[i] " -> ... -> " a } }
  ' "$obj.same" | sort -u)
  if [ -n "$loops" ]; then
    while IFS= read -r l; do echo "layers: LOOP $l"; done <<<"$loops"
    bad=1
  fi
  return $bad
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "${1:-}" = "--self-test" ]; then
  compile "$here/src" "$tmp/obj"
  check "$tmp/obj" >"$tmp/clean.txt" || { cat "$tmp/clean.txt"; echo "layers self-test: the unmodified sources fail the check" >&2; exit 1; }
  # 1. an upward call: a copy of a ground-floor file that calls the lookaside floor
  cp -r "$here/src" "$tmp/src-up"
  cat >>"$tmp/src-up/base/irql.c" <<'C'

/* injected by layers.sh --self-test: an upward call from the ground floor */
void _exa_layers_selftest_upward(void);
void _exa_layers_selftest_upward(void) { exa_lookaside_tick(); }
C
  compile "$tmp/src-up" "$tmp/obj-up"
  if check "$tmp/obj-up" >"$tmp/up.txt"; then
    echo "layers self-test: an upward call from base/irql.c was NOT caught" >&2; exit 1
  fi
  grep -q 'UPWARD base/irql.c .* exa_lookaside_tick' "$tmp/up.txt" || { cat "$tmp/up.txt"; echo "layers self-test: wrong report for the upward call" >&2; exit 1; }
  echo "layers self-test: injected upward call caught: $(grep 'UPWARD base/irql.c' "$tmp/up.txt" | head -1)"
  # 2. a loop on one floor: bugcheck.c already calls into irql.c's floor-mate; make irql.c call back
  cp -r "$here/src" "$tmp/src-loop"
  cat >>"$tmp/src-loop/base/spinlock.c" <<'C'

/* injected by layers.sh --self-test: a call that closes a loop on the ground floor */
void _exa_layers_selftest_loop(void);
void _exa_layers_selftest_loop(void) { _exa_bugcheck(0, 0, 0, 0, 0); }
C
  cat >>"$tmp/src-loop/base/bugcheck.c" <<'C'

/* injected by layers.sh --self-test: the other half of the loop */
void _exa_layers_selftest_loop2(void);
void _exa_layers_selftest_loop2(void) { _exa_spin_wait(0, 0); }
C
  compile "$tmp/src-loop" "$tmp/obj-loop"
  if check "$tmp/obj-loop" >"$tmp/loop.txt"; then
    echo "layers self-test: an injected loop between base/bugcheck.c and base/spinlock.c was NOT caught" >&2; exit 1
  fi
  grep -q 'LOOP base/' "$tmp/loop.txt" || { cat "$tmp/loop.txt"; echo "layers self-test: wrong report for the loop" >&2; exit 1; }
  echo "layers self-test: injected loop caught: $(grep 'LOOP' "$tmp/loop.txt" | head -1)"
  echo "layers self-test: ok"
  exit 0
fi

compile "$here/src" "$tmp/obj"
if check "$tmp/obj"; then
  echo "layers: ok ($(find "$tmp/obj" -name '*.o' | wc -l) files, $(wc -l <"$tmp/obj.edges") cross-file references, none upward, sideways or in a loop)"
else
  echo "layers: FAILED (native/LAYERS.md)" >&2
  exit 1
fi

# The Windows build: the same sources with base/platform/win32.c behind base/platform.c.
if [ "${EXA_LAYERS_WINDOWS:-1}" != 0 ] && command -v clang-14 >/dev/null && command -v llvm-nm-14 >/dev/null &&
   [ -d /usr/x86_64-w64-mingw32/include ]; then
  cc=clang-14
  nm=llvm-nm-14
  flags=(--target=x86_64-w64-mingw32 -fno-emulated-tls -DEXA_BUILDING_LIBRARY=1 -DEXA_DEBUG=1 -std=c11 -O2 -Wall -Wextra
         -Wpedantic -Wstrict-prototypes -Werror -I"$here/include" -I"$here/src")
  compile "$here/src" "$tmp/obj-win"
  if check "$tmp/obj-win"; then
    echo "layers: ok on windows-x86_64 ($(find "$tmp/obj-win" -name '*.o' | wc -l) files, $(wc -l <"$tmp/obj-win.edges") cross-file references)"
  else
    echo "layers: FAILED on windows-x86_64 (native/LAYERS.md)" >&2
    exit 1
  fi
else
  echo "layers: windows-x86_64 not checked (no clang-14/llvm-nm-14 with mingw-w64 headers)"
fi
