#!/bin/busybox sh
# PID 1 of the warren test VM (see scripts/vm/README.md). prepare.sh packs this
# file as /init into the initramfs, next to a static busybox and the kernel
# modules listed in /modules.load. It runs twice:
#
#  stage 1 (no argument, in the initramfs): load the modules, mount the host's
#    `/` (9p, read-only) with a tmpfs overlay on top, copy this run's files
#    from the host into the overlay's /run, and switch_root into the overlay.
#    switch_root, not chroot: the kernel refuses to create a user namespace
#    for a chrooted caller.
#  stage 2 (argument "stage2", in the overlay): mount the usual API
#    filesystems and a pure cgroup v2 hierarchy, run the command from the
#    host between two markers, report its exit code and power off.
#
# Everything goes to the console (ttyS0), which run.sh reads on the host. The
# kernel itself is kept quiet (quiet loglevel=0), so only these lines show.
#
# Output protocol (NONCE is random per run, so a command cannot fake it):
#   \n@@WARREN-VM-BEGIN-NONCE@@\n  <command output>  \n@@WARREN-VM-EXIT-NONCE=<code>@@\n
#   @@WARREN-VM-INIT-ERROR@@ <message>   when the VM cannot set itself up.

VM=/run/warren-vm # this run's files inside the guest (a tmpfs)

die() {
  echo
  echo "@@WARREN-VM-INIT-ERROR@@ $*"
  # The console is gone if poweroff fails; make sure the kernel panics
  # (panic=-1 and qemu's -no-reboot turn that into qemu exiting).
  poweroff -f
  exit 1
}

stage1() {
  export PATH=/bin
  /bin/busybox mkdir -p /bin /proc /sys /dev /lower /rw /newroot
  /bin/busybox --install -s /bin
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev
  exec </dev/null >/dev/console 2>&1

  # Order matters: insmod resolves nothing, prepare.sh listed the
  # dependencies first (from the kernel's modules.dep).
  while read -r m; do
    [ -n "$m" ] || continue
    insmod "/lib/modules/$m" || die "insmod $m failed"
  done </modules.load

  # The host's / (qemu exports it read-only: nothing the guest does can reach
  # the host's disk). cache=loose: the host does not change the files the
  # guest reads during the short life of the VM, and TCG makes every 9p round
  # trip expensive.
  mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /lower ||
    die "cannot mount the host's / over 9p"
  # A writable layer in guest memory: the guest may write anywhere (/var/lib,
  # the repository's .cache, ...) and all of it is gone at poweroff.
  mount -t tmpfs -o mode=0755 rw /rw || die "cannot mount the tmpfs for the overlay"
  mkdir -p /rw/upper /rw/work
  # xino=off: 9p inode numbers (remapped by qemu) use all 64 bits.
  mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work,xino=off /newroot ||
    die "cannot mount the overlay over the host's /"

  # This run's directory on the host, base64 on the kernel command line (any
  # path survives). Copied into the guest's /run, which is its own tmpfs.
  run=
  for arg in $(cat /proc/cmdline); do
    case "$arg" in warren.run=*) run=$(echo "${arg#warren.run=}" | base64 -d) ;; esac
  done
  [ -n "$run" ] || die "no warren.run= on the kernel command line"
  [ -f "/lower$run/cmd.sh" ] || die "run directory $run not visible in the guest"
  mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run || die "cannot mount /run"
  mkdir -p "/newroot$VM/bin"
  cp "/lower$run/cmd.sh" "/lower$run/nonce" "/newroot$VM/" || die "cannot copy the run files"
  cp /init "/newroot$VM/init"
  cp /bin/busybox "/newroot$VM/bin/busybox"

  for fs in proc sys dev; do
    mount --move "/$fs" "/newroot/$fs" || die "cannot move /$fs into the new root"
  done
  exec switch_root /newroot "$VM/bin/busybox" sh "$VM/init" stage2
  die "switch_root failed"
}

stage2() {
  export PATH="$VM/bin"
  busybox --install -s "$VM/bin"

  # A pure cgroup v2 layout (cgroup_no_v1=all on the kernel command line),
  # mounted with systemd's options. No controller is enabled in the root's
  # cgroup.subtree_control: that is left to the code under test.
  mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
    die "cannot mount cgroup2 on /sys/fs/cgroup"
  # /tmp is not replaced: the overlay already makes it writable, and the
  # caller's cwd (a CI checkout, say) may well live under the host's /tmp.
  mkdir -p /dev/pts /dev/shm
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts || die "cannot mount /dev/pts"
  mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm || die "cannot mount /dev/shm"
  [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
  hostname warren-vm

  # run.sh --hardware: the USB and GPU drivers, from the kernel in the host's
  # cache (over 9p), in the dependency order prepare.sh listed them. After
  # this, the xhci root hubs and the virtio GPU's /dev/dri nodes exist
  # (devtmpfs makes the nodes; no udev runs here).
  hw=
  for arg in $(cat /proc/cmdline); do
    case "$arg" in warren.hwmodules=*) hw=$(echo "${arg#warren.hwmodules=}" | base64 -d) ;; esac
  done
  if [ -n "$hw" ]; then
    [ -f "$hw" ] || die "hardware module list $hw not visible in the guest"
    while read -r m; do
      [ -n "$m" ] || continue
      insmod "$m" || die "insmod $m failed"
    done <"$hw"
  fi
  ip link set lo up 2>/dev/null

  # Raw console: no \n -> \r\n translation, so the host gets the bytes.
  stty -F /dev/console raw -echo 2>/dev/null
  nonce=$(cat "$VM/nonce")

  printf '\n@@WARREN-VM-BEGIN-%s@@\n' "$nonce"
  # The command gets a clean environment (cmd.sh exports it), /dev/null as
  # stdin, and a pipe, not the console, as stdout and stderr: like a child of
  # a test runner, it must not think it talks to a terminal.
  set -o pipefail
  env -i "$VM/bin/sh" "$VM/cmd.sh" </dev/null 2>&1 | cat
  code=$?
  printf '\n@@WARREN-VM-EXIT-%s=%d@@\n' "$nonce" "$code"
  poweroff -f
}

case "${1:-}" in
  stage2) stage2 ;;
  *) stage1 ;;
esac
