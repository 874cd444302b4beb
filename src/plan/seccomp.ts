/**
 * Builds the classic-BPF seccomp deny-list filter that the native child
 * installs with seccomp(SECCOMP_SET_MODE_FILTER). Pure data: no kernel calls,
 * so the same filter can be built, inspected and tested on any host.
 * @module
 */
import { UnknownSyscallError } from "../errors.js";
import { AARCH64, ARM, I386, isKnownSyscall, lookup, X86_64, type SeccompArch, type Table } from "../linux/syscalls.js";
import { argLow, AUDIT_ARCH_AARCH64, BpfProgram, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, JEQ_K, JGE_K, JSET_K, LD_W_ABS, OFF_ARCH, OFF_NR, RET_K, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, X32_SYSCALL_BIT, type Label } from "./bpf.js";

export { syscallNumber, type SeccompArch } from "../linux/syscalls.js";

/**
 * A deny list: each named system call fails with `errno`, everything else
 * runs, except `umount2` with MNT_FORCE, which always fails with EPERM.
 */
export interface SeccompProfile {
  deny: readonly string[];
  /** Returned (negated) by denied calls, e.g. 1 = EPERM. */
  errno: number;
  /**
   * Calls answered with ENOSYS whatever `errno` is: "not implemented", so
   * a caller falls back (runc without a session keyring, as LXC answers a
   * nested runtime's keyctl). A name in both lists is answered ENOSYS.
   */
  enosys?: readonly string[];
}

const ENOSYS = 38;
const MAX_ERRNO = 4095;
const BPF_MAXINSNS = 4096;

const EPERM = 1;
// <linux/fs.h>: umount2's flag that aborts in-flight requests on a
// (network) file system, which then fail for every mount of it, the
// host's included.
const MNT_FORCE = 1;

// umount2's flags are an int: the low 32 bits of its argument 1 are all there is.
const OFF_ARG1_LOW = argLow(1);

/** One ABI the kernel may report in seccomp_data.arch on this host. */
interface Abi {
  audit: number;
  table: Table;
  /** x86_64 only: numbers with this bit set are x32 calls. */
  x32: boolean;
}

const ABIS: Record<SeccompArch, Abi[]> = {
  // 64-bit code can still enter through int 0x80 as i386, so both tables apply.
  x64: [
    { audit: AUDIT_ARCH_X86_64, table: X86_64, x32: true },
    { audit: AUDIT_ARCH_I386, table: I386, x32: false },
  ],
  arm64: [
    { audit: AUDIT_ARCH_AARCH64, table: AARCH64, x32: false },
    { audit: AUDIT_ARCH_ARM, table: ARM, x32: false },
  ],
};

/** Compiles `profile` into `struct sock_filter[]` bytes for `arch`. */
export function buildSeccompFilter(profile: SeccompProfile, arch: SeccompArch = process.arch as SeccompArch): Buffer {
  const abis = Object.hasOwn(ABIS, arch) ? ABIS[arch] : undefined;
  if (!abis) throw new Error(`seccomp filters are not supported on ${arch}`);
  const { errno } = profile;
  // The kernel clamps larger values to 4095; 0 would make denied calls "succeed".
  if (!Number.isInteger(errno) || errno < 1 || errno > MAX_ERRNO) {
    throw new RangeError(`seccomp errno must be an integer from 1 to ${MAX_ERRNO}, got ${errno}`);
  }
  const enosysNames = profile.enosys ?? [];
  for (const name of [...profile.deny, ...enosysNames]) {
    if (!isKnownSyscall(name)) throw new UnknownSyscallError(name);
  }

  const deny = SECCOMP_RET_ERRNO | (errno & 0xffff);
  const enosys = SECCOMP_RET_ERRNO | ENOSYS;
  const p = new BpfProgram();
  p.emit(LD_W_ABS, OFF_ARCH);
  for (const abi of abis) {
    const numbersOf = (names: readonly string[]) => [...new Set(names.map((name) => lookup(abi.table, name)))].filter((nr): nr is number => nr !== undefined);
    const notImplemented = numbersOf(enosysNames);
    const numbers = numbersOf(profile.deny).filter((nr) => !notImplemented.includes(nr));
    // Each ABI block ends in its own returns, so a mismatch only has to skip
    // one block and every jump stays short.
    const next: Label = {};
    const allow: Label = {};
    const denied: Label = {};
    const noSys: Label = {};
    p.emit(JEQ_K, abi.audit, 0, next);
    p.emit(LD_W_ABS, OFF_NR);
    // nr -1 is a tracer skipping the call with its own return value (the
    // kernel skips it anyway); an ERRNO here would overwrite that value.
    p.emit(JEQ_K, 0xffffffff, allow, 0);
    // x32 calls share the x86_64 arch value but use other numbers; refuse the
    // whole ABI rather than keep a third table.
    if (abi.x32) p.emit(JGE_K, X32_SYSCALL_BIT, noSys, 0);
    for (const nr of notImplemented) p.emit(JEQ_K, nr, noSys, 0);
    for (const nr of numbers) p.emit(JEQ_K, nr, denied, 0);
    // umount2(target, flags) with MNT_FORCE is refused with EPERM as LXC and
    // Incus do; a plain unmount goes through. Placed before the returns so
    // every jump stays forward. (A listed umount2 was already denied above.)
    const umount2 = lookup(abi.table, "umount2");
    const forced: Label = {};
    if (umount2 !== undefined) {
      p.emit(JEQ_K, umount2, 0, allow);
      p.emit(LD_W_ABS, OFF_ARG1_LOW);
      p.emit(JSET_K, MNT_FORCE, forced, allow);
    }
    p.place(allow);
    p.emit(RET_K, SECCOMP_RET_ALLOW);
    p.place(denied);
    p.emit(RET_K, deny);
    if (abi.x32 || notImplemented.length) {
      p.place(noSys);
      p.emit(RET_K, enosys);
    }
    if (umount2 !== undefined) {
      p.place(forced);
      p.emit(RET_K, SECCOMP_RET_ERRNO | EPERM);
    }
    p.place(next);
  }
  // An ABI this filter has no table for would bypass the list: refuse it.
  p.emit(RET_K, enosys);
  if (p.length > BPF_MAXINSNS) throw new RangeError(`seccomp filter has ${p.length} instructions, over the kernel's ${BPF_MAXINSNS}`);
  return p.assemble();
}
