/**
 * Command-line parsing for the `warren` CLI: splitting a command's own
 * options from the command it runs, and the flags every kind of command
 * shares (state root, users, waits, limits). Pure (no file system, no
 * kernel) so it can be unit tested. Every command imports it, so it must not
 * load zod: the config flags are in `config-args.ts`, the network flags in
 * `network-args.ts`.
 * @module
 */
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

import { parseDeviceRule } from "../cgroup/devices.js";
import type { Limits } from "../cgroup/limits.js";
import { parseBytes, parsePercent } from "../cgroup/units.js";
import { ConfigError } from "../errors.js";

/** A bad command line: printed as `warren: <message>`, exit status 125. */
export class UsageError extends Error {
  readonly code = "ERR_WARREN_USAGE";
  /** The command whose usage applies (for the "see --help" hint). */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Accepted by every command. */
export const COMMON_OPTIONS = {
  root: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpec;

/** The cgroup limit flags (`run`, `create` and `set`). */
export const LIMIT_OPTIONS = {
  memory: { type: "string" },
  "memory-high": { type: "string" },
  "memory-swap": { type: "string" },
  cpus: { type: "string" },
  "cpu-weight": { type: "string" },
  "cpuset-cpus": { type: "string" },
  pids: { type: "string" },
  "io-weight": { type: "string" },
  "best-effort": { type: "boolean" },
  device: { type: "string", multiple: true },
} as const satisfies OptionSpec;

/** The network flags (`run` and `create`). */
export const NETWORK_OPTIONS = {
  nic: { type: "string", multiple: true },
  net: { type: "string" },
  publish: { type: "string", short: "p", multiple: true },
  dns: { type: "string", multiple: true },
} as const satisfies OptionSpec;

/** The flags that describe a container (`run` and `create`). */
export const CONFIG_OPTIONS = {
  ...LIMIT_OPTIONS,
  rootfs: { type: "string" },
  image: { type: "string" },
  ro: { type: "boolean" },
  overlay: { type: "boolean" },
  env: { type: "string", short: "e", multiple: true },
  cwd: { type: "string" },
  user: { type: "string", short: "u" },
  hostname: { type: "string" },
  "no-userns": { type: "boolean" },
  "share-net": { type: "boolean" },
  proc: { type: "string" },
  sys: { type: "string" },
  sysctl: { type: "string", multiple: true },
  volume: { type: "string", short: "v", multiple: true },
  ready: { type: "string" },
  lxcfs: { type: "string" },
  restart: { type: "string" },
  nesting: { type: "boolean" },
  intercept: { type: "string" },
  "idmap-size": { type: "string" },
  ...NETWORK_OPTIONS,
} as const satisfies OptionSpec;

/** `--wait` and `--timeout` of `start` and `run`. */
export const WAIT_OPTIONS = {
  wait: { type: "string" },
  timeout: { type: "string" },
} as const satisfies OptionSpec;

export const DEFAULT_STATE_ROOT = "/var/lib/warren";

export interface SplitArgs {
  /** Option values by name. */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** The leading positionals (at most `positionals` of them). */
  positionals: string[];
  /** Everything from the first extra positional (or after `--`) on: the command to run. */
  command: string[];
}

/**
 * Parses `argv` with `options`, taking `positionals` positionals (e.g. the
 * container name); the first positional beyond those, or whatever follows
 * `--`, starts the command, and its own flags are left alone
 * (`warren exec web ls -l` and `warren exec web -- ls -l` are the same).
 */
export function splitArgs(argv: readonly string[], options: OptionSpec, positionals: number, command: string): SplitArgs {
  const own: string[] = [];
  const pos: string[] = [];
  let rest: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest = argv.slice(i + 1);
      while (pos.length < positionals && rest.length > 0) pos.push(rest.shift()!);
      break;
    }
    if (a.startsWith("--")) {
      own.push(a);
      const name = a.slice(2);
      if (!name.includes("=") && options[name]?.type === "string" && i + 1 < argv.length) own.push(argv[++i]!);
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      own.push(a);
      // A group like `-te`: a string option takes the rest of the group, or the next argument.
      for (let j = 1; j < a.length; j++) {
        const name = byShort.get(a[j]!);
        if (name === undefined) break; // parseArgs reports it
        if (options[name]!.type === "string") {
          if (j === a.length - 1 && i + 1 < argv.length) own.push(argv[++i]!);
          break;
        }
      }
      continue;
    }
    if (pos.length < positionals) {
      pos.push(a);
      continue;
    }
    rest = argv.slice(i);
    break;
  }

  let parsed;
  try {
    parsed = parseArgs({ args: own, options, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError(parseArgsMessage(e), command);
  }
  return { values: parsed.values as SplitArgs["values"], positionals: pos, command: rest };
}

/** parseArgs' messages carry advice for `node` itself; keep the first sentence. */
function parseArgsMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const unknown = /^Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '(?:-\w, )?(--[^' ]+)(?: <value>)?' argument missing/.exec(msg);
  if (missing) return `option ${missing[1]} needs a value`;
  const ambiguous = /^Option '([^']+)' argument is ambiguous[\s\S]*use '(--[^=']+)=/.exec(msg);
  if (ambiguous) return `option ${ambiguous[1]} needs a value (one starting with \`-\` is written ${ambiguous[2]}=VALUE)`;
  return msg.split(". ")[0]!.replace(/\.$/, "");
}

/** `--root`, then `$WARREN_ROOT`, then `/var/lib/warren`; made absolute. */
export function stateRoot(values: SplitArgs["values"], env: NodeJS.ProcessEnv = process.env): string {
  const r = (values.root as string | undefined) ?? (env.WARREN_ROOT || DEFAULT_STATE_ROOT);
  if (r === "") throw new UsageError("--root: must not be empty");
  return resolve(r);
}

/** `KEY=VALUE` strings to a record; `flag` names the flag in errors. */
export function parseEnv(list: readonly string[] | undefined, flag = "-e/--env"): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag}: expected KEY=VALUE, got ${JSON.stringify(kv)}`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

const ID = /^\d+$/;
const MAX_ID = 0xfffffffe;

/** `UID` or `UID:GID` (numeric); the gid defaults to the uid. */
export function parseUser(s: string, flag = "-u/--user"): { uid: number; gid: number } {
  const m = /^([^:]*)(?::([^:]*))?$/.exec(s);
  const uidS = m?.[1] ?? "";
  const gidS = m?.[2] ?? uidS;
  if (!m || !ID.test(uidS) || !ID.test(gidS)) {
    throw new UsageError(`${flag}: expected UID or UID:GID (numbers), got ${JSON.stringify(s)}`);
  }
  const uid = Number(uidS);
  const gid = Number(gidS);
  if (uid > MAX_ID || gid > MAX_ID) throw new UsageError(`${flag}: id out of range in ${JSON.stringify(s)}`);
  return { uid, gid };
}

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

/**
 * `exec --user`: a user NAME (looked up in the container's /etc/passwd by
 * the library), or `UID[:GID]` (numeric).
 */
export function parseExecUser(s: string, flag = "-u/--user"): string | { uid: number; gid: number } {
  if (USER_NAME.test(s)) return s;
  if (/^\d/.test(s)) return parseUser(s, flag);
  throw new UsageError(`${flag}: expected a user NAME, UID or UID:GID, got ${JSON.stringify(s)}`);
}

/** What `--wait` and `--timeout` ask of a start. */
export function parseWait(values: SplitArgs["values"]): { wait?: "started" | "ready"; readyTimeout?: number } {
  const wait = values.wait as string | undefined;
  if (wait !== undefined && wait !== "ready" && wait !== "started") {
    throw new UsageError(`--wait: expected ready or started, got ${JSON.stringify(wait)}`);
  }
  const timeout = parseCount(values.timeout as string | undefined, "--timeout");
  if (timeout !== undefined && wait !== "ready") throw new UsageError("--timeout needs --wait ready");
  if (timeout === 0) throw new UsageError("--timeout: must be at least 1 ms");
  return { ...(wait !== undefined ? { wait } : {}), ...(timeout !== undefined ? { readyTimeout: timeout } : {}) };
}

/** What the limit flags ask for. */
export interface LimitFlags {
  /** Only the sections a flag was given for; undefined when none was. */
  limits: Limits | undefined;
  /** `--best-effort`. */
  bestEffort: boolean;
  /** `--device` rules, in order. */
  deviceRules: string[];
}

/** A size (`256MiB`, `1GB`, `50%`, bytes) or `max`, checked but kept as written. */
export function parseSize(s: string | undefined, flag: string): string | undefined {
  if (s === undefined) return undefined;
  if (s === "max" || (/^\d/.test(s) && (parseBytes(s) !== undefined || parsePercent(s) !== undefined))) return s;
  throw new UsageError(`${flag}: expected a size like 256MiB, 1GB, 64M, 50% or max, got ${JSON.stringify(s)}`);
}

/** A positive decimal number of CPUs (`0.5`, `2`), or `max`. */
export function parseCpus(s: string | undefined, flag = "--cpus"): number | "max" | undefined {
  if (s === undefined) return undefined;
  if (s === "max") return "max";
  if (!/^(\d+(\.\d+)?|\.\d+)$/.test(s) || !(Number(s) > 0)) {
    throw new UsageError(`${flag}: expected a positive number of CPUs like 0.5 or 2 (or max), got ${JSON.stringify(s)}`);
  }
  return Number(s);
}

/** An integer in `[min, max]`, or also `"max"` when `allowMax`. */
export function parseIntIn(s: string | undefined, flag: string, min: number, max: number, allowMax = false): number | "max" | undefined {
  if (s === undefined) return undefined;
  if (allowMax && s === "max") return "max";
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`${flag}: expected ${range}${allowMax ? " or max" : ""}, got ${JSON.stringify(s)}`);
  }
  return n;
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** The limits, `--best-effort` and `--device` rules the limit flags describe. */
export function limitsFromFlags(values: SplitArgs["values"]): LimitFlags {
  const str = (k: keyof typeof LIMIT_OPTIONS) => values[k] as string | undefined;
  const limits: Limits = {};

  const memory = {
    ...defined("max", parseSize(str("memory"), "--memory")),
    ...defined("high", parseSize(str("memory-high"), "--memory-high")),
    ...defined("swapMax", parseSize(str("memory-swap"), "--memory-swap")),
  };
  if (Object.keys(memory).length) limits.memory = memory;

  const cpuset = str("cpuset-cpus");
  if (cpuset !== undefined && !CPU_LIST.test(cpuset)) {
    throw new UsageError(`--cpuset-cpus: expected a CPU list like 0-1,3, got ${JSON.stringify(cpuset)}`);
  }
  const cpu = {
    ...defined("max", parseCpus(str("cpus"))),
    ...defined("weight", parseIntIn(str("cpu-weight"), "--cpu-weight", 1, 10000) as number | undefined),
    ...defined("cpus", cpuset),
  };
  if (Object.keys(cpu).length) limits.cpu = cpu;

  const pids = parseIntIn(str("pids"), "--pids", 1, Number.MAX_SAFE_INTEGER, true);
  if (pids !== undefined) limits.pids = { max: pids };

  const ioWeight = parseIntIn(str("io-weight"), "--io-weight", 1, 10000) as number | undefined;
  if (ioWeight !== undefined) limits.io = { weight: ioWeight };

  const deviceRules = ((values.device as string[] | undefined) ?? []).map((r) => {
    try {
      parseDeviceRule(r);
    } catch (e) {
      const why = e instanceof ConfigError ? e.issues.map((i) => i.message).join("; ") : e instanceof Error ? e.message : String(e);
      throw new UsageError(`--device: ${why}`);
    }
    return r;
  });

  return { limits: Object.keys(limits).length ? limits : undefined, bestEffort: values["best-effort"] === true, deviceRules };
}

/** `{[key]: value}`, or `{}` when value is undefined (for exactOptionalPropertyTypes). */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** A non-negative integer flag value (milliseconds and the like). */
export function parseCount(s: string | undefined, flag: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s)) throw new UsageError(`${flag}: expected a non-negative integer, got ${JSON.stringify(s)}`);
  return Number(s);
}

/** Refuses a positional argument or a `--` command for a command that takes none. */
export function noArguments(command: string, parsed: SplitArgs): void {
  const extra = parsed.positionals[0] ?? parsed.command[0];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, command);
}
