/**
 * Linux capability names and numbers (linux/capability.h), for the bounding
 * set a container keeps.
 * @module
 */

export const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

export type CapabilityName = (typeof CAPABILITIES)[number];

/**
 * Dropped from the bounding set by default, as Incus does for its
 * containers: loading kernel modules, raw I/O, the clock and MAC policy are
 * the host's business even for root in a user namespace.
 */
export const DEFAULT_CAP_DROP: readonly CapabilityName[] = [
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_TIME",
  "CAP_MAC_ADMIN",
  "CAP_MAC_OVERRIDE",
];

/**
 * What root keeps without a user namespace unless the container is
 * `privileged`: the set Docker (and the OCI runtimes' default profiles)
 * give a container's root. Root there is the host's root, so anything
 * beyond file ownership, signals in its own pid namespace and binding low
 * ports reaches the host: CAP_SYS_ADMIN mounts procfs, sysfs, debugfs,
 * binfmt_misc or a cgroup v1 hierarchy with a release_agent
 * (CVE-2022-0492); CAP_SYSLOG reads the kernel log; CAP_PERFMON watches
 * every process; CAP_SYS_BOOT, CAP_SYS_RESOURCE, CAP_NET_ADMIN on a shared
 * network and the rest act on host-wide state.
 */
export const HOST_ROOT_CAP_KEEP: readonly CapabilityName[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability but {@link HOST_ROOT_CAP_KEEP}: dropped from an unprivileged container without a user namespace. */
export const HOST_ROOT_CAP_DROP: readonly CapabilityName[] = CAPABILITIES.filter((c) => !HOST_ROOT_CAP_KEEP.includes(c));

/** `"sys_admin"`, `"SYS_ADMIN"` and `"CAP_SYS_ADMIN"` all name CAP_SYS_ADMIN. */
export function capabilityNumber(name: string): number | undefined {
  const upper = name.toUpperCase();
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  const i = (CAPABILITIES as readonly string[]).indexOf(full);
  return i < 0 ? undefined : i;
}

/** Canonical `CAP_*` name, or undefined. */
export function capabilityName(name: string): CapabilityName | undefined {
  const n = capabilityNumber(name);
  return n === undefined ? undefined : CAPABILITIES[n];
}

/** Bit mask (bit n = capability n) of the named capabilities. */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const i = capabilityNumber(n);
    if (i !== undefined) mask |= 1n << BigInt(i);
  }
  return mask;
}
