#!/usr/bin/env bash
# Builds the static busybox rootfs the kernel tests run in, from Debian's
# busybox-static package. Idempotent: an existing, complete rootfs is kept.
#   scripts/make-busybox-rootfs.sh [DEST]   (default: .cache/rootfs/busybox)
set -euo pipefail
dest=${1:-"$(cd "$(dirname "$0")/.." && pwd)/.cache/rootfs/busybox"}
bb=/bin/busybox
if [ ! -x "$bb" ] || ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  echo "make-busybox-rootfs: $bb is not the static busybox; install Debian's busybox-static" >&2
  exit 1
fi
if [ -x "$dest/bin/busybox" ] && [ -f "$dest/.complete" ] && cmp -s "$bb" "$dest/bin/busybox"; then
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"/{bin,dev,proc,sys,tmp,etc,root,run,var/tmp,home,mnt}
install -m 0755 "$bb" "$dest/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dest/bin/$applet"
done
ln -s bin "$dest/sbin"
mkdir -p "$dest/usr"
ln -s ../bin "$dest/usr/bin"
ln -s ../bin "$dest/usr/sbin"
chmod 1777 "$dest/tmp" "$dest/var/tmp"
chmod 0700 "$dest/root"
cat >"$dest/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat >"$dest/etc/group" <<'GR'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GR
touch "$dest/.complete"
echo "busybox rootfs ready in $dest"
