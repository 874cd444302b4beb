#!/usr/bin/env bash
# Loads the arm64 glibc addon (prebuilds/linux-arm64/warren.glibc.node) in
# the official arm64 Node (scripts/fetch-nodes.sh) under qemu-aarch64 user
# emulation, with Debian's arm64 glibc, libstdc++ and libgcc_s
# (/usr/aarch64-linux-gnu, from the cross toolchain's packages), and calls
# harmless exports: the plan ABI constants (which must equal this host's
# x64 build: same struct layout on both 64-bit targets) and pipe()/close(),
# real syscalls through the addon. Prints the JSON it got; exits non-zero
# when loading or a call fails.
set -euo pipefail
cd "$(dirname "$0")/.."
node_arm64=.cache/node/arm64-24/bin/node
addon=prebuilds/linux-arm64/warren.glibc.node
for f in "$node_arm64" "$addon"; do
  [ -f "$f" ] || { echo "qemu-load-arm64: $f is missing (scripts/fetch-nodes.sh, scripts/prebuild.sh)" >&2; exit 2; }
done
command -v qemu-aarch64 >/dev/null || { echo "qemu-load-arm64: qemu-aarch64 is missing (Debian: qemu-user)" >&2; exit 2; }
script='
const b = require(process.argv[1]);
const [r, w] = b.pipe();
b.close(r);
b.close(w);
const { magic, version, headerSize, opSize } = b.abi;
console.log(JSON.stringify({ arch: process.arch, fds: [r, w], abi: { magic, version, headerSize, opSize } }));
'
got=$(qemu-aarch64 -L /usr/aarch64-linux-gnu "$node_arm64" -e "$script" "$PWD/$addon")
want=$(node -e '
const b = require(process.argv[1]);
const { magic, version, headerSize, opSize } = b.abi;
console.log(JSON.stringify({ magic, version, headerSize, opSize }));
' "$PWD/build/Release/warren.node")
echo "$got"
node -e '
const got = JSON.parse(process.argv[1]), want = JSON.parse(process.argv[2]);
if (got.arch !== "arm64") throw new Error("not arm64: " + got.arch);
if (!(got.fds[0] >= 0 && got.fds[1] > got.fds[0])) throw new Error("pipe() gave " + got.fds);
if (JSON.stringify(got.abi) !== JSON.stringify(want)) throw new Error("arm64 ABI " + JSON.stringify(got.abi) + " != x64 " + JSON.stringify(want));
' "$got" "$want"
