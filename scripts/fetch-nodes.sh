#!/usr/bin/env bash
# The official Node binaries the tests run besides the system's: Node 22 and
# 24 for x64 (scripts/test.mjs runs a subset of the kernel suite under each)
# and Node 24 for arm64 (scripts/qemu-load-arm64.sh loads the arm64 addon
# with it under qemu-aarch64). From the npm registry's node-linux-<arch>
# packages, unpacked into .cache/node/<arch>-<major>/ (npm pack, so that
# npm's platform check does not refuse the arm64 one on an x64 host).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$PWD/.cache/node
mkdir -p "$dest"
for spec in x64@22.23.5 x64@24.22.3 arm64@24.22.3; do
  arch=${spec%@*} version=${spec#*@}
  dir=$dest/$arch-${version%%.*}
  if [ ! -x "$dir/bin/node" ] || [ "$(cat "$dir/version" 2>/dev/null)" != "$version" ]; then
    tgz=$(cd "$dest" && npm pack --silent "node-linux-$arch@$version")
    rm -rf "$dir" && mkdir -p "$dir"
    tar xzf "$dest/$tgz" -C "$dir" --strip-components=1 package/bin/node
    rm -f "$dest/$tgz"
    echo "$version" >"$dir/version"
  fi
  if [ "$arch" = x64 ]; then
    got=$("$dir/bin/node" -p process.version)
    [ "$got" = "v$version" ] || { echo "fetch-nodes: $dir/bin/node says $got, not v$version" >&2; exit 1; }
  fi
done
