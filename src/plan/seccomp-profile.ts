/**
 * An OCI seccomp profile (runtime-spec `linux.seccomp`, the format of
 * Docker's and podman's profiles) compiled to classic BPF, without
 * libseccomp: the filter runc and crun would install, built in TypeScript
 * so it can be inspected and tested on any host (the unit tests run it
 * through a BPF interpreter).
 *
 * The semantics are libseccomp's, as runc drives it:
 * - The host's native ABI is always filtered; `architectures` adds others
 *   (x86_64 with i386 and x32, aarch64 with arm). A system call made
 *   through an ABI that is not filtered gets the bad-arch action, KILL
 *   (the thread), libseccomp's default. ABIs of other hosts (mips, s390…)
 *   are accepted and ignored: the kernel never reports them here.
 * - A name unknown on one ABI is skipped there; a name unknown on every
 *   ABI is skipped and reported (`skipped`), as runc logs and goes on.
 * - A rule whose action is the default action is ignored (libseccomp
 *   refuses it, runc skips it).
 * - Per system call, an unconditional rule wins over every rule with
 *   arguments (libseccomp's db_rule_add keeps the first unconditional rule
 *   and drops the conditional ones); otherwise the rules with arguments are
 *   tried in profile order and the first whose comparisons all hold
 *   decides (several rules for one call are ORed); none: the default.
 * - The comparisons of one rule are ANDed. (runc splits a rule with two
 *   comparisons of one argument into separate, ORed, rules; crun and the
 *   runtime-spec do not say so, and AND is what the rule reads as.)
 * - On 64-bit ABIs a comparison covers all 64 bits, done on both 32-bit
 *   halves of seccomp_data.args[i]; on 32-bit ABIs (i386, x32, arm) only
 *   the low 32 bits are compared, as libseccomp does.
 * @module
 */
import { ConfigError, type ConfigIssue } from "../errors.js";
import { SYSCALL_ROWS } from "../linux/syscall-numbers.js";
import type { SeccompArch } from "../linux/syscalls.js";
import { ALU_AND_K, argLow, BpfProgram, JEQ_K, JGE_K, JGT_K, LD_W_ABS, OFF_ARCH, OFF_NR, RET_K, X32_SYSCALL_BIT, type Label } from "./bpf.js";

/** `linux.seccomp` of an OCI runtime config (runtime-spec 1.x). */
export interface OciSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSeccompRule[];
}

export interface OciSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number | bigint; valueTwo?: number | bigint; op: string }[];
  comment?: string;
}

/** What the native child installs: the program and seccomp(2)'s flags. */
export interface CompiledSeccomp {
  /** `struct sock_filter[]` bytes. */
  filter: Buffer;
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, flags, …). */
  flags: number;
  /** Names no supported ABI knows (skipped, as runc does: newer or foreign calls). */
  skipped: string[];
}

// <linux/seccomp.h> return values (the action in the high 16 bits, data in the low).
const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: RET.KILL_THREAD,
  SCMP_ACT_KILL_THREAD: RET.KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: RET.KILL_PROCESS,
  SCMP_ACT_TRAP: RET.TRAP,
  SCMP_ACT_ERRNO: RET.ERRNO,
  SCMP_ACT_TRACE: RET.TRACE,
  SCMP_ACT_LOG: RET.LOG,
  SCMP_ACT_ALLOW: RET.ALLOW,
  SCMP_ACT_NOTIFY: RET.USER_NOTIF,
};

const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};

const EPERM = 1;
const MAX_ERRNO = 4095;
const BPF_MAXINSNS = 4096;

// <linux/audit.h>
const AUDIT = { X86_64: 0xc000003e, I386: 0x40000003, AARCH64: 0xc00000b7, ARM: 0x40000028 };

/** One ABI: its column in SYSCALL_ROWS, and whether arguments are 64-bit. */
interface Abi {
  name: string;
  column: number;
  wide: boolean;
}
const ABI = {
  x86_64: { name: "x86_64", column: 0, wide: true },
  i386: { name: "i386", column: 1, wide: false },
  x32: { name: "x32", column: 2, wide: false },
  aarch64: { name: "aarch64", column: 3, wide: true },
  arm: { name: "arm", column: 4, wide: false },
} satisfies Record<string, Abi>;

const SCMP_ARCH: Record<string, Abi | null> = {
  SCMP_ARCH_X86_64: ABI.x86_64,
  SCMP_ARCH_X86: ABI.i386,
  SCMP_ARCH_X32: ABI.x32,
  SCMP_ARCH_AARCH64: ABI.aarch64,
  SCMP_ARCH_ARM: ABI.arm,
  // Architectures this host's kernel never reports: nothing to filter.
  ...Object.fromEntries(
    ["MIPS", "MIPS64", "MIPS64N32", "MIPSEL", "MIPSEL64", "MIPSEL64N32", "PPC", "PPC64", "PPC64LE", "S390", "S390X", "PARISC", "PARISC64", "RISCV64", "LOONGARCH64", "M68K", "SH", "SHEB"].map((a) => [`SCMP_ARCH_${a}`, null]),
  ),
};

/** The ABIs a host's kernel may report, the native one first (libseccomp always filters it). */
const HOST_ABIS: Record<SeccompArch, Abi[]> = { x64: [ABI.x86_64, ABI.i386, ABI.x32], arm64: [ABI.aarch64, ABI.arm] };

let numbers: Map<string, (number | undefined)[]> | undefined;
function syscallNumbers(): Map<string, (number | undefined)[]> {
  numbers ??= new Map(
    SYSCALL_ROWS.trim()
      .split("\n")
      .map((row) => {
        const [name, ...nrs] = row.split(" ");
        return [name!, nrs.map((n) => (n === "-" ? undefined : Number(n)))];
      }),
  );
  return numbers;
}

/** The number of `name` on `abi` as seccomp_data.nr carries it, if that ABI has the call. */
export function abiSyscallNumber(name: string, abi: keyof typeof ABI): number | undefined {
  const nr = syscallNumbers().get(name)?.[ABI[abi].column];
  return nr === undefined ? undefined : abi === "x32" ? (nr | X32_SYSCALL_BIT) >>> 0 : nr;
}

type Op = "SCMP_CMP_NE" | "SCMP_CMP_LT" | "SCMP_CMP_LE" | "SCMP_CMP_EQ" | "SCMP_CMP_GE" | "SCMP_CMP_GT" | "SCMP_CMP_MASKED_EQ";
const OPS = new Set<string>(["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]);

interface Cmp {
  index: number;
  op: Op;
  value: bigint;
  valueTwo: bigint;
}
interface Rule {
  action: number;
  args: Cmp[];
}

const U64_MAX = (1n << 64n) - 1n;

/** A JSON number as a u64: 2^64-1 parses as 2^64 (a double), so that one value is taken as meant. */
function u64(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v >= 0n && v <= U64_MAX ? v : undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) return undefined;
  const b = BigInt(v);
  return b === 1n << 64n ? U64_MAX : b <= U64_MAX ? b : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function actionOf(action: unknown, errnoRet: unknown, path: string, errnoField: string, issues: ConfigIssue[]): number | undefined {
  if (typeof action !== "string" || !(action in ACTIONS)) {
    issues.push({ path, message: `unknown action ${JSON.stringify(action)} (SCMP_ACT_ALLOW, ERRNO, KILL, KILL_THREAD, KILL_PROCESS, TRAP, TRACE, LOG)` });
    return undefined;
  }
  if (action === "SCMP_ACT_NOTIFY") {
    // A listener needs a process holding the notify fd (`listenerPath`):
    // warren does not hand the fd out, so the call would hang or fail.
    issues.push({ path, message: "SCMP_ACT_NOTIFY is not supported (warren has no seccomp listener to send the notify fd to)" });
    return undefined;
  }
  const base = ACTIONS[action]!;
  const takesData = base === RET.ERRNO || base === RET.TRACE;
  if (errnoRet !== undefined && errnoRet !== null) {
    if (!takesData) {
      issues.push({ path: errnoField, message: `is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${action}` });
      return undefined;
    }
    if (!Number.isInteger(errnoRet) || (errnoRet as number) < 0 || (errnoRet as number) > MAX_ERRNO) {
      issues.push({ path: errnoField, message: `must be an integer from 0 to ${MAX_ERRNO}, got ${JSON.stringify(errnoRet)}` });
      return undefined;
    }
    return (base | (errnoRet as number)) >>> 0;
  }
  // runc's default for a rule's ERRNO/TRACE without errnoRet.
  return takesData ? (base | EPERM) >>> 0 : base;
}

/** Checks `profile` and turns it into rules by name; throws a ConfigError listing every problem (paths under `at`). */
function parse(profile: unknown, at: string): { defaultAction: number; flags: number; arches: Set<Abi | null>; rules: { names: string[]; rule: Rule }[] } {
  const issues: ConfigIssue[] = [];
  if (!isObject(profile)) throw new ConfigError([{ path: at, message: "must be an object" }]);
  const known = new Set(["defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath", "listenerMetadata", "syscalls"]);
  for (const k of Object.keys(profile)) {
    if (!known.has(k)) issues.push({ path: `${at}.${k}`, message: k === "archMap" ? "is a Docker profile template field: give the rendered OCI profile (architectures, no includes/excludes)" : "unknown field" });
  }
  const defaultAction = actionOf(profile.defaultAction, profile.defaultErrnoRet, `${at}.defaultAction`, `${at}.defaultErrnoRet`, issues) ?? 0;
  if (profile.listenerPath !== undefined && profile.listenerPath !== "") {
    issues.push({ path: `${at}.listenerPath`, message: "seccomp notify listeners are not supported" });
  }
  let flags = 0;
  if (profile.flags !== undefined && profile.flags !== null) {
    if (!Array.isArray(profile.flags)) issues.push({ path: `${at}.flags`, message: "must be an array" });
    else
      profile.flags.forEach((f, i) => {
        if (typeof f === "string" && f in FLAGS) flags |= FLAGS[f]!;
        else
          issues.push({
            path: `${at}.flags[${i}]`,
            message: `${JSON.stringify(f)} is not supported (SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG and SECCOMP_FILTER_FLAG_SPEC_ALLOW are; WAIT_KILLABLE_RECV and NEW_LISTENER need a notify listener)`,
          });
      });
  }
  const arches = new Set<Abi | null>();
  if (profile.architectures !== undefined && profile.architectures !== null) {
    if (!Array.isArray(profile.architectures)) issues.push({ path: `${at}.architectures`, message: "must be an array" });
    else
      profile.architectures.forEach((a, i) => {
        if (typeof a === "string" && a in SCMP_ARCH) arches.add(SCMP_ARCH[a]!);
        else issues.push({ path: `${at}.architectures[${i}]`, message: `unknown architecture ${JSON.stringify(a)}` });
      });
  }
  const rules: { names: string[]; rule: Rule }[] = [];
  const syscalls = profile.syscalls ?? [];
  if (!Array.isArray(syscalls)) issues.push({ path: `${at}.syscalls`, message: "must be an array" });
  else
    syscalls.forEach((s, i) => {
      const p = `${at}.syscalls[${i}]`;
      if (!isObject(s)) return issues.push({ path: p, message: "must be an object" });
      for (const k of Object.keys(s)) {
        if (!["names", "name", "action", "errnoRet", "args", "comment"].includes(k)) {
          issues.push({ path: `${p}.${k}`, message: k === "includes" || k === "excludes" ? "is a Docker profile template field: give the rendered OCI profile" : "unknown field" });
        }
      }
      // `name` (one call) is what runtime-spec 1.0.0-rc profiles used.
      const names = Array.isArray(s.names) ? s.names : typeof s.name === "string" ? [s.name] : undefined;
      if (!names || names.length === 0 || names.some((n) => typeof n !== "string" || n === "")) {
        issues.push({ path: `${p}.names`, message: "must be a non-empty array of system call names" });
      }
      const action = actionOf(s.action, s.errnoRet, `${p}.action`, `${p}.errnoRet`, issues);
      const args: Cmp[] = [];
      if (s.args !== undefined && s.args !== null) {
        if (!Array.isArray(s.args)) issues.push({ path: `${p}.args`, message: "must be an array" });
        else
          s.args.forEach((a, j) => {
            const q = `${p}.args[${j}]`;
            if (!isObject(a)) return issues.push({ path: q, message: "must be an object" });
            if (!Number.isInteger(a.index) || (a.index as number) < 0 || (a.index as number) > 5) issues.push({ path: `${q}.index`, message: "must be an argument index from 0 to 5" });
            if (typeof a.op !== "string" || !OPS.has(a.op)) issues.push({ path: `${q}.op`, message: `unknown comparison ${JSON.stringify(a.op)} (SCMP_CMP_NE, LT, LE, EQ, GE, GT, MASKED_EQ)` });
            const value = u64(a.value ?? 0);
            const valueTwo = u64(a.valueTwo ?? 0);
            if (value === undefined) issues.push({ path: `${q}.value`, message: "must be an unsigned 64-bit integer" });
            if (valueTwo === undefined) issues.push({ path: `${q}.valueTwo`, message: "must be an unsigned 64-bit integer" });
            if (value !== undefined && valueTwo !== undefined) args.push({ index: a.index as number, op: a.op as Op, value, valueTwo });
          });
      }
      if (names && action !== undefined) rules.push({ names: names as string[], rule: { action, args } });
    });
  if (issues.length) throw new ConfigError(issues);
  return { defaultAction, flags, arches, rules };
}

/** What one system call of one ABI does: an action, or rules with arguments tried in order before `fallback`. */
interface Decision {
  nr: number;
  action?: number;
  conditional: Rule[];
}

function decisions(rules: { names: string[]; rule: Rule }[], abi: Abi, defaultAction: number): Decision[] {
  const byNr = new Map<number, Decision>();
  const table = syscallNumbers();
  for (const { names, rule } of rules) {
    // libseccomp refuses a rule that repeats the default; runc skips it.
    if (rule.action === defaultAction) continue;
    for (const name of names) {
      const raw = table.get(name)?.[abi.column];
      if (raw === undefined) continue;
      const nr = abi === ABI.x32 ? (raw | X32_SYSCALL_BIT) >>> 0 : raw;
      let d = byNr.get(nr);
      if (!d) byNr.set(nr, (d = { nr, conditional: [] }));
      if (rule.args.length === 0) d.action ??= rule.action;
      else d.conditional.push(rule);
    }
  }
  return [...byNr.values()].sort((a, b) => a.nr - b.nr);
}

/**
 * One comparison of a rule; falls through when it holds, jumps to `fail`
 * when not. A is clobbered (the caller reloads nr where it needs it).
 */
function compare(p: BpfProgram, c: Cmp, wide: boolean, fail: Label): void {
  const lo = Number(c.value & 0xffffffffn);
  const hi = Number(c.value >> 32n);
  const pass: Label = {};
  const at = argLow(c.index);
  if (c.op === "SCMP_CMP_MASKED_EQ") {
    const dlo = Number(c.valueTwo & 0xffffffffn);
    const dhi = Number(c.valueTwo >> 32n);
    if (wide) {
      p.emit(LD_W_ABS, at + 4);
      p.emit(ALU_AND_K, hi);
      p.emit(JEQ_K, dhi, 0, fail);
    }
    p.emit(LD_W_ABS, at);
    p.emit(ALU_AND_K, lo);
    p.emit(JEQ_K, dlo, 0, fail);
    return;
  }
  if (wide) {
    // The high halves decide unless they are equal.
    p.emit(LD_W_ABS, at + 4);
    switch (c.op) {
      case "SCMP_CMP_EQ":
        p.emit(JEQ_K, hi, 0, fail);
        break;
      case "SCMP_CMP_NE":
        p.emit(JEQ_K, hi, 0, pass);
        break;
      case "SCMP_CMP_GT":
      case "SCMP_CMP_GE":
        p.emit(JGT_K, hi, pass, 0);
        p.emit(JEQ_K, hi, 0, fail);
        break;
      case "SCMP_CMP_LT":
      case "SCMP_CMP_LE":
        p.emit(JGT_K, hi, fail, 0);
        p.emit(JEQ_K, hi, 0, pass);
        break;
    }
  }
  p.emit(LD_W_ABS, at);
  switch (c.op) {
    case "SCMP_CMP_EQ":
      p.emit(JEQ_K, lo, 0, fail);
      break;
    case "SCMP_CMP_NE":
      p.emit(JEQ_K, lo, fail, 0);
      break;
    case "SCMP_CMP_GT":
      p.emit(JGT_K, lo, 0, fail);
      break;
    case "SCMP_CMP_GE":
      p.emit(JGE_K, lo, 0, fail);
      break;
    case "SCMP_CMP_LT": // not GE
      p.emit(JGE_K, lo, fail, 0);
      break;
    case "SCMP_CMP_LE": // not GT
      p.emit(JGT_K, lo, fail, 0);
      break;
  }
  p.place(pass);
}

/** Calls with one action for every argument share a RET: runs of JEQs, short enough for 8-bit jumps. */
const RUN = 200;

/** The rules of one ABI; A holds nr on entry; every path ends in a RET. */
function emitAbi(p: BpfProgram, ds: Decision[], abi: Abi, defaultAction: number): void {
  const plain = new Map<number, number[]>();
  for (const d of ds) if (d.action !== undefined) (plain.get(d.action) ?? plain.set(d.action, []).get(d.action)!).push(d.nr);
  for (const [action, nrs] of plain) {
    for (let i = 0; i < nrs.length; i += RUN) {
      const hit: Label = {};
      const next: Label = {};
      for (const nr of nrs.slice(i, i + RUN)) p.emit(JEQ_K, nr, hit, 0);
      p.jump(next);
      p.place(hit);
      p.ret(action);
      p.place(next);
    }
  }
  for (const d of ds) {
    if (d.action !== undefined) continue;
    const skip: Label = {};
    const body: Label = {};
    p.emit(JEQ_K, d.nr, body, 0);
    p.jump(skip);
    p.place(body);
    for (const rule of d.conditional) {
      const fail: Label = {};
      for (const c of rule.args) compare(p, c, abi.wide, fail);
      p.ret(rule.action);
      p.place(fail);
    }
    p.ret(defaultAction);
    p.place(skip);
  }
  p.ret(defaultAction);
}

/**
 * Compiles an OCI seccomp profile for `arch` (the host's, by default).
 * Throws a ConfigError naming the field (under `at`, e.g. `linux.seccomp`
 * or `seccomp.profile`) for anything it cannot honour, and when the
 * program would exceed the kernel's 4096 instructions.
 */
export function compileSeccompProfile(profile: unknown, options: { arch?: SeccompArch; at?: string } = {}): CompiledSeccomp {
  const at = options.at ?? "linux.seccomp";
  const arch = options.arch ?? (process.arch as SeccompArch);
  const hostAbis = Object.hasOwn(HOST_ABIS, arch) ? HOST_ABIS[arch] : undefined;
  if (!hostAbis) throw new ConfigError([{ path: at, message: `seccomp profiles are not supported on ${arch}` }]);
  const parsed = parse(profile, at);
  const { defaultAction } = parsed;
  // libseccomp's seccomp_init always adds the native ABI.
  const abis = hostAbis.filter((abi, i) => i === 0 || parsed.arches.has(abi));
  const table = syscallNumbers();
  const skipped = [...new Set(parsed.rules.flatMap((r) => r.names))].filter((n) => !table.has(n));

  const p = new BpfProgram();
  const badArch = RET.KILL_THREAD;
  const has = (abi: Abi) => abis.includes(abi);
  p.emit(LD_W_ABS, OFF_ARCH);
  const blocks: { audit: number; emit: () => void }[] = [];
  if (arch === "x64") {
    blocks.push({
      audit: AUDIT.X86_64,
      // x86_64 and x32 share the audit arch; x32 numbers carry bit 30.
      emit: () => {
        const x32: Label = {};
        const native: Label = {};
        p.emit(LD_W_ABS, OFF_NR);
        p.emit(JGE_K, X32_SYSCALL_BIT, 0, native);
        if (has(ABI.x32)) p.jump(x32);
        else {
          // nr -1 (a tracer skipping the call) is not an x32 call.
          const bad: Label = {};
          p.emit(JEQ_K, 0xffffffff, 0, bad);
          p.ret(defaultAction);
          p.place(bad);
          p.ret(badArch);
        }
        p.place(native);
        emitAbi(p, decisions(parsed.rules, ABI.x86_64, defaultAction), ABI.x86_64, defaultAction);
        if (has(ABI.x32)) {
          p.place(x32);
          emitAbi(p, decisions(parsed.rules, ABI.x32, defaultAction), ABI.x32, defaultAction);
        }
      },
    });
    if (has(ABI.i386)) blocks.push({ audit: AUDIT.I386, emit: () => abiBlock(p, parsed.rules, ABI.i386, defaultAction) });
  } else {
    blocks.push({ audit: AUDIT.AARCH64, emit: () => abiBlock(p, parsed.rules, ABI.aarch64, defaultAction) });
    if (has(ABI.arm)) blocks.push({ audit: AUDIT.ARM, emit: () => abiBlock(p, parsed.rules, ABI.arm, defaultAction) });
  }
  for (const block of blocks) {
    const here: Label = {};
    const next: Label = {};
    p.emit(JEQ_K, block.audit, here, 0);
    p.jump(next);
    p.place(here);
    block.emit();
    p.place(next);
  }
  p.ret(badArch);
  if (p.length > BPF_MAXINSNS) {
    throw new ConfigError([{ path: at, message: `compiles to ${p.length} BPF instructions, over the kernel's limit of ${BPF_MAXINSNS} (fewer calls, rules or architectures)` }]);
  }
  return { filter: p.assemble(), flags: parsed.flags, skipped };
}

function abiBlock(p: BpfProgram, rules: { names: string[]; rule: Rule }[], abi: Abi, defaultAction: number): void {
  p.emit(LD_W_ABS, OFF_NR);
  emitAbi(p, decisions(rules, abi, defaultAction), abi, defaultAction);
}
