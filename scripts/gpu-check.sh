#!/usr/bin/env bash
# The NVIDIA check of issue 13: two warren containers share one GPU through a
# `gpu` device with `nvidiaRuntime: true`, and run `nvidia-smi -L` and an NVML
# query at the same time, with the driver's libraries read-only inside.
#
# It runs on a machine that may have no node and no checkout: `pack` (here)
# puts into .cache/gpu-check/ an xz-compressed node, a static busybox, and
# warren (scripts/gpu-check.mts bundled with esbuild, zod included; the addon
# and warren-monitor from build/Release; node-gyp-build, which loads the
# addon); `run` (there) unpacks node and runs the bundle.
#
# Usage:
#   scripts/gpu-check.sh pack [--no-node]   build .cache/gpu-check (--no-node: use the node in PATH when run)
#   scripts/gpu-check.sh run                on the GPU machine, from the repository root
#
# With the device tool: run(command="bash scripts/gpu-check.sh run",
#   carry=[".cache/gpu-check"], timeout_s=300). The log is also written to
#   $OUT/gpu-check.log when $OUT is set.
#
# Exit status of run: 0 PASS, 1 FAIL, 77 skipped (the reason is printed:
# no NVIDIA GPU, a kernel or cgroup layout warren cannot use).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pack=$repo/.cache/gpu-check
say() { echo "gpu-check: $*"; }
skip() { say "SKIP: $*"; exit 77; }

do_pack() {
  local no_node=0
  [ "${1:-}" = --no-node ] && no_node=1
  [ -f "$repo/build/Release/warren.node" ] || { say "build the addon first (npx node-gyp rebuild)"; exit 1; }
  rm -rf "$pack/warren" && mkdir -p "$pack/warren/build/Release" "$pack/warren/node_modules"
  # The addon loader looks for package.json and binding.gyp beside the code.
  cp "$repo/package.json" "$repo/binding.gyp" "$pack/warren/"
  cp "$repo/build/Release/warren.node" "$repo/build/Release/warren-monitor" "$pack/warren/build/Release/"
  cp -r "$(cd "$repo" && node -p 'require("path").dirname(require.resolve("node-gyp-build/package.json"))')" "$pack/warren/node_modules/"
  (cd "$repo" && node -e '
    require("esbuild").buildSync({
      entryPoints: ["scripts/gpu-check.mts"], outfile: process.argv[1], bundle: true, platform: "node",
      format: "esm", target: "node20", logLevel: "warning",
      banner: { js: "import { createRequire as __cr } from \"node:module\"; const require = __cr(import.meta.url);" },
    })' "$pack/warren/gpu-check.mjs")
  cp /bin/busybox "$pack/busybox"
  file -L "$pack/busybox" | grep -q 'statically linked' || { say "/bin/busybox is not static (install busybox-static)"; exit 1; }
  if [ "$no_node" = 0 ]; then
    # node is ~95 MiB; xz brings it to about a fifth. Rebuilt only when it changes.
    local node_bin
    node_bin=$(command -v node)
    if [ ! -f "$pack/node.xz" ] || [ "$node_bin" -nt "$pack/node.xz" ]; then
      say "compressing $node_bin (a minute or two)"
      xz -T0 -6 -c "$node_bin" >"$pack/node.xz.tmp" && mv "$pack/node.xz.tmp" "$pack/node.xz"
    fi
  else
    rm -f "$pack/node.xz"
  fi
  local size tree
  size=$(du -sb "$pack" | cut -f1)
  tree=$(cd "$repo" && git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
  say "packed $((size / 1024 / 1024)) MiB in $pack (+ $((tree / 1024 / 1024)) MiB of tracked files)"
  # The device tool carries at most 64 MiB in all.
  [ $((size + tree)) -lt $((60 * 1024 * 1024)) ] || { say "too big to carry (over 60 MiB)"; exit 1; }
  say 'now: run(command="bash scripts/gpu-check.sh run", carry=[".cache/gpu-check"], timeout_s=300)'
}

do_run() {
  # --- Can this machine do it at all? (each "no" is a skip with its reason)
  say "kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  [ -c /dev/nvidia0 ] || skip "no /dev/nvidia0 (no NVIDIA GPU on this machine)"
  ls -l /dev/nvidia* 2>&1 | sed 's/^/gpu-check:   /'
  local major minor
  IFS=. read -r major minor _ <<<"$(uname -r)"
  # README: Linux >= 5.14. gVisor reports 4.4.0 and lacks open_tree & co.
  [ "$major" -gt 5 ] || { [ "$major" = 5 ] && [ "$minor" -ge 14 ]; } || skip "kernel $(uname -r) is older than 5.14, which warren needs (gVisor reports 4.4.0)"
  [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || skip "/sys/fs/cgroup is not a cgroup v2 mount"
  [ -f "$pack/warren/gpu-check.mjs" ] || { say "no $pack/warren: run 'scripts/gpu-check.sh pack' first (and carry .cache/gpu-check)"; exit 1; }
  # The driver's tools may be outside PATH (/usr/local/nvidia/bin on the
  # lendable machines): show what the host itself says first.
  local smi
  smi=$(PATH=$PATH:/usr/local/nvidia/bin command -v nvidia-smi) || skip "no nvidia-smi on the host"
  LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64 "$smi" -L | sed 's/^/gpu-check: host: /' || true

  # --- node
  local node
  if [ -f "$pack/node.xz" ]; then
    node=$(mktemp -d /tmp/warren-node.XXXXXX)/node
    if command -v xz >/dev/null; then
      xz -dc "$pack/node.xz" >"$node"
    else # python3's lzma, where xz-utils is not installed
      python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$pack/node.xz" "$node"
    fi
    chmod 0755 "$node"
  else
    node=$(command -v node) || { say "no node here and none packed"; exit 1; }
  fi
  say "node $("$node" --version)"

  local code=0
  WARREN_GPU_CHECK_BUSYBOX=$pack/busybox "$node" "$pack/warren/gpu-check.mjs" 2>&1 | tee ${OUT:+"$OUT/gpu-check.log"} || code=$?
  [ -f "$pack/node.xz" ] && rm -rf "$(dirname "$node")"
  return "$code"
}

case "${1:-}" in
  pack) shift; do_pack "$@" ;;
  run) do_run ;;
  *) echo "usage: $0 pack [--no-node] | run" >&2; exit 2 ;;
esac
