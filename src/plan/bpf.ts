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
