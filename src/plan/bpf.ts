/**
 * The kernel's numbers every seccomp filter warren builds uses
 * (seccomp.ts, seccomp-profile.ts, seccomp-notify.ts): classic-BPF opcodes
 * (<linux/filter.h>), seccomp's return actions (<linux/seccomp.h>), the
 * ABIs' audit arch values (<linux/audit.h>) and where struct seccomp_data
 * keeps its fields. One place, so the three cannot disagree.
 * @module
 */

// Classic BPF: load a word, AND, jumps, return.
export const LD_W_ABS = 0x20;
export const ALU_AND_K = 0x54;
export const JA = 0x05;
export const JEQ_K = 0x15;
export const JGT_K = 0x25;
export const JGE_K = 0x35;
export const JSET_K = 0x45;
export const RET_K = 0x06;

export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_ARM = 0x40000028;
/** x32 system calls arrive with the x86_64 audit arch and this bit set in nr. */
export const X32_SYSCALL_BIT = 0x40000000;

// struct seccomp_data: nr (u32), arch (u32), instruction_pointer (u64),
// args[6] (u64). Both supported arches are little-endian: an argument's
// low 32 bits come first.
export const OFF_NR = 0;
export const OFF_ARCH = 4;
/** Offset of argument `i`'s low 32 bits. */
export const argLow = (i: number): number => 16 + 8 * i;

export type Label = { at?: number };
export type Target = Label | 0;
interface Insn {
  code: number;
  jt: Target;
  jf: Target;
  k: number | Label;
}

/**
 * A forward-only assembler for the seccomp filters. Conditional jumps have
 * 8-bit offsets, so a target further than 255 instructions goes through a
 * BPF_JA (32-bit offset): the builders lay their blocks out so that
 * conditional jumps stay local and long distances are JAs.
 */
export class BpfProgram {
  readonly insns: Insn[] = [];
  emit(code: number, k: number, jt: Target = 0, jf: Target = 0): void {
    this.insns.push({ code, jt, jf, k: k >>> 0 });
  }
  jump(to: Label): void {
    this.insns.push({ code: JA, jt: 0, jf: 0, k: to });
  }
  ret(action: number): void {
    this.emit(RET_K, action);
  }
  place(label: Label): void {
    label.at = this.insns.length;
  }
  get length(): number {
    return this.insns.length;
  }
  assemble(): Buffer {
    const out = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((insn, i) => {
      out.writeUInt16LE(insn.code, i * 8);
      out.writeUInt8(offset(insn.jt, i, 255), i * 8 + 2);
      out.writeUInt8(offset(insn.jf, i, 255), i * 8 + 3);
      out.writeUInt32LE(typeof insn.k === "number" ? insn.k : offset(insn.k, i, 0xffffffff), i * 8 + 4);
    });
    return out;
  }
}

function offset(target: Target, from: number, max: number): number {
  if (target === 0) return 0;
  if (target.at === undefined) throw new Error("seccomp: jump to a label never placed");
  const d = target.at - from - 1;
  // The layout keeps conditional jumps short; a long one is a bug here, not bad input.
  if (d < 0 || d > max) throw new Error(`seccomp: jump of ${d} does not fit`);
  return d;
}
