/**
 * A classic-BPF interpreter and checker for the seccomp filters warren
 * builds (seccomp.ts, seccomp-profile.ts, seccomp-notify.ts), shared by
 * their tests: what seccomp_check_filter and bpf_check_classic would
 * refuse, and the action a filter returns for one seccomp_data.
 */

import { ALU_AND_K, JA, JEQ_K, JGE_K, JGT_K, JSET_K, LD_W_ABS, RET_K } from "./bpf.js";

const JUMPS = new Set([JEQ_K, JGT_K, JGE_K, JSET_K]);
const SECCOMP_DATA_SIZE = 64;
const BPF_MAXINSNS = 4096;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export function decode(filter: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let at = 0; at < filter.length; at += 8) {
    out.push({ code: filter.readUInt16LE(at), jt: filter.readUInt8(at + 2), jf: filter.readUInt8(at + 3), k: filter.readUInt32LE(at + 4) });
  }
  return out;
}

/** Throws what the kernel would refuse: loads outside seccomp_data, jumps out, unknown opcodes, too long, no final return. */
export function verifyFilter(filter: Buffer): void {
  if (filter.length === 0 || filter.length % 8 !== 0) throw new Error(`length ${filter.length}`);
  const prog = decode(filter);
  if (prog.length > BPF_MAXINSNS) throw new Error(`${prog.length} instructions`);
  prog.forEach((insn, pc) => {
    if (insn.code === LD_W_ABS) {
      if (insn.k % 4 !== 0 || insn.k + 4 > SECCOMP_DATA_SIZE) throw new Error(`load of ${insn.k} at ${pc}`);
    } else if (JUMPS.has(insn.code)) {
      if (pc + 1 + Math.max(insn.jt, insn.jf) >= prog.length) throw new Error(`jump out of program at ${pc}`);
    } else if (insn.code === JA) {
      if (pc + 1 + insn.k >= prog.length) throw new Error(`ja out of program at ${pc}`);
    } else if (insn.code !== RET_K && insn.code !== ALU_AND_K) {
      throw new Error(`opcode 0x${insn.code.toString(16)} at ${pc}`);
    }
  });
  if (prog[prog.length - 1]!.code !== RET_K) throw new Error("last instruction is not a return");
}

/** Runs the filter on a seccomp_data of {nr, arch, args}; returns the action word. */
export function runFilter(filter: Buffer, arch: number, nr: number, args: bigint[] = []): number {
  const data = Buffer.alloc(SECCOMP_DATA_SIZE);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  args.forEach((v, i) => data.writeBigUInt64LE(BigInt.asUintN(64, v), 16 + 8 * i));
  const prog = decode(filter);
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps < 10_000; steps++) {
    const insn = prog[pc];
    if (!insn) throw new Error(`fell off the program at ${pc}`);
    const { code, jt, jf, k } = insn;
    switch (code) {
      case LD_W_ABS:
        if (k % 4 !== 0 || k + 4 > SECCOMP_DATA_SIZE) throw new Error(`load of ${k} at ${pc}`);
        a = data.readUInt32LE(k);
        pc++;
        break;
      case ALU_AND_K:
        a = (a & k) >>> 0;
        pc++;
        break;
      case JA:
        pc += 1 + k;
        break;
      case JEQ_K:
        pc += 1 + (a === k ? jt : jf);
        break;
      case JGT_K:
        pc += 1 + (a > k ? jt : jf);
        break;
      case JGE_K:
        pc += 1 + (a >= k ? jt : jf);
        break;
      case JSET_K:
        pc += 1 + ((a & k) >>> 0 !== 0 ? jt : jf);
        break;
      case RET_K:
        return k >>> 0;
      default:
        throw new Error(`opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("no return");
}
