#!/usr/bin/env bash
# Starts lxcfs (Debian's `lxcfs` package) when it is not running, so that
# warren binds its /proc and /sys/devices/system/cpu views into containers
# (the `lxcfs` config option, docs/system-containers.md). Idempotent.
#
# On a systemd host the package's own service does it (`systemctl enable
# --now lxcfs`). Where PID 1 is not systemd (a container, a bare VM) the
# service never starts: lxcfs is started here as a daemon of its own
# session, its output in $LXCFS_LOG (default /var/log/lxcfs.log).
#
# What lxcfs 5.0 does at start, checked with strace: in a mount namespace of
# its own it mounts the host's existing cgroup hierarchies (v1 and v2) on a
# tmpfs under /run/lxcfs/controllers and only reads them afterwards; it
# creates nothing in any cgroup hierarchy. Only writes through its own
# `<mount>/cgroup` tree (which warren never uses) would.
#
# Usage: scripts/start-lxcfs.sh [MOUNTPOINT]   (default /var/lib/lxcfs)
set -euo pipefail

mnt=${1:-/var/lib/lxcfs}
log=${LXCFS_LOG:-/var/log/lxcfs.log}
say() { echo "start-lxcfs: $*"; }

# The first fuse.lxcfs mount of this mount namespace, if any (mountinfo's
# field 5 is the mount point; octal escapes are left as they are).
mounted() { awk '$0 ~ / - fuse\.lxcfs / { print $5; exit }' /proc/self/mountinfo; }

at=$(mounted)
if [ -n "$at" ]; then
  # A daemon that died leaves its mount behind, answering ENOTCONN.
  if stat "$at/proc/uptime" >/dev/null 2>&1; then
    say "already running at $at"
    exit 0
  fi
  say "the lxcfs mount at $at does not answer (lxcfs died?): unmounting it"
  umount -l "$at"
fi

command -v lxcfs >/dev/null || { say "lxcfs is not installed (apt-get install lxcfs)" >&2; exit 1; }

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl enable --now lxcfs
  where="journalctl -u lxcfs"
else
  where=$log
  mkdir -p "$mnt" "$(dirname "$log")"
  # -f: stay in the foreground of a session of its own (setsid), so its
  # messages reach the log; fuse's own daemon mode sends them to /dev/null.
  # Not one inherited fd beyond stdio: a daemon that kept one (the lock of
  # a caller run under flock(1), say) would hold it for as long as it runs.
  (
    for fd in /proc/self/fd/*; do
      n=${fd##*/}
      if [ "$n" -gt 2 ] && [ "$n" -ne 255 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
    done
    exec setsid lxcfs -f "$mnt" </dev/null >>"$log" 2>&1
  ) &
fi

for _ in $(seq 50); do
  at=$(mounted)
  if [ -n "$at" ] && stat "$at/proc/uptime" >/dev/null 2>&1; then
    say "running at $at (log: $where)"
    exit 0
  fi
  sleep 0.1
done
say "lxcfs did not come up within 5 s; see $where" >&2
exit 1
