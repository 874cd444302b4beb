#!/usr/bin/env bash
# Gets everything scripts/vm/run.sh needs to boot a throwaway cgroup v2 VM:
# qemu, a Debian kernel, and an initramfs (busybox + scripts/vm/init.sh + the
# virtio/9p/overlay modules). Idempotent: what is already in the cache is
# reused, and the initramfs is rebuilt only when its inputs change.
#
# Usage: scripts/vm/prepare.sh [-q] [CACHE_DIR]
#   CACHE_DIR defaults to $WARREN_VM_CACHE, else <repo>/.cache/vm.
#   -q prints nothing but errors.
# Environment: WARREN_VM_MODULES="veth bridge ..." loads more modules in the
#   guest (with their dependencies).
# Exit status: 0 ready, 2 qemu or the kernel cannot be had, 1 anything else.
#
# Writes CACHE_DIR/vm.env (sourced by run.sh) with the paths it found.
#
# Why a VM at all: the hosts the tests run on may have a hybrid cgroup layout
# (v1 controllers, a cgroup2 mount with no controllers), and the host's cgroup
# mounts must not be touched. A guest booted with cgroup_no_v1=all has a pure
# cgroup v2 hierarchy with every controller.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

quiet=0
if [ "${1:-}" = "-q" ]; then quiet=1; shift; fi
cache=${1:-${WARREN_VM_CACHE:-$repo/.cache/vm}}

say() { [ "$quiet" = 1 ] || echo "vm-prepare: $*"; }
fail() { echo "vm-prepare: $*" >&2; exit 2; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd -P)
# One prepare at a time per cache: tests in parallel processes may all call it.
exec 9>"$cache/.lock"
flock 9

# --- Debian packages -------------------------------------------------------
# qemu-system-x86 for the VM; cpio to pack the initramfs; xz-utils in case the
# kernel's modules are xz-compressed (busybox's insmod cannot load those).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for pkg in qemu-system-x86 cpio xz-utils; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing packages: ${missing[*]} (run as root, or install them)"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$cache/apt.log" 2>&1; }
  # The package lists may be stale or absent: update only when needed (slow).
  if ! apt_install; then
    say "apt-get install failed, running apt-get update first"
    apt-get update -qq >>"$cache/apt.log" 2>&1 || true
    apt_install || fail "cannot install ${missing[*]} (see $cache/apt.log)"
  fi
fi
qemu=$(command -v qemu-system-x86_64) || fail "qemu-system-x86_64 not found after installing qemu-system-x86"

# --- Kernel ---------------------------------------------------------------
# Debian's 6.1 kernel (bookworm), the plain amd64 flavour: its virtio, 9p and
# overlay drivers are modules, which the initramfs loads. A kernel already
# extracted into the cache is reused (no apt access); delete
# CACHE_DIR/kernel to move to a newer one.
kdir=
while IFS= read -r d; do
  if [ -f "$d/.complete" ]; then kdir=${d%/}; break; fi
done < <(shopt -s nullglob; printf '%s\n' "$cache"/kernel/*/ | sort -V -r)
if [ -z "$kdir" ]; then
  # Newest linux-image-6.1.0-N-amd64; not -dbg, -unsigned, rt or cloud.
  pick() { apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1; }
  pkg=$(pick)
  if [ -z "$pkg" ]; then
    say "no linux-image-6.1.0-*-amd64 in the package lists, running apt-get update"
    apt-get update -qq >"$cache/apt.log" 2>&1 || true
    pkg=$(pick)
  fi
  [ -n "$pkg" ] || fail "no linux-image-6.1.0-*-amd64 package available from apt (a Debian 12 source is needed)"
  kver=${pkg#linux-image-}
  dl=$(mktemp -d "$cache/download.XXXXXX")
  trap 'rm -rf "$dl"' EXIT
  say "downloading $pkg"
  # apt-get download writes into the current directory. As root it warns that
  # the _apt user cannot write there; harmless.
  (cd "$dl" && apt-get download -qq "$pkg" >"$cache/apt-download.log" 2>&1) ||
    fail "cannot download $pkg (see $cache/apt-download.log)"
  deb=$(ls "$dl"/*.deb)
  say "extracting $(basename "$deb") ($(du -h "$deb" | cut -f1))"
  rm -rf "$cache/kernel/$kver"
  mkdir -p "$cache/kernel/$kver"
  dpkg-deb -x "$deb" "$cache/kernel/$kver"
  rm -rf "$dl"
  trap - EXIT
  # The package ships no modules.dep (its postinst runs depmod). Generate it
  # inside the cache; kmod's depmod if the host has it, else busybox's.
  if command -v depmod >/dev/null; then
    depmod -b "$cache/kernel/$kver" "$kver"
  else
    /bin/busybox depmod -b "$cache/kernel/$kver" "$kver"
  fi
  touch "$cache/kernel/$kver/.complete"
  kdir=$cache/kernel/$kver
fi
kver=$(basename "$kdir")
vmlinuz=$kdir/boot/vmlinuz-$kver
moddir=$kdir/lib/modules/$kver
[ -f "$vmlinuz" ] && [ -f "$moddir/modules.dep" ] || fail "kernel in $kdir is incomplete: delete it and run again"
# kmod's modprobe reads only the binary indexes (modules.dep.bin,
# modules.alias.bin), which busybox's depmod does not write: a guest that
# loads modules on demand (the OCI tier's podman network: bridge, nf_tables)
# needs them. Made once kmod's depmod is here (setup.sh installs kmod).
if [ ! -f "$moddir/modules.dep.bin" ] && command -v depmod >/dev/null && depmod -V 2>/dev/null | grep -q kmod; then
  depmod -b "$kdir" "$kver"
fi

# The uncompressed ELF kernel, which qemu boots straight into the kernel's
# PVH entry point: no firmware boot path, no decompression under TCG. Halves
# the boot time (about 8.5 s -> 4.5 s here). Found like the kernel's
# scripts/extract-vmlinux does: at the first compressed stream in the bzImage
# that decompresses to an ELF file. Without it, run.sh boots the bzImage.
vmlinux=$kdir/boot/vmlinux-$kver
if [ ! -f "$vmlinux" ] && [ ! -f "$vmlinux.none" ] && grep -q '^CONFIG_PVH=y' "$kdir/boot/config-$kver" 2>/dev/null; then
  say "extracting the uncompressed kernel from $(basename "$vmlinuz")"
  found=
  # magic (hex) and decompressor, as in extract-vmlinux
  for fmt in 'fd377a585a00:xz -dc --single-stream' '1f8b0800:gzip -dc' '28b52ffd:zstd -qdc'; do
    magic=${fmt%%:*}
    for off in $(od -An -tx1 -v "$vmlinuz" | tr -d ' \n' | grep -ob "$magic" | cut -d: -f1); do
      [ $((off % 2)) = 0 ] || continue # not byte-aligned: a false match
      tail -c +$((off / 2 + 1)) "$vmlinuz" | ${fmt#*:} >"$vmlinux.tmp" 2>/dev/null || true
      if [ "$(head -c 4 "$vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then found=1; break 2; fi
    done
  done
  if [ -n "$found" ]; then mv "$vmlinux.tmp" "$vmlinux"; else rm -f "$vmlinux.tmp"; touch "$vmlinux.none"; fi
fi
boot_kernel=$vmlinuz
[ -f "$vmlinux" ] && boot_kernel=$vmlinux

# --- Modules --------------------------------------------------------------
# What the guest needs: virtio-pci (the 9p device), 9p over virtio, overlay;
# fuse for lxcfs (test/vm/lxcfs.test.ts).
# Their dependencies (virtio_ring, virtio, virtio_pci_{modern,legacy}_dev,
# netfs, fscache, 9pnet) come from modules.dep, in load order; a module built
# into this kernel is skipped.
wanted=(virtio_pci 9pnet_virtio 9p overlay fuse ${WARREN_VM_MODULES:-})
load=() # paths relative to $moddir, in load order
seen=" "
add_module() { # add_module PATH: once, after the ones it depends on
  local path=$1
  case "$seen" in *" $path "*) return ;; esac
  local line deps=() i
  line=$(grep -m1 "^$path:" "$moddir/modules.dep") || fail "$path not in modules.dep"
  read -r -a deps <<<"${line#*:}"
  # modules.dep lists the dependencies so that modprobe loads them last to first.
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_module "${deps[i]}"; done
  seen+="$path "
  load+=("$path")
}
want_module() { # want_module NAME: it and its dependencies, unless built in
  # File names may spell - where the module name has _ (and the reverse).
  local name=$1 pattern path
  pattern=$(echo "$name" | sed 's/[-_]/[-_]/g')
  path=$(grep -m1 -E "(^|/)$pattern\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" | cut -d: -f1) || true
  if [ -n "$path" ]; then
    add_module "$path"
  elif grep -qE "(^|/)$pattern\.ko(\.xz|\.zst|\.gz)?$" "$moddir/modules.builtin" 2>/dev/null; then
    say "module $name is built into $kver"
  else
    fail "kernel $kver has no module $name"
  fi
}
for name in "${wanted[@]}"; do want_module "$name"; done

# --- Hardware drivers (run.sh --hardware) -----------------------------------
# The USB host controller (qemu-xhci), the drivers of the USB devices tests
# hot-add (usb-kbd: usbhid + hid-generic; usb-storage: usb-storage + sd_mod)
# and the virtio GPU's DRM driver. Not in the initramfs (drm alone is half a
# megabyte, and most runs need none of them): init.sh's second stage loads
# them from this cache, which the guest sees over 9p, when run.sh passes
# warren.hwmodules=. The ones the initramfs already loads are left out.
base_load=("${load[@]}")
load=()
for name in xhci_pci usbhid hid_generic usb_storage sd_mod virtio_gpu; do want_module "$name"; done
hw_load=("${load[@]}")
load=("${base_load[@]}")
hw_list=$cache/hw-modules.load
{
  for path in "${hw_load[@]}"; do
    case "$path" in
      # busybox's insmod reads plain .ko files only: decompressed copies.
      *.ko.xz | *.ko.zst | *.ko.gz)
        mkdir -p "$cache/hw-modules"
        out=$cache/hw-modules/$(basename "${path%.*}")
        if [ ! -f "$out" ]; then
          case "$path" in
            *.xz) xz -dc "$moddir/$path" ;;
            *.zst) zstd -qdc "$moddir/$path" ;;
            *.gz) gzip -dc "$moddir/$path" ;;
          esac >"$out.tmp" || fail "cannot decompress $path"
          mv "$out.tmp" "$out"
        fi
        echo "$out" ;;
      *) echo "$moddir/$path" ;;
    esac
  done
} >"$hw_list.tmp"
mv "$hw_list.tmp" "$hw_list"

# --- Initramfs ------------------------------------------------------------
# Rebuilt when any input changes: the init script, busybox, the kernel, the
# module list.
busybox=/bin/busybox
[ -x "$busybox" ] || fail "$busybox not found (Debian package busybox-static)"
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
  ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable' ||
  fail "$busybox is not statically linked (install busybox-static)"
sum=$({
  sha256sum "$here/init.sh" "$busybox" "$vmlinuz"
  printf '%s\n' "${load[@]}"
} | sha256sum | cut -d' ' -f1)
initrd=$cache/initramfs.cpio.gz
if [ ! -f "$initrd" ] || [ "$(cat "$cache/initramfs.sha256" 2>/dev/null)" != "$sum" ]; then
  say "building the initramfs"
  stage=$(mktemp -d "$cache/initramfs.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage"/{bin,dev,proc,sys,lib/modules}
  cp "$busybox" "$stage/bin/busybox"
  install -m 0755 "$here/init.sh" "$stage/init"
  : >"$stage/modules.load"
  for path in "${load[@]}"; do
    base=$(basename "$path")
    case "$base" in
      *.ko.xz) xz -dc "$moddir/$path" >"$stage/lib/modules/${base%.xz}"; base=${base%.xz} ;;
      *.ko.zst) zstd -qdc "$moddir/$path" >"$stage/lib/modules/${base%.zst}" || fail "cannot decompress $base (zstd)"; base=${base%.zst} ;;
      *.ko.gz) gzip -dc "$moddir/$path" >"$stage/lib/modules/${base%.gz}"; base=${base%.gz} ;;
      *) cp "$moddir/$path" "$stage/lib/modules/$base" ;;
    esac
    echo "$base" >>"$stage/modules.load"
  done
  # The kernel opens /dev/console for init's stdio before init mounts devtmpfs.
  mknod -m 600 "$stage/dev/console" c 5 1
  (cd "$stage" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -9n >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  echo "$sum" >"$cache/initramfs.sha256"
  rm -rf "$stage"
  trap - EXIT
fi

# Run directories left by a run.sh that was SIGKILLed (its EXIT trap did not run).
mkdir -p "$cache/runs"
for d in "$cache"/runs/run.*; do
  [ -d "$d" ] || continue
  owner=$(cat "$d/owner" 2>/dev/null || true)
  if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then
    # No owner file yet may mean a run.sh that is just starting: only if old.
    if [ -n "$owner" ] || [ -n "$(find "$d" -maxdepth 0 -mmin +5)" ]; then rm -rf "$d"; fi
  fi
done
cat >"$cache/vm.env.tmp" <<EOF
# Written by scripts/vm/prepare.sh; sourced by scripts/vm/run.sh.
WARREN_VM_QEMU=$(printf %q "$qemu")
WARREN_VM_KERNEL=$(printf %q "$boot_kernel")
WARREN_VM_KVER=$(printf %q "$kver")
WARREN_VM_INITRD=$(printf %q "$initrd")
WARREN_VM_INITRD_SHA256=$sum
WARREN_VM_HW_MODULES=$(printf %q "$hw_list")
EOF
mv "$cache/vm.env.tmp" "$cache/vm.env"

if [ "$quiet" = 0 ]; then
  say "qemu:      $qemu ($("$qemu" --version | head -n1))"
  say "kernel:    $boot_kernel"
  say "initramfs: $initrd (modules: ${load[*]##*/})"
  say "ready; run commands with: $here/run.sh -- CMD [ARGS...]"
fi
