#!/usr/bin/env bash
# One-command setup on a fresh Debian/Ubuntu machine, as root: the system
# packages the build and the kernel tests need, npm dependencies, the native
# addon, the library build and the busybox test rootfs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: a C/C++ toolchain and python3 for node-gyp, the static
# busybox the tests run in; what the image and storage work drives:
# debootstrap (Debian image builds), xz-utils and zstd (compressed layers
# and LXC tarballs), btrfs-progs (the btrfs backend, tested on a loop
# device), skopeo and docker-registry (registry pulls, tested against a
# registry on loopback, never the internet); nftables (NAT and port
# forwards of bridged NICs), squashfs-tools (LXC/Incus squashfs images),
# lxcfs (the containers' /proc/meminfo, uptime, cpuinfo… views).
# The npm package's prebuilt binaries (scripts/prebuild.sh): the arm64 cross
# compilers, musl-tools (musl for x64), qemu-user (the arm64 build's load
# test, test/package/prebuilds.test.ts).
# The OCI runtime's clients (issue 16), run only inside the cgroup v2 VM
# (never on a hybrid host: they would write v1 cgroups): podman (with
# conmon and runc), containerd, crun to compare with, the CNI plugins and
# iptables for podman's default network, and kmod, whose modprobe loads the
# guest kernel's modules (bridge, nf_tables) when the guest asks for them.
# Compare with a fresh machine's package list before adding a tool to a test.
missing=()
for pkg in busybox-static g++ make python3 debootstrap xz-utils zstd btrfs-progs skopeo docker-registry nftables squashfs-tools lxcfs \
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu musl-tools qemu-user \
  podman containerd crun containernetworking-plugins iptables kmod; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  # No service may start on this host (containerd would write v1 cgroups):
  # policy-rc.d says no to every start for the install's length.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  [ -z "$own_policy" ] || rm -f "$policy"
  [ "$status" -eq 0 ] || exit "$status"
fi

# node-gyp downloads Node's headers unless told where they are; use the
# ones installed next to this node when present (no network needed).
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

npm ci --no-audit --no-fund
# npm ci builds the addon through the package's install script; make sure.
[ -f build/Release/warren.node ] || npx node-gyp rebuild
npm run build
# Node 22 and 24 (x64) and 24 (arm64) from the registry, for the tests; the
# prebuilt binaries for x64/arm64, glibc/musl (a few minutes: four builds).
bash scripts/fetch-nodes.sh
bash scripts/prebuild.sh
bash scripts/make-busybox-rootfs.sh
# lxcfs's service starts only under systemd: start it here otherwise (the
# lxcfs tests skip, saying so, when it does not run).
bash scripts/start-lxcfs.sh || echo "setup: lxcfs could not be started; containers will see the host's /proc/meminfo, uptime, cpuinfo"
# The pure cgroup v2 test tier boots a throwaway VM (qemu, Debian's kernel):
# fetched now so the first test run does not; its tests say why they skip
# when it cannot be had.
bash scripts/vm/prepare.sh -q || echo "setup: the cgroup v2 test VM is unavailable here; those tests will be skipped"
echo "setup: done. Run the tests with: npm test"
