/**
 * How writable a container's /proc/sys and /sys are (the `proc` and `sys`
 * modes, LXC's `lxc.mount.auto = proc:mixed sys:mixed` by default) and the
 * `sysctls` it is given. Pure, like the rest of the plan.
 * @module
 */
import { sysctlPath } from "../config/sysctls.js";
import { MOUNT_ATTR, MS, type Op } from "./ops.js";

export type ProcSysMode = "mixed" | "ro" | "rw";

export interface ProcSysConfig {
  /** Undefined in a config recorded before the modes existed: `mixed`. */
  proc?: ProcSysMode | undefined;
  sys?: ProcSysMode | undefined;
  /** `net`: true for a namespace of its own; false (the host's) or another's it joins are not its own. */
  namespaces: { user: boolean; net: unknown };
  privileged: boolean;
}

/**
 * Whether `mixed` leaves the container's own network namespace writable
 * (/proc/sys/net, /sys/devices/virtual/net). Only where its root may
 * administer that namespace: with a user namespace (the kernel gives
 * those files to the namespace's root, and no other), or privileged.
 * Confined root without a user namespace is the host's root, which the
 * sysctl files let write whatever the capabilities (they check the uid),
 * yet it has no CAP_NET_ADMIN: it gets its settings from `sysctls`, as
 * Docker's containers do.
 */
export function netWritable(c: ProcSysConfig): boolean {
  return c.namespaces.net === true && (c.namespaces.user || c.privileged);
}

/** Whether the sysfs mount is read-only from the start (`ro`, or `mixed` with nothing to leave writable). */
export function sysfsReadonly(c: ProcSysConfig): boolean {
  const mode = c.sys ?? "mixed";
  return mode === "ro" || (mode === "mixed" && !netWritable(c));
}

/**
 * A subtree of a read-only mount made writable again: a bind of it onto
 * itself copies the read-only flag, which is then cleared on that mount
 * alone (mount_setattr(2)). Neither sysfs nor procfs is read-only at its
 * superblock here, so the write reaches the file; the kernel's own checks
 * (the namespace's owner) still decide who may write what.
 */
function writableAgain(path: string): Op[] {
  return [
    { kind: "mount", source: path, target: path, flags: MS.BIND | MS.REC },
    { kind: "mount-setattr", target: path, set: 0, clear: MOUNT_ATTR.RDONLY },
  ];
}

/**
 * The ops that make /proc/sys and /sys as read-only as their modes say,
 * after pivot_root and before the masks and read-only paths (which a user
 * may then tighten further). `ownSysfs`: /sys is the container's own sysfs
 * mount (else the host's, bound read-only unless `rw`).
 */
export function procSysOps(c: ProcSysConfig, ownSysfs: boolean): Op[] {
  const ops: Op[] = [];
  const proc = c.proc ?? "mixed";
  if (proc !== "rw") {
    ops.push(
      { kind: "mount", source: "/proc/sys", target: "/proc/sys", flags: MS.BIND | MS.REC },
      { kind: "mount-setattr", target: "/proc/sys", set: MOUNT_ATTR.RDONLY, recursive: true },
    );
    if (proc === "mixed" && netWritable(c)) ops.push(...writableAgain("/proc/sys/net"));
  }
  // Not recursive: the cgroup2 mount below /sys keeps its own flags.
  if ((c.sys ?? "mixed") === "mixed" && ownSysfs && !sysfsReadonly(c)) {
    ops.push({ kind: "mount-setattr", target: "/sys", set: MOUNT_ATTR.RDONLY }, ...writableAgain("/sys/devices/virtual/net"));
  }
  return ops;
}

/**
 * The `sysctls` writes, through the container's /proc while /proc/sys is
 * still writable and the process still has every capability. Each file
 * shows the value of the namespace of the process that opens it, which is
 * the container's; the config allowed only keys of its own namespaces.
 */
export function sysctlOps(sysctls: Record<string, string> | undefined): Op[] {
  return Object.entries(sysctls ?? {}).map(([key, value]) => ({ kind: "write-file", path: sysctlPath(key), data: value, sysctl: key }));
}
