/**
 * System call numbers per ABI, for the seccomp filter (plan/seccomp.ts)
 * and for checking a config's deny list up front (config/schema.ts).
 * @module
 */

/** Node's `process.arch` names for the hosts a filter can be built for. */
export type SeccompArch = "x64" | "arm64";

export type Table = Readonly<Record<string, number>>;

// Calls added since Linux 5.1 have one number on every architecture (the
// kernel's unified syscall table), so they are listed once.
const UNIFIED: Table = Object.freeze({
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

// Numbers from /usr/include/x86_64-linux-gnu/asm/unistd_64.h (a test re-reads
// the header when present). Retired calls such as create_module keep their
// slot, and denying them keeps a future reuse of the slot from slipping in.
export const X86_64: Table = Object.freeze({
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
  ...UNIFIED,
});

// From /usr/include/x86_64-linux-gnu/asm/unistd_32.h. i386 has no
// kexec_file_load; 32-bit time calls have *64 twins that must be listed too.
export const I386: Table = Object.freeze({
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
  ...UNIFIED,
});

// The asm-generic table (/usr/include/asm-generic/unistd.h) as a 64-bit arch
// sees it: no legacy calls (open, iopl, create_module...) and none of the
// 32-bit-only *_time64 block.
export const AARCH64: Table = Object.freeze({
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
  ...UNIFIED,
});

// 32-bit ARM EABI, what AArch32 processes on an arm64 kernel call. From the
// kernel's arch/arm/tools/syscall.tbl ("common" rows only: OABI-only calls
// such as umount and stime do not exist for EABI, and iopl/ioperm/vm86 and
// the old module calls are retired slots). No header on an x86 build host
// carries these, so unlike the others they are not re-checked by a test.
export const ARM: Table = Object.freeze({
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
  ...UNIFIED,
});

const TABLES = [X86_64, I386, AARCH64, ARM];

/** Whether some supported ABI has a call named `name` (a deny list may name calls of another arch). */
export function isKnownSyscall(name: string): boolean {
  return TABLES.some((t) => lookup(t, name) !== undefined);
}

// Object.hasOwn so that "constructor" or "__proto__" are not system calls.
export function lookup(table: Table, name: string): number | undefined {
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
