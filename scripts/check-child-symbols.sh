#!/bin/sh
# Checks the objects of native/child/ (the static library the build makes of
# them): after a CLONE_VM clone the child shares Node's memory and thread
# pointer, so it may call nothing outside its own objects: no libc (not even
# a strlen the compiler made of a loop), and no call through the PLT, which
# would enter the dynamic linker's lazy resolver. Fails, naming them, on
#   - an undefined symbol that no child object defines;
#   - a defined global symbol that is not hidden (calls to it from another
#     child object would go through the PLT of warren.node).
# Usage: check-child-symbols.sh <warren-child.a> [stamp file to touch]
# Run by the build (binding.gyp) and by src/native/child-symbols.test.ts.
set -eu
lib=${1:?usage: check-child-symbols.sh <warren-child.a> [stamp]}
[ -f "$lib" ] || { echo "check-child-symbols: \`$lib\` does not exist" >&2; exit 2; }

members=$(ar t "$lib")
[ -n "$members" ] || { echo "check-child-symbols: \`$lib\` has no objects" >&2; exit 2; }

# "member: U symbol" for every undefined reference, and every defined global.
undefined=$(nm -A -u "$lib" | awk '{ sub(/^.*\.a\[|^.*\.a:/, "", $1); sub(/[]:]+$/, "", $1); print $1, $NF }')
defined=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u)

status=0
outside=$(printf '%s\n' "$undefined" | awk -v defs="$defined" '
  BEGIN { n = split(defs, d, "\n"); for (i = 1; i <= n; i++) ok[d[i]] = 1 }
  NF == 2 && !($2 in ok) { print "  " $1 ": " $2 }')
if [ -n "$outside" ]; then
  echo "check-child-symbols: native/child objects call outside the child (libc or other code):" >&2
  printf '%s\n' "$outside" >&2
  echo "  (build them freestanding; write the loop with a wr_ helper from native/child/sys.h)" >&2
  status=1
fi

# readelf -s: Num Value Size Type Bind Vis Ndx Name; defined globals only.
exposed=$(readelf -sW "$lib" | awk '
  /^File: / { f = $2; sub(/^.*\(/, "", f); sub(/\)$/, "", f) }
  $5 == "GLOBAL" && $7 != "UND" && $6 != "HIDDEN" { print "  " f ": " $8 }')
if [ -n "$exposed" ]; then
  echo "check-child-symbols: native/child symbols are not hidden (calls would go through the PLT):" >&2
  printf '%s\n' "$exposed" >&2
  status=1
fi

[ "$status" -eq 0 ] || exit "$status"
[ -z "${2:-}" ] || touch "$2"
