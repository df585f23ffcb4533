#!/usr/bin/env bash
# Build the command-line tools (today: exapoolmon) into the directory given (default
# native/target/bin), with the library's warning flags. Used by the Maven build (compile
# phase) and by scripts/sanitize.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$here/target/bin"}
mkdir -p "$out"
cc=${CC:-gcc}
"$cc" -std=c11 -O2 -g -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror -I"$here/include" -I"$here/src" \
  -o "$out/exapoolmon" "$here/tools/exapoolmon.c"
echo "exapoolmon: $out/exapoolmon"
