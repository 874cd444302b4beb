/**
 * The intercept filter: the calls a container's monitor may do for it
 * (`security.intercept`, docs/nesting.md) return SECCOMP_RET_USER_NOTIF, so
 * the caller waits while the monitor (native/monitor/intercept.c) checks
 * the call and makes it, or refuses it. Everything else is left to the
 * deny list (plan/seccomp.ts) and the kernel. Pure data, like the deny list.
 *
 * Only what can be harmless is sent: `mknod`/`mknodat` of a character
 * device other than 0:0 (every other type the kernel allows in a user
 * namespace, or refuses as it should; an overlay whiteout, 0:0, it allows
 * since Linux 5.8, below what warren needs), and `setxattr`/`lsetxattr`/
 * `fsetxattr` with a one-byte value (`trusted.overlay.opaque` is "y"; the
 * name is in the caller's memory, which only the monitor can read). Only
 * the native ABI: a compat (i386, arm32) call goes to the kernel, which
 * refuses a device node in a user namespace.
 * @module
 */
import type { SeccompArch } from "../linux/syscalls.js";
import { ALU_AND_K, argLow, JEQ_K, JGE_K, LD_W_ABS, OFF_ARCH, OFF_NR, RET_K, SECCOMP_RET_ALLOW, SECCOMP_RET_USER_NOTIF, X32_SYSCALL_BIT } from "./bpf.js";

/** Which calls the monitor handles. */
export interface InterceptSet {
  mknod?: boolean;
  setxattr?: boolean;
}

const AUDIT_ARCH: Record<SeccompArch, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };
// The calls' numbers (arch/x86/entry/syscalls/syscall_64.tbl,
// include/uapi/asm-generic/unistd.h); the monitor decodes them with its
// libc's SYS_* (native/monitor/intercept.c). aarch64 has only mknodat.
const NUMBERS: Record<SeccompArch, Record<string, number>> = {
  x64: { mknod: 133, mknodat: 259, setxattr: 188, lsetxattr: 189, fsetxattr: 190 },
  arm64: { mknodat: 33, setxattr: 5, lsetxattr: 6, fsetxattr: 7 },
};
const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;

const argHigh = (i: number) => argLow(i) + 4;

type Label = { at?: number };
type Insn = { code: number; k: number; jt: Label | 0; jf: Label | 0 };

/** The filter for `set` on `arch`, or null when `set` asks for nothing. */
export function buildInterceptFilter(set: InterceptSet, arch: SeccompArch = process.arch as SeccompArch): Buffer | null {
  if (!set.mknod && !set.setxattr) return null;
  const audit = Object.hasOwn(AUDIT_ARCH, arch) ? AUDIT_ARCH[arch] : undefined;
  if (audit === undefined) throw new Error(`seccomp filters are not supported on ${arch}`);
  const insns: Insn[] = [];
  const emit = (code: number, k: number, jt: Label | 0 = 0, jf: Label | 0 = 0) => insns.push({ code, k: k >>> 0, jt, jf });
  const place = (l: Label) => (l.at = insns.length);
  const allow: Label = {};
  const notify: Label = {};
  const nr = (name: string): number | undefined => NUMBERS[arch][name];

  emit(LD_W_ABS, OFF_ARCH);
  emit(JEQ_K, audit, 0, allow);
  emit(LD_W_ABS, OFF_NR);
  if (arch === "x64") emit(JGE_K, X32_SYSCALL_BIT, allow, 0);
  // Each call jumps to the check of the argument that holds its mode or size.
  // mknod(path, mode, dev), mknodat(dirfd, path, mode, dev)
  const modeArg = new Map<number, Label>();
  const sizeArg: Label = {};
  if (set.mknod) {
    for (const [name, arg] of [["mknod", 1], ["mknodat", 2]] as const) {
      const n = nr(name);
      if (n === undefined) continue; // arm64 has only mknodat
      const l = modeArg.get(arg) ?? {};
      modeArg.set(arg, l);
      emit(JEQ_K, n, l, 0);
    }
  }
  if (set.setxattr) {
    for (const name of ["setxattr", "lsetxattr", "fsetxattr"]) emit(JEQ_K, nr(name)!, sizeArg, 0);
  }
  emit(RET_K, SECCOMP_RET_ALLOW);
  for (const [arg, l] of modeArg) {
    place(l);
    emit(LD_W_ABS, argLow(arg));
    emit(ALU_AND_K, S_IFMT);
    emit(JEQ_K, S_IFCHR, 0, allow);
    // The device is an unsigned int to the kernel: its low word is all of it.
    emit(LD_W_ABS, argLow(arg + 1));
    emit(JEQ_K, 0, allow, notify);
  }
  if (set.setxattr) {
    // setxattr(path, name, value, size, flags): size (a size_t) is 1.
    place(sizeArg);
    emit(LD_W_ABS, argLow(3));
    emit(JEQ_K, 1, 0, allow);
    emit(LD_W_ABS, argHigh(3));
    emit(JEQ_K, 0, notify, allow);
  }
  place(allow);
  emit(RET_K, SECCOMP_RET_ALLOW);
  place(notify);
  emit(RET_K, SECCOMP_RET_USER_NOTIF);

  const out = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    const off = (t: Label | 0) => {
      if (t === 0) return 0;
      if (t.at === undefined || t.at <= i) throw new Error("seccomp: bad jump in the intercept filter");
      return t.at - i - 1;
    };
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(off(insn.jt), i * 8 + 2);
    out.writeUInt8(off(insn.jf), i * 8 + 3);
    out.writeUInt32LE(insn.k, i * 8 + 4);
  });
  return out;
}
