/**
 * The security defaults a container's config starts from: capabilities
 * dropped and system calls denied. Policy, kept with the config that
 * names it; the plan turns it into masks and a BPF filter.
 * @module
 */
import { CAPABILITIES, type CapabilityName } from "../linux/caps.js";

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
 * The capabilities dropped from a container's bounding set for its
 * `capabilities` config: every one not in `keep`, or the defaults plus
 * `drop` (extra drops never give a default back).
 */
export function capabilitiesDropped(c: { keep?: readonly CapabilityName[] | undefined; drop?: readonly CapabilityName[] | undefined }): CapabilityName[] {
  if (c.keep) return CAPABILITIES.filter((n) => !c.keep!.includes(n));
  return [...new Set([...DEFAULT_CAP_DROP, ...(c.drop ?? [])])];
}

/**
 * Calls that are not namespaced, so root in a user namespace could still
 * reach host-wide state through them (LXC's default list plus Incus's).
 * Most already need a capability in the initial namespace; the filter is
 * defence in depth should one of those checks ever be wrong.
 *
 * keyctl/add_key/request_key: the keyring is not namespaced. Incus answers
 * ENOSYS there so systemd falls back to working without keys; a profile has
 * one errno, so with EPERM a caller that wants that fallback sets errno 38.
 */
export const DEFAULT_SECCOMP_DENY: readonly string[] = Object.freeze([
  "kexec_load",
  "kexec_file_load",
  "open_by_handle_at",
  "init_module",
  "finit_module",
  "delete_module",
  "iopl",
  "ioperm",
  "swapon",
  "swapoff",
  "acct",
  "lookup_dcookie",
  "nfsservctl",
  "uselib",
  "create_module",
  "get_kernel_syms",
  "query_module",
  "vm86",
  "vm86old",
  "_sysctl",
  "keyctl",
  "add_key",
  "request_key",
]);

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
