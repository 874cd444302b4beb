/**
 * The security defaults a container's config starts from: capabilities
 * dropped and system calls denied. Policy, kept with the config that
 * names it; the plan turns it into masks and a BPF filter.
 * @module
 */
import type { CapabilityName } from "../linux/caps.js";

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
