/**
 * Device access control for containers without a user namespace: an eBPF
 * `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the container's cgroup v2
 * directory, deny by default, built here from a list of rules (the approach
 * of crun's `ebpf.c` and runc's `devicefilter`).
 *
 * ## Rule semantics
 *
 * Rules are read in order and **the last matching rule wins**, decided
 * separately for each kind of access (`m` mknod, `r` read, `w` write):
 *
 * - for each kind a request asks for, the last rule that names that kind and
 *   matches the device (type, major, minor; `a` and `*` match anything)
 *   decides; a kind that no rule decides is denied;
 * - a request is allowed when every kind it asks for is allowed: opening
 *   `O_RDWR` needs `r` and `w`, which may come from two rules;
 * - a request that asks for no kind (`access(2)` with `F_OK`) is allowed when
 *   any kind is allowed for the device, as the v1 devices controller does.
 *
 * For rule lists that start with a deny of everything (as
 * {@link DEFAULT_DEVICE_RULES} does) this is what the v1 devices controller
 * would do with the same writes to `devices.allow`/`devices.deny`, with one
 * deliberate difference: here a later deny always takes effect, even inside
 * an earlier allowed wildcard (v1 silently ignores `deny c 1:3` after
 * `allow c *:*`).
 *
 * The program checks the rules last to first and stops at the first match,
 * once per access kind; rules that cannot change the outcome (anything
 * before a catch-all rule, denies with nothing allowed before them) are left
 * out.
 * @module
 */
import { closeSync, constants, openSync } from "node:fs";

import { ConfigError, HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";

/** One device rule, as in the v1 devices controller (`c 1:3 rwm`). */
export interface DeviceRule {
  /** `c` character device, `b` block device, `a` both. */
  type: "c" | "b" | "a";
  major: number | "*";
  minor: number | "*";
  /** A non-empty subset of `rwm`: read, write, mknod. */
  access: string;
  /** Allow (true) or deny (false) what the rule matches. */
  allow: boolean;
}

const rwm = (type: "c", major: number, minor: number | "*"): DeviceRule =>
  Object.freeze({ type, major, minor, access: "rwm", allow: true });

/**
 * Deny everything, then allow the usual character devices (LXC's and
 * Docker's list): null, zero, full, random, urandom, tty, console, ptmx, the
 * pts, fuse and tun.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  Object.freeze<DeviceRule>({ type: "a", major: "*", minor: "*", access: "rwm", allow: false }),
  rwm("c", 1, 3), // /dev/null
  rwm("c", 1, 5), // /dev/zero
  rwm("c", 1, 7), // /dev/full
  rwm("c", 1, 8), // /dev/random
  rwm("c", 1, 9), // /dev/urandom
  rwm("c", 5, 0), // /dev/tty
  rwm("c", 5, 1), // /dev/console
  rwm("c", 5, 2), // /dev/ptmx
  rwm("c", 136, "*"), // /dev/pts/*
  rwm("c", 10, 229), // /dev/fuse
  rwm("c", 10, 200), // /dev/net/tun
]);

/** The name warren's device program carries (`bpf_prog_info.name`), by which it is found again. */
export const DEVICE_PROGRAM_NAME = "warren_dev";
/** The program's license string (no GPL-only helper is used). */
const LICENSE = "Apache-2.0";

/** Largest major and minor the kernel's 32-bit dev_t can hold. */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

function badRule(what: string, why: string): ConfigError {
  return new ConfigError([{ path: "", message: `bad device rule ${what}: ${why}` }]);
}

function describe(rule: unknown): string {
  try {
    return JSON.stringify(rule);
  } catch {
    return String(rule);
  }
}

function checkNumber(v: unknown, max: number, what: string, name: string): void {
  if (v === "*") return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw badRule(what, `${name} must be "*" or an integer from 0 to ${max}`);
  }
}

function checkAccess(access: unknown, what: string): void {
  if (typeof access !== "string" || access.length === 0 || !/^[rwm]+$/.test(access) || new Set(access).size !== access.length) {
    throw badRule(what, 'access must be a non-empty subset of "rwm"');
  }
}

function checkRule(rule: DeviceRule): void {
  const what = describe(rule);
  if (rule === null || typeof rule !== "object") throw badRule(what, "not an object");
  if (rule.type !== "a" && rule.type !== "b" && rule.type !== "c") throw badRule(what, 'type must be "a", "b" or "c"');
  checkNumber(rule.major, MAX_MAJOR, what, "major");
  checkNumber(rule.minor, MAX_MINOR, what, "minor");
  checkAccess(rule.access, what);
  if (typeof rule.allow !== "boolean") throw badRule(what, "allow must be true or false");
}

/**
 * Parses a rule in the v1 controller's syntax: `<type> [<major>:<minor>
 * [<access>]]`, e.g. `c 1:3 rwm`, `b *:* m`, `c 136:*`, `a`. A missing
 * `major:minor` means `*:*`, a missing access `rwm`. Whether the rule allows
 * or denies is given separately.
 */
export function parseDeviceRule(s: string, allow = true): DeviceRule {
  const what = JSON.stringify(s);
  if (typeof s !== "string") throw badRule(String(s), "not a string");
  const parts = s.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) throw badRule(what, "empty");
  if (parts.length > 3) throw badRule(what, "expected `<type> [<major>:<minor> [<access>]]`");
  const [type, numbers = "*:*", access = "rwm"] = parts as [string, string?, string?];
  if (type !== "a" && type !== "b" && type !== "c") throw badRule(what, 'type must be "a", "b" or "c"');
  const m = /^(\*|\d+):(\*|\d+)$/.exec(numbers);
  if (!m) throw badRule(what, "expected `<major>:<minor>`, each a number or *");
  const num = (t: string) => (t === "*" ? "*" : Number(t));
  const rule: DeviceRule = { type, major: num(m[1]!), minor: num(m[2]!), access, allow };
  checkNumber(rule.major, MAX_MAJOR, what, "major");
  checkNumber(rule.minor, MAX_MINOR, what, "minor");
  checkAccess(rule.access, what);
  return rule;
}

/** The rule in the v1 controller's syntax (`c 1:3 rwm`), without allow/deny. */
export function formatDeviceRule(rule: DeviceRule): string {
  return `${rule.type} ${rule.major}:${rule.minor} ${rule.access}`;
}

// ---------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------

/** `bpf_cgroup_dev_ctx.access_type`: device type in the low 16 bits, access in the high ones. */
const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACC = { m: 1, r: 2, w: 4 } as const; // BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

// Opcodes (class | op | source) of the instructions the program uses.
const LDX_MEM_W = 0x61; // dst = *(u32 *)(src + off)
const ALU32_AND_K = 0x54; // dst = (u32)dst & imm
const ALU32_RSH_K = 0x74; // dst = (u32)dst >> imm
const ALU64_MOV_K = 0xb7; // dst = imm
const ALU64_OR_K = 0x47; // dst |= imm
const ALU64_OR_X = 0x4f; // dst |= src
const JMP_JA = 0x05; // goto +off
const JMP_JEQ_K = 0x15; // if dst == imm goto +off
const JMP_JNE_K = 0x55; // if dst != imm goto +off
const JMP_JNE_X = 0x5d; // if dst != src goto +off
const JMP_EXIT = 0x95; // return r0

// Registers: r1 the context; then, once loaded:
const R0 = 0;
const R1 = 1;
const R_TYPE = 2;
const R_ACCESS = 3;
const R_MAJOR = 4;
const R_MINOR = 5;
const R_ALLOWED = 6; // the access kinds allowed so far

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** Label to jump to (resolved into `off`). */
  target?: number;
}

class Assembler {
  readonly insns: Insn[] = [];
  private readonly labels: number[] = [];

  emit(code: number, dst: number, src: number, off: number, imm: number, target?: number): void {
    this.insns.push(target === undefined ? { code, dst, src, off, imm } : { code, dst, src, off, imm, target });
  }

  label(): number {
    this.labels.push(-1);
    return this.labels.length - 1;
  }

  bind(label: number): void {
    this.labels[label] = this.insns.length;
  }

  encode(): Buffer {
    const out = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((insn, pc) => {
      let off = insn.off;
      if (insn.target !== undefined) {
        const at = this.labels[insn.target]!;
        if (at < 0) throw new Error("device program: unbound label");
        off = at - (pc + 1);
        if (off < -0x8000 || off > 0x7fff) {
          throw new RangeError(`too many device rules for one program (a jump of ${off} instructions exceeds the 16-bit offset)`);
        }
      }
      out.writeUInt8(insn.code, pc * 8);
      out.writeUInt8((insn.src << 4) | insn.dst, pc * 8 + 1);
      out.writeInt16LE(off, pc * 8 + 2);
      out.writeInt32LE(insn.imm, pc * 8 + 4);
    });
    return out;
  }
}

const isCatchAll = (r: DeviceRule) => r.type === "a" && r.major === "*" && r.minor === "*";

/**
 * The BPF instructions (`struct bpf_insn`, 8 bytes each, little-endian) of a
 * `BPF_PROG_TYPE_CGROUP_DEVICE` program that returns 1 (allow) or 0 (deny)
 * for `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
 * according to `rules` (see the module's rule semantics).
 *
 * Layout: load the access asked for into r3 and clear r6 (kinds allowed);
 * for each access kind, a chain of the rules naming it, last rule first,
 * each a few `load r; if r != value goto next-rule` tests (r2 type, r4
 * major, r5 minor) and, on a match, `r6 |= kind` for an allow and a jump
 * past the chain; finally compare the request with r6. Jumps are forward
 * only and bounded by the length of one chain: a RangeError says when more
 * rules name one access kind than a 16-bit offset can span (about 3,600).
 */
export function deviceProgram(rules: readonly DeviceRule[]): Buffer {
  if (!Array.isArray(rules)) throw badRule(describe(rules), "expected a list of rules");
  for (const r of rules) checkRule(r);
  const a = new Assembler();
  a.emit(LDX_MEM_W, R_ACCESS, R1, 0, 0);
  a.emit(ALU32_RSH_K, R_ACCESS, 0, 0, 16);
  a.emit(ALU64_MOV_K, R_ALLOWED, 0, 0, 0);

  for (const kind of ["m", "r", "w"] as const) {
    let chain = rules.filter((r) => r.access.includes(kind)).reverse();
    // Nothing before a catch-all rule can matter (and the verifier refuses
    // unreachable instructions); denies at the start of the list (the end
    // of the chain) say what the default already says.
    const all = chain.findIndex(isCatchAll);
    if (all >= 0) chain = chain.slice(0, all + 1);
    while (chain.length > 0 && !chain[chain.length - 1]!.allow) chain.pop();
    const end = a.label();
    chain.forEach((r, i) => {
      const next = a.label();
      // Each rule loads what it compares afresh. On the path where the type
      // matched but the major did not, the verifier knows the type exactly;
      // carried into the next rules, such values would keep it from merging
      // paths there, and verifying would take one walk of the rest of the
      // program per rule (quadratic: ~1 s for 500 rules, E2BIG for a few
      // thousand). A register overwritten before it is read does not count,
      // so with the loads every path meets the others at each rule.
      if (r.type !== "a") {
        a.emit(LDX_MEM_W, R_TYPE, R1, 0, 0);
        a.emit(ALU32_AND_K, R_TYPE, 0, 0, 0xffff);
        a.emit(JMP_JNE_K, R_TYPE, 0, 0, r.type === "b" ? DEV_BLOCK : DEV_CHAR, next);
      }
      if (r.major !== "*") {
        a.emit(LDX_MEM_W, R_MAJOR, R1, 4, 0);
        a.emit(JMP_JNE_K, R_MAJOR, 0, 0, r.major, next);
      }
      if (r.minor !== "*") {
        a.emit(LDX_MEM_W, R_MINOR, R1, 8, 0);
        a.emit(JMP_JNE_K, R_MINOR, 0, 0, r.minor, next);
      }
      if (r.allow) a.emit(ALU64_OR_K, R_ALLOWED, 0, 0, ACC[kind]);
      if (i < chain.length - 1) a.emit(JMP_JA, 0, 0, 0, 0, end);
      a.bind(next);
    });
    a.bind(end);
  }

  // No access asked (access(2) F_OK): allowed if any kind is.
  const some = a.label();
  a.emit(JMP_JNE_K, R_ACCESS, 0, 0, 0, some);
  a.emit(ALU64_MOV_K, R0, 0, 0, 0);
  a.emit(JMP_JEQ_K, R_ALLOWED, 0, 1, 0);
  a.emit(ALU64_MOV_K, R0, 0, 0, 1);
  a.emit(JMP_EXIT, 0, 0, 0, 0);
  // Otherwise every kind asked must be allowed (an unknown access bit never is).
  a.bind(some);
  a.emit(ALU64_OR_X, R_ACCESS, R_ALLOWED, 0, 0);
  a.emit(ALU64_MOV_K, R0, 0, 0, 0);
  a.emit(JMP_JNE_X, R_ACCESS, R_ALLOWED, 1, 0);
  a.emit(ALU64_MOV_K, R0, 0, 0, 1);
  a.emit(JMP_EXIT, 0, 0, 0, 0);
  return a.encode();
}

// ---------------------------------------------------------------------------
// Loading and attaching
// ---------------------------------------------------------------------------

const BPF_F_ALLOW_MULTI = 1 << 1;
const BPF_F_REPLACE = 1 << 2;

function hostError(message: string, e: unknown, path: string): HostError {
  const code = codeOf(e);
  const syscall = (e as { syscall?: unknown })?.syscall;
  return new HostError(message, code, { path, cause: e, ...(typeof syscall === "string" ? { syscall } : {}) });
}

function openCgroup(cgroupPath: string): number {
  try {
    return openSync(cgroupPath, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw hostError(`open cgroup \`${cgroupPath}\``, e, cgroupPath);
  }
}

/** Ids of warren's device programs attached to the cgroup directory (open fd) itself. */
function warrenPrograms(dir: number): number[] {
  const n = native();
  const out: number[] = [];
  for (const id of n.bpfProgQuery(dir)) {
    try {
      if (n.bpfProgInfo(id).name === DEVICE_PROGRAM_NAME) out.push(id);
    } catch (e) {
      if (codeOf(e) !== "ENOENT") throw e; // detached and freed meanwhile
    }
  }
  return out;
}

/** Ids of warren's device programs attached directly to a cgroup v2 directory. */
export function devicePrograms(cgroupPath: string): number[] {
  const dir = openCgroup(cgroupPath);
  try {
    return warrenPrograms(dir);
  } catch (e) {
    throw hostError(`query the device programs of cgroup \`${cgroupPath}\``, e, cgroupPath);
  } finally {
    closeSync(dir);
  }
}

/**
 * Loads the program for `rules` and attaches it to the cgroup v2 directory
 * `cgroupPath` (with `BPF_F_ALLOW_MULTI`, so programs of others, e.g.
 * systemd's, keep working). If warren's program is already attached there
 * it is replaced atomically (`BPF_F_REPLACE`, Linux 5.6): at no moment is
 * the cgroup without a device policy, so rules can change while the
 * container runs. Needs CAP_SYS_ADMIN (or CAP_BPF with CAP_NET_ADMIN).
 *
 * The policy applies to every process in the cgroup and below it, checked at
 * open(2) and mknod(2): attach it before the container's first process is
 * cloned into the cgroup, and note that device files opened before keep
 * working.
 */
export function applyDeviceRules(cgroupPath: string, rules: readonly DeviceRule[]): void {
  const insns = deviceProgram(rules);
  const n = native();
  let prog: number;
  try {
    prog = n.bpfProgLoadDevice(insns, DEVICE_PROGRAM_NAME, LICENSE);
  } catch (e) {
    const log = (e as { log?: unknown })?.log;
    const tail = typeof log === "string" && log ? ` (verifier: ${log.trim().split("\n").slice(-4).join(" | ")})` : "";
    throw hostError(`load the device program for cgroup \`${cgroupPath}\`${tail}`, e, cgroupPath);
  }
  let dir = -1;
  try {
    dir = openCgroup(cgroupPath);
    for (let attempt = 0; ; attempt++) {
      let ours: number[] = [];
      try {
        ours = warrenPrograms(dir);
        if (ours.length === 0) {
          n.bpfProgAttach(prog, dir, BPF_F_ALLOW_MULTI);
        } else {
          const old = n.bpfProgGetFdById(ours[0]!);
          try {
            n.bpfProgAttach(prog, dir, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, old);
          } finally {
            closeSync(old);
          }
        }
      } catch (e) {
        // The program to replace was detached meanwhile (by a concurrent
        // apply): look again.
        if (codeOf(e) === "ENOENT" && attempt < 5) continue;
        throw hostError(`attach the device program to cgroup \`${cgroupPath}\``, e, cgroupPath);
      }
      // Two applies that raced may both have attached a program: keep ours.
      for (const id of ours.slice(1)) {
        try {
          detachProgram(id, dir);
        } catch (e) {
          throw hostError(`detach a stale device program from cgroup \`${cgroupPath}\``, e, cgroupPath);
        }
      }
      return;
    }
  } finally {
    closeSync(prog);
    if (dir >= 0) closeSync(dir);
  }
}

/** Detaches program `id` from the cgroup directory `dir`; one already gone (ENOENT) is fine. */
function detachProgram(id: number, dir: number): void {
  const n = native();
  try {
    const fd = n.bpfProgGetFdById(id);
    try {
      n.bpfProgDetach(fd, dir);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (codeOf(e) !== "ENOENT") throw e;
  }
}

/**
 * Detaches warren's device programs from the cgroup directory: its processes
 * then get whatever the programs of its ancestors allow. Removing the cgroup
 * detaches them as well.
 */
export function removeDeviceRules(cgroupPath: string): void {
  const dir = openCgroup(cgroupPath);
  try {
    for (const id of warrenPrograms(dir)) detachProgram(id, dir);
  } catch (e) {
    throw hostError(`detach the device program from cgroup \`${cgroupPath}\``, e, cgroupPath);
  } finally {
    closeSync(dir);
  }
}
