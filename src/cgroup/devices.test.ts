import { describe, expect, it } from "vitest";

import { ConfigError } from "../errors.js";
import { DEFAULT_DEVICE_RULES, deviceProgram, formatDeviceRule, parseDeviceRule, type DeviceRule } from "./devices.js";

// BPF_DEVCG_* values of <linux/bpf.h>.
const BLOCK = 1;
const CHAR = 2;
const MKNOD = 1;
const READ = 2;
const WRITE = 4;

interface Run {
  result: number;
  steps: number;
}

/**
 * A small interpreter of the eBPF subset deviceProgram emits, run on a
 * bpf_cgroup_dev_ctx. It refuses any other instruction, a jump out of the
 * program, a backward jump, an uninitialised register and a context read
 * outside the 12 bytes, as the verifier would.
 */
function run(prog: Buffer, type: number, access: number, major: number, minor: number): Run {
  expect(prog.length % 8).toBe(0);
  const n = prog.length / 8;
  const ctx = Buffer.alloc(12);
  ctx.writeUInt32LE(((access << 16) | type) >>> 0, 0);
  ctx.writeUInt32LE(major, 4);
  ctx.writeUInt32LE(minor, 8);
  const regs: (bigint | undefined)[] = new Array(11).fill(undefined);
  regs[1] = -1n; // the context pointer: only usable as a load base
  const M64 = (1n << 64n) - 1n;
  const M32 = (1n << 32n) - 1n;
  const get = (r: number): bigint => {
    const v = regs[r];
    if (v === undefined) throw new Error(`read of uninitialised r${r}`);
    if (r === 1) throw new Error("arithmetic on the context pointer");
    return v;
  };
  let pc = 0;
  let steps = 0;
  for (;;) {
    if (pc < 0 || pc >= n) throw new Error(`pc ${pc} out of the program`);
    if (++steps > 10_000) throw new Error("runaway program");
    const code = prog.readUInt8(pc * 8);
    const regsByte = prog.readUInt8(pc * 8 + 1);
    const dst = regsByte & 0xf;
    const src = regsByte >> 4;
    const off = prog.readInt16LE(pc * 8 + 2);
    const imm = BigInt(prog.readInt32LE(pc * 8 + 4));
    const immU64 = imm & M64; // sign-extended to 64 bits
    const jump = (taken: boolean) => {
      if (off < 0) throw new Error("backward jump");
      pc += 1 + (taken ? off : 0);
    };
    switch (code) {
      case 0x61: // ldx w
        if (regs[src] !== -1n) throw new Error("load from something other than the context");
        if (off < 0 || off > 8 || off % 4 !== 0) throw new Error(`context read at ${off}`);
        regs[dst] = BigInt(ctx.readUInt32LE(off));
        pc++;
        break;
      case 0x54: // and32 imm
        regs[dst] = get(dst) & immU64 & M32;
        pc++;
        break;
      case 0x74: // rsh32 imm
        regs[dst] = (get(dst) & M32) >> (imm & 31n);
        pc++;
        break;
      case 0xb7: // mov64 imm
        regs[dst] = immU64;
        pc++;
        break;
      case 0x47: // or64 imm
        regs[dst] = get(dst) | immU64;
        pc++;
        break;
      case 0x4f: // or64 reg
        regs[dst] = get(dst) | get(src);
        pc++;
        break;
      case 0x05: // ja
        jump(true);
        break;
      case 0x15: // jeq imm
        jump(get(dst) === immU64);
        break;
      case 0x55: // jne imm
        jump(get(dst) !== immU64);
        break;
      case 0x5d: // jne reg
        jump(get(dst) !== get(src));
        break;
      case 0x95: // exit
        return { result: Number(get(0)), steps };
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
}

/** Every instruction must be reachable (the kernel verifier refuses dead code). */
function unreachable(prog: Buffer): number[] {
  const n = prog.length / 8;
  const seen = new Set<number>();
  const todo = [0];
  while (todo.length) {
    const pc = todo.pop()!;
    if (seen.has(pc) || pc >= n) continue;
    seen.add(pc);
    const code = prog.readUInt8(pc * 8);
    const off = prog.readInt16LE(pc * 8 + 2);
    if (code === 0x95) continue;
    if (code === 0x05) todo.push(pc + 1 + off);
    else if ((code & 0x07) === 0x05) todo.push(pc + 1, pc + 1 + off);
    else todo.push(pc + 1);
  }
  return [...Array(n).keys()].filter((i) => !seen.has(i));
}

const allows = (rules: readonly DeviceRule[], type: number, access: number, major: number, minor: number) =>
  run(deviceProgram(rules), type, access, major, minor).result === 1;

const rule = (s: string, allow = true) => parseDeviceRule(s, allow);

describe("deviceProgram with the default rules", () => {
  const prog = deviceProgram(DEFAULT_DEVICE_RULES);
  const ok = (type: number, access: number, major: number, minor: number) => run(prog, type, access, major, minor).result;

  it("is a whole number of instructions, all reachable", () => {
    expect(prog.length % 8).toBe(0);
    expect(prog.length / 8).toBeGreaterThan(10);
    expect(unreachable(prog)).toEqual([]);
  });

  it("allows the standard character devices for read, write and mknod", () => {
    for (const [major, minor] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [10, 229], [10, 200]] as const) {
      for (const access of [READ, WRITE, MKNOD, READ | WRITE, READ | WRITE | MKNOD]) {
        expect(ok(CHAR, access, major, minor), `c ${major}:${minor} access ${access}`).toBe(1);
      }
    }
  });

  it("allows null for reading and mknod of c 1:3", () => {
    expect(ok(CHAR, READ, 1, 3)).toBe(1);
    expect(ok(CHAR, MKNOD, 1, 3)).toBe(1);
  });

  it("allows any pts", () => {
    expect(ok(CHAR, READ | WRITE, 136, 5)).toBe(1);
    expect(ok(CHAR, READ, 136, 0)).toBe(1);
    expect(ok(CHAR, MKNOD, 136, 1048575)).toBe(1);
  });

  it("denies what is not listed", () => {
    expect(ok(BLOCK, READ, 8, 0)).toBe(0); // /dev/sda
    expect(ok(BLOCK, MKNOD, 8, 0)).toBe(0);
    expect(ok(BLOCK, READ, 1, 3)).toBe(0); // a block device with null's numbers
    expect(ok(BLOCK, READ, 136, 5)).toBe(0);
    expect(ok(CHAR, READ, 10, 237)).toBe(0); // loop-control
    expect(ok(CHAR, READ, 1, 1)).toBe(0); // /dev/mem
    expect(ok(CHAR, READ, 1, 11)).toBe(0); // /dev/kmsg
    expect(ok(CHAR, WRITE, 4, 0)).toBe(0); // tty0
    expect(ok(CHAR, READ, 137, 5)).toBe(0);
  });

  it("denies an unknown device type or access bit", () => {
    expect(ok(3, READ, 1, 3)).toBe(0);
    expect(ok(0, READ, 1, 3)).toBe(0);
    expect(ok(CHAR, READ | 8, 1, 3)).toBe(0);
  });

  it("answers a request without access (access(2) F_OK) by whether the device is allowed at all", () => {
    expect(ok(CHAR, 0, 1, 3)).toBe(1);
    expect(ok(BLOCK, 0, 8, 0)).toBe(0);
  });
});

describe("rule semantics", () => {
  it("denies everything without rules", () => {
    expect(allows([], CHAR, READ, 1, 3)).toBe(false);
    expect(allows([], CHAR, 0, 1, 3)).toBe(false);
    expect(unreachable(deviceProgram([]))).toEqual([]);
  });

  it("lets the last matching rule win", () => {
    const rules = [...DEFAULT_DEVICE_RULES, rule("c 1:3 rwm", false)];
    expect(allows(rules, CHAR, READ, 1, 3)).toBe(false);
    expect(allows(rules, CHAR, READ, 1, 5)).toBe(true);
    // and an allow after the deny wins again
    expect(allows([...rules, rule("c 1:3 r")], CHAR, READ, 1, 3)).toBe(true);
    expect(allows([...rules, rule("c 1:3 r")], CHAR, WRITE, 1, 3)).toBe(false);
  });

  it("lets a later deny punch a hole in an earlier wildcard allow", () => {
    const rules = [rule("c *:* rwm"), rule("c 1:3 w", false)];
    expect(allows(rules, CHAR, READ, 1, 3)).toBe(true);
    expect(allows(rules, CHAR, WRITE, 1, 3)).toBe(false);
    expect(allows(rules, CHAR, READ | WRITE, 1, 3)).toBe(false);
    expect(allows(rules, CHAR, WRITE, 1, 5)).toBe(true);
    expect(allows(rules, BLOCK, READ, 8, 0)).toBe(false);
  });

  it("decides each access kind separately", () => {
    const rules = [rule("a", false), rule("b 8:0 r"), rule("b 8:* w")];
    expect(allows(rules, BLOCK, READ, 8, 0)).toBe(true);
    expect(allows(rules, BLOCK, READ | WRITE, 8, 0)).toBe(true);
    expect(allows(rules, BLOCK, READ | WRITE, 8, 1)).toBe(false);
    expect(allows(rules, BLOCK, WRITE, 8, 1)).toBe(true);
    expect(allows(rules, BLOCK, MKNOD, 8, 0)).toBe(false);
    expect(allows(rules, CHAR, READ, 8, 0)).toBe(false);
  });

  it("resets with a catch-all rule, leaving out what comes before it", () => {
    const before = [rule("c 1:3"), rule("b 8:0 r")];
    const prog = deviceProgram([...before, rule("a", false)]);
    expect(prog.equals(deviceProgram([]))).toBe(true);
    expect(allows([...before, rule("a")], BLOCK, WRITE, 9, 9)).toBe(true);
    expect(allows([...before, rule("a"), rule("b *:* w", false)], BLOCK, WRITE, 9, 9)).toBe(false);
    expect(allows([...before, rule("a"), rule("b *:* w", false)], BLOCK, READ, 9, 9)).toBe(true);
    const allowAll = deviceProgram([...before, rule("a"), rule("c 1:3", false)]);
    expect(unreachable(allowAll)).toEqual([]);
    expect(run(allowAll, CHAR, READ, 1, 3).result).toBe(0);
    expect(run(allowAll, CHAR, READ, 1, 4).result).toBe(1);
  });

  it("matches type a on both character and block devices", () => {
    const rules = [rule("a 7:*")];
    expect(allows(rules, CHAR, READ, 7, 0)).toBe(true);
    expect(allows(rules, BLOCK, READ, 7, 3)).toBe(true);
    expect(allows(rules, BLOCK, READ, 8, 3)).toBe(false);
  });

  it("keeps every instruction reachable and every jump forward for many rules", () => {
    const many: DeviceRule[] = [rule("a", false)];
    for (let i = 0; i < 500; i++) many.push(rule(`c ${i % 4096}:${i} ${["r", "w", "m", "rw", "rwm"][i % 5]}`, i % 7 !== 0));
    const prog = deviceProgram(many);
    expect(unreachable(prog)).toEqual([]);
    // rule 499: allow (499 % 7 != 0), access "rwm"
    expect(run(prog, CHAR, READ | WRITE, 499, 499).result).toBe(1);
    // rule 497: deny (497 = 7 * 71)
    expect(run(prog, CHAR, READ, 497, 497).result).toBe(0);
  });

  it("refuses more rules than 16-bit jumps can span", () => {
    const huge: DeviceRule[] = [];
    for (let i = 0; i < 9000; i++) huge.push({ type: "c", major: i % 4096, minor: i, access: "r", allow: true });
    expect(() => deviceProgram(huge)).toThrow(RangeError);
  });

  it("validates the rules it is given", () => {
    const bad = (r: unknown) => () => deviceProgram([r as DeviceRule]);
    expect(bad({ type: "x", major: 1, minor: 3, access: "r", allow: true })).toThrow(ConfigError);
    expect(bad({ type: "c", major: -1, minor: 3, access: "r", allow: true })).toThrow(/major/);
    expect(bad({ type: "c", major: 4096, minor: 3, access: "r", allow: true })).toThrow(/major/);
    expect(bad({ type: "c", major: 1, minor: 1.5, access: "r", allow: true })).toThrow(/minor/);
    expect(bad({ type: "c", major: 1, minor: 3, access: "", allow: true })).toThrow(/access/);
    expect(bad({ type: "c", major: 1, minor: 3, access: "rx", allow: true })).toThrow(/access/);
    expect(bad({ type: "c", major: 1, minor: 3, access: "r" })).toThrow(/allow/);
  });
});

describe("parseDeviceRule", () => {
  it("parses the v1 controller's syntax", () => {
    expect(parseDeviceRule("c 1:3 rwm")).toEqual({ type: "c", major: 1, minor: 3, access: "rwm", allow: true });
    expect(parseDeviceRule("b *:* m", false)).toEqual({ type: "b", major: "*", minor: "*", access: "m", allow: false });
    expect(parseDeviceRule("a")).toEqual({ type: "a", major: "*", minor: "*", access: "rwm", allow: true });
    expect(parseDeviceRule("  c 136:*  ")).toEqual({ type: "c", major: 136, minor: "*", access: "rwm", allow: true });
    expect(parseDeviceRule("c 10:200 wr")).toEqual({ type: "c", major: 10, minor: 200, access: "wr", allow: true });
  });

  it("round-trips with formatDeviceRule", () => {
    for (const r of DEFAULT_DEVICE_RULES) expect(parseDeviceRule(formatDeviceRule(r), r.allow)).toEqual(r);
  });

  it("rejects malformed rules with a ConfigError", () => {
    for (const s of ["", "   ", "x 1:3 r", "cc 1:3", "c 1", "c 1:3:4", "c a:3", "c 1:-3", "c 1:3 rx", "c 1:3 rr", "c 1:3 r extra", "c 4096:0", "c 1:1048576"]) {
      expect(() => parseDeviceRule(s), JSON.stringify(s)).toThrow(ConfigError);
    }
    expect(() => parseDeviceRule("c 1:3 q")).toThrow(/bad device rule "c 1:3 q": access/);
  });
});
