/**
 * Builds the classic-BPF seccomp deny-list filter that the native child
 * installs with seccomp(SECCOMP_SET_MODE_FILTER). Pure data: no kernel calls,
 * so the same filter can be built, inspected and tested on any host.
 * @module
 */
import { UnknownSyscallError } from "../errors.js";

/** Node's `process.arch` names for the hosts a filter can be built for. */
export type SeccompArch = "x64" | "arm64";

/**
 * A deny list: each named system call fails with `errno`, everything else
 * runs, except `umount2` with MNT_FORCE, which always fails with EPERM.
 */
export interface SeccompProfile {
  deny: readonly string[];
  /** Returned (negated) by denied calls, e.g. 1 = EPERM. */
  errno: number;
}

type Table = Readonly<Record<string, number>>;

// Numbers from /usr/include/x86_64-linux-gnu/asm/unistd_64.h (a test re-reads
// the header when present). Retired calls such as create_module keep their
// slot, and denying them keeps a future reuse of the slot from slipping in.
const X86_64: Table = Object.freeze({
  read: 0,
  write: 1,
  open: 2,
  execve: 59,
  ptrace: 101,
  syslog: 103,
  uselib: 134,
  personality: 135,
  pivot_root: 155,
  _sysctl: 156,
  adjtimex: 159,
  chroot: 161,
  acct: 163,
  settimeofday: 164,
  mount: 165,
  umount2: 166,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  iopl: 172,
  ioperm: 173,
  create_module: 174,
  init_module: 175,
  delete_module: 176,
  get_kernel_syms: 177,
  query_module: 178,
  quotactl: 179,
  nfsservctl: 180,
  lookup_dcookie: 212,
  clock_settime: 227,
  mbind: 237,
  set_mempolicy: 238,
  get_mempolicy: 239,
  kexec_load: 246,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  migrate_pages: 256,
  openat: 257,
  unshare: 272,
  move_pages: 279,
  perf_event_open: 298,
  fanotify_init: 300,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  clock_adjtime: 305,
  setns: 308,
  process_vm_readv: 310,
  process_vm_writev: 311,
  kcmp: 312,
  finit_module: 313,
  kexec_file_load: 320,
  bpf: 321,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  pidfd_getfd: 438,
  process_madvise: 440,
  mount_setattr: 442,
  quotactl_fd: 443,
});

// From /usr/include/x86_64-linux-gnu/asm/unistd_32.h. i386 has no
// kexec_file_load; 32-bit time calls have *64 twins that must be listed too.
const I386: Table = Object.freeze({
  read: 3,
  write: 4,
  open: 5,
  execve: 11,
  mount: 21,
  umount: 22,
  stime: 25,
  ptrace: 26,
  acct: 51,
  umount2: 52,
  chroot: 61,
  settimeofday: 79,
  uselib: 86,
  swapon: 87,
  reboot: 88,
  ioperm: 101,
  syslog: 103,
  iopl: 110,
  vm86old: 113,
  swapoff: 115,
  adjtimex: 124,
  create_module: 127,
  init_module: 128,
  delete_module: 129,
  get_kernel_syms: 130,
  quotactl: 131,
  personality: 136,
  _sysctl: 149,
  vm86: 166,
  query_module: 167,
  nfsservctl: 169,
  pivot_root: 217,
  lookup_dcookie: 253,
  clock_settime: 264,
  mbind: 274,
  get_mempolicy: 275,
  set_mempolicy: 276,
  kexec_load: 283,
  add_key: 286,
  request_key: 287,
  keyctl: 288,
  migrate_pages: 294,
  openat: 295,
  unshare: 310,
  move_pages: 317,
  perf_event_open: 336,
  fanotify_init: 338,
  name_to_handle_at: 341,
  open_by_handle_at: 342,
  clock_adjtime: 343,
  setns: 346,
  process_vm_readv: 347,
  process_vm_writev: 348,
  kcmp: 349,
  finit_module: 350,
  bpf: 357,
  userfaultfd: 374,
  clock_settime64: 404,
  clock_adjtime64: 405,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  pidfd_getfd: 438,
  process_madvise: 440,
  mount_setattr: 442,
  quotactl_fd: 443,
});

// The asm-generic table (/usr/include/asm-generic/unistd.h) as a 64-bit arch
// sees it: no legacy calls (open, iopl, create_module...) and none of the
// 32-bit-only *_time64 block.
const AARCH64: Table = Object.freeze({
  lookup_dcookie: 18,
  umount2: 39,
  mount: 40,
  pivot_root: 41,
  nfsservctl: 42,
  chroot: 51,
  openat: 56,
  quotactl: 60,
  read: 63,
  write: 64,
  acct: 89,
  personality: 92,
  unshare: 97,
  kexec_load: 104,
  init_module: 105,
  delete_module: 106,
  clock_settime: 112,
  syslog: 116,
  ptrace: 117,
  reboot: 142,
  settimeofday: 170,
  adjtimex: 171,
  add_key: 217,
  request_key: 218,
  keyctl: 219,
  execve: 221,
  swapon: 224,
  swapoff: 225,
  mbind: 235,
  get_mempolicy: 236,
  set_mempolicy: 237,
  migrate_pages: 238,
  move_pages: 239,
  perf_event_open: 241,
  fanotify_init: 262,
  name_to_handle_at: 264,
  open_by_handle_at: 265,
  clock_adjtime: 266,
  setns: 268,
  process_vm_readv: 270,
  process_vm_writev: 271,
  kcmp: 272,
  finit_module: 273,
  bpf: 280,
  userfaultfd: 282,
  kexec_file_load: 294,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  pidfd_getfd: 438,
  process_madvise: 440,
  mount_setattr: 442,
  quotactl_fd: 443,
});

// 32-bit ARM EABI, what AArch32 processes on an arm64 kernel call. From the
// kernel's arch/arm/tools/syscall.tbl ("common" rows only: OABI-only calls
// such as umount and stime do not exist for EABI, and iopl/ioperm/vm86 and
// the old module calls are retired slots). No header on an x86 build host
// carries these, so unlike the others they are not re-checked by a test.
const ARM: Table = Object.freeze({
  read: 3,
  write: 4,
  open: 5,
  execve: 11,
  mount: 21,
  ptrace: 26,
  acct: 51,
  umount2: 52,
  chroot: 61,
  settimeofday: 79,
  uselib: 86,
  swapon: 87,
  reboot: 88,
  syslog: 103,
  swapoff: 115,
  adjtimex: 124,
  init_module: 128,
  delete_module: 129,
  quotactl: 131,
  personality: 136,
  _sysctl: 149,
  nfsservctl: 169,
  pivot_root: 218,
  lookup_dcookie: 249,
  clock_settime: 262,
  add_key: 309,
  request_key: 310,
  keyctl: 311,
  mbind: 319,
  get_mempolicy: 320,
  set_mempolicy: 321,
  openat: 322,
  unshare: 337,
  move_pages: 344,
  kexec_load: 347,
  perf_event_open: 364,
  fanotify_init: 367,
  name_to_handle_at: 370,
  open_by_handle_at: 371,
  clock_adjtime: 372,
  setns: 375,
  process_vm_readv: 376,
  process_vm_writev: 377,
  kcmp: 378,
  finit_module: 379,
  bpf: 386,
  userfaultfd: 388,
  migrate_pages: 400,
  kexec_file_load: 401,
  clock_settime64: 404,
  clock_adjtime64: 405,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  pidfd_getfd: 438,
  process_madvise: 440,
  mount_setattr: 442,
  quotactl_fd: 443,
});

const TABLES = [X86_64, I386, AARCH64, ARM];

// Object.hasOwn so that "constructor" or "__proto__" are not system calls.
function lookup(table: Table, name: string): number | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** The number of `name` on `arch` ("ia32" is the i386 table), if it has one. */
export function syscallNumber(name: string, arch: SeccompArch | "ia32"): number | undefined {
  switch (arch) {
    case "x64":
      return lookup(X86_64, name);
    case "ia32":
      return lookup(I386, name);
    case "arm64":
      return lookup(AARCH64, name);
    default:
      return undefined;
  }
}

// <linux/audit.h>, <linux/seccomp.h>, <linux/filter.h>
const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_ARM = 0x40000028;

const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
const ENOSYS = 38;
const MAX_ERRNO = 4095;
const X32_SYSCALL_BIT = 0x40000000;
const BPF_MAXINSNS = 4096;

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

const EPERM = 1;
// <linux/fs.h>: umount2's flag that aborts in-flight requests on a
// (network) file system, which then fail for every mount of it, the
// host's included.
const MNT_FORCE = 1;

// struct seccomp_data: nr (u32), arch (u32), instruction_pointer (u64),
// args[6] (u64). Both supported arches are little-endian, so an argument's
// low 32 bits come first; flags are an int, so those are all there is.
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG1_LOW = 16 + 8;

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

type Label = { at?: number };
type Target = Label | 0;
interface Insn {
  code: number;
  jt: Target;
  jf: Target;
  k: number;
}

/** Forward-jump assembler: jt/jf are labels resolved to 8-bit offsets. */
class Program {
  readonly insns: Insn[] = [];

  emit(code: number, k: number, jt: Target = 0, jf: Target = 0): void {
    this.insns.push({ code, jt, jf, k: k >>> 0 });
  }

  place(label: Label): void {
    label.at = this.insns.length;
  }

  assemble(): Buffer {
    const n = this.insns.length;
    if (n > BPF_MAXINSNS) throw new RangeError(`seccomp filter has ${n} instructions, over the kernel's ${BPF_MAXINSNS}`);
    const out = Buffer.alloc(n * 8);
    this.insns.forEach((insn, i) => {
      out.writeUInt16LE(insn.code, i * 8);
      out.writeUInt8(offset(insn.jt, i), i * 8 + 2);
      out.writeUInt8(offset(insn.jf, i), i * 8 + 3);
      out.writeUInt32LE(insn.k, i * 8 + 4);
    });
    return out;
  }
}

function offset(target: Target, from: number): number {
  if (target === 0) return 0;
  if (target.at === undefined) throw new Error("seccomp: jump to a label never placed");
  const d = target.at - from - 1;
  // Blocks are bounded by the table sizes, so this is a bug, not bad input.
  if (d < 0 || d > 255) throw new Error(`seccomp: jump of ${d} does not fit in 8 bits`);
  return d;
}

/** Compiles `profile` into `struct sock_filter[]` bytes for `arch`. */
export function buildSeccompFilter(profile: SeccompProfile, arch: SeccompArch = process.arch as SeccompArch): Buffer {
  const abis = Object.hasOwn(ABIS, arch) ? ABIS[arch] : undefined;
  if (!abis) throw new Error(`seccomp filters are not supported on ${arch}`);
  const { errno } = profile;
  // The kernel clamps larger values to 4095; 0 would make denied calls "succeed".
  if (!Number.isInteger(errno) || errno < 1 || errno > MAX_ERRNO) {
    throw new RangeError(`seccomp errno must be an integer from 1 to ${MAX_ERRNO}, got ${errno}`);
  }
  for (const name of profile.deny) {
    if (!TABLES.some((t) => lookup(t, name) !== undefined)) throw new UnknownSyscallError(name);
  }

  const deny = SECCOMP_RET_ERRNO | (errno & 0xffff);
  const enosys = SECCOMP_RET_ERRNO | ENOSYS;
  const p = new Program();
  p.emit(LD_W_ABS, OFF_ARCH);
  for (const abi of abis) {
    const numbers = [...new Set(profile.deny.map((name) => lookup(abi.table, name)))].filter(
      (nr): nr is number => nr !== undefined,
    );
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
    if (abi.x32) {
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
  return p.assemble();
}
