/**
 * Command-line parsing for the `warren` CLI: splitting a command's own
 * options from the command it runs, and turning config flags into a
 * ContainerConfig. Pure (no file system, no kernel) so it can be unit tested.
 * @module
 */
import { isIP } from "node:net";
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

import { parseBytes, parsePercent } from "../cgroup/units.js";
import { parseDeviceRule } from "../cgroup/devices.js";
import { ConfigError, type ContainerConfig, type Limits, type MountConfig } from "../index.js";
import { nicSchema, type NicInput } from "../config/nic.js";

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
  volume: { type: "string", short: "v", multiple: true },
  ready: { type: "string" },
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

/** A readiness probe as `config.ready` takes it. */
export type ReadyInput = NonNullable<ContainerConfig["ready"]>;

/**
 * `--ready SPEC`: `notify` (systemd's READY=1), `file:PATH` (a file exists
 * in the container), `tcp:PORT` (the container's first address accepts
 * connections), `exec:CMD [ARGS...]` (a command in the container exits 0;
 * split on spaces).
 */
export function parseReady(s: string, flag = "--ready"): ReadyInput {
  const bad = () => new UsageError(`${flag}: expected notify, file:PATH, tcp:PORT or exec:CMD, got ${JSON.stringify(s)}`);
  if (s === "notify") return { notify: true };
  const colon = s.indexOf(":");
  if (colon < 0) throw bad();
  const kind = s.slice(0, colon);
  const arg = s.slice(colon + 1);
  if (kind === "file") {
    if (!arg.startsWith("/")) throw new UsageError(`${flag}: file:PATH needs an absolute path, got ${JSON.stringify(s)}`);
    return { file: arg };
  }
  if (kind === "tcp") {
    const port = Number(arg);
    if (!/^\d+$/.test(arg) || port < 1 || port > 65535) throw new UsageError(`${flag}: tcp:PORT needs a port from 1 to 65535, got ${JSON.stringify(s)}`);
    return { tcp: port };
  }
  if (kind === "exec") {
    const argv = arg.split(" ").filter(Boolean);
    if (argv.length === 0) throw new UsageError(`${flag}: exec:CMD needs a command, got ${JSON.stringify(s)}`);
    return { exec: argv };
  }
  throw bad();
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

/**
 * `HOST:CONTAINER[:OPTIONS]` to a bind mount, OPTIONS a comma list of `ro`,
 * `rw` and `idmap`; a relative host path is taken from `cwd`.
 */
export function parseVolume(s: string, cwd = process.cwd()): MountConfig {
  const parts = s.split(":");
  const [source, target, options] = parts;
  const opts = options === undefined ? [] : options.split(",");
  if (parts.length < 2 || parts.length > 3 || !source || !target || opts.some((o) => !["ro", "rw", "idmap"].includes(o))) {
    throw new UsageError(`-v/--volume: expected HOST:CONTAINER or HOST:CONTAINER:ro (options ro, rw, idmap), got ${JSON.stringify(s)}`);
  }
  if (!target.startsWith("/")) throw new UsageError(`-v/--volume: the container path must be absolute, got ${JSON.stringify(target)}`);
  return {
    type: "bind",
    source: resolve(cwd, source),
    target,
    readonly: opts.includes("ro"),
    recursive: true,
    optional: false,
    idmap: opts.includes("idmap"),
  };
}

/** The ContainerConfig described by the config flags (without `init` and `ephemeral`). */
export function configFromFlags(values: SplitArgs["values"], cwd = process.cwd()): ContainerConfig {
  const config: ContainerConfig = {};
  const rootfs = values.rootfs as string | undefined;
  const ro = values.ro === true;
  const overlay = values.overlay === true;
  const image = values.image as string | undefined;
  if (image !== undefined && rootfs !== undefined) throw new UsageError("--image and --rootfs cannot be used together");
  if (ro && overlay) throw new UsageError("--ro and --overlay cannot be used together");
  if ((ro || overlay) && rootfs === undefined) throw new UsageError(`--${ro ? "ro" : "overlay"} needs --rootfs DIR`);
  if (rootfs !== undefined) {
    if (rootfs === "") throw new UsageError("--rootfs: must not be empty");
    const path = resolve(cwd, rootfs);
    // An overlay's lower layer is idmapped when the container has a user
    // namespace: otherwise the host's root-owned files could not be changed.
    config.rootfs = ro ? { path, mode: "ro" } : overlay ? { path, mode: "overlay", idmap: values["no-userns"] !== true } : path;
  }
  if (image !== undefined) {
    if (image === "") throw new UsageError("--image: must not be empty");
    config.image = image;
  }
  const env = values.env as string[] | undefined;
  if (env?.length) config.env = parseEnv(env);
  if (values.cwd !== undefined) config.cwd = values.cwd as string;
  if (values.user !== undefined) config.user = { ...parseUser(values.user as string), groups: [] };
  if (values.hostname !== undefined) config.hostname = values.hostname as string;
  if (values.ready !== undefined) config.ready = parseReady(values.ready as string);
  if (values.console && values["no-console"]) throw new UsageError("--console and --no-console cannot be used together");
  if (values.console) config.console = true;
  if (values["no-console"]) config.console = false;
  if (values["no-userns"] || values["share-net"]) {
    config.namespaces = {
      ...(values["no-userns"] ? { user: false } : {}),
      ...(values["share-net"] ? { net: false } : {}),
    };
  }
  const volumes = values.volume as string[] | undefined;
  if (volumes?.length) config.mounts = volumes.map((v) => parseVolume(v, cwd));
  const network = networkFromFlags(values);
  if (network.nics.length) config.nics = network.nics;
  if (network.ports.length) config.ports = network.ports;
  if (network.dns.length) config.dns = network.dns;
  const { limits, bestEffort, deviceRules } = limitsFromFlags(values);
  if (limits) config.limits = limits;
  if (bestEffort) config.bestEffortLimits = true;
  if (deviceRules.length) {
    if (!values["no-userns"]) {
      throw new UsageError("--device needs --no-userns (a container with a user namespace only sees the devices bound into it)");
    }
    config.deviceRules = deviceRules;
  }
  return config;
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

/** A port forward as `config.ports` takes it. */
export type PortInput = NonNullable<ContainerConfig["ports"]>[number];

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV4_OR_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/([12]?\d|3[0-2]))?$/;

/** The keys each NIC type takes in a `--nic` SPEC, in the order the help lists them. */
const NIC_KEYS = {
  bridged: ["name", "bridge", "ipv4", "subnet", "subnet6", "gateway", "mac", "mtu"],
  macvlan: ["parent", "name", "ipv4", "gateway", "mac", "mtu"],
  physical: ["parent", "name", "ipv4", "gateway", "mtu"],
} as const;

type NicType = keyof typeof NIC_KEYS;

/**
 * A NIC SPEC: `TYPE[,KEY=VALUE]...`, like `bridged,name=eth1,mtu=1400` or
 * `macvlan,parent=enp1s0,ipv4=192.168.5.20/24`. `flag` names the flag (or
 * command) in errors.
 */
export function parseNic(spec: string, flag = "--nic"): NicInput {
  const q = JSON.stringify(spec);
  const [type, ...parts] = spec.split(",");
  if (!type || !Object.hasOwn(NIC_KEYS, type)) {
    throw new UsageError(`${flag}: unknown NIC type ${JSON.stringify(type ?? "")} in ${q} (expected bridged, macvlan or physical)`);
  }
  const keys: readonly string[] = NIC_KEYS[type as NicType];
  const nic: Record<string, string | number> = { type };
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag}: expected KEY=VALUE, got ${JSON.stringify(part)} in ${q}`);
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!keys.includes(key)) {
      throw new UsageError(`${flag}: unknown key ${JSON.stringify(key)} in ${q}`);
    }
    if (Object.hasOwn(nic, key)) throw new UsageError(`${flag}: ${key} given twice in ${q}`);
    if (value === "") throw new UsageError(`${flag}: ${key} needs a value in ${q}`);
    if (key === "mtu") {
      if (!/^\d+$/.test(value) || Number(value) < 576 || Number(value) > 65535) {
        throw new UsageError(`${flag}: mtu=${JSON.stringify(value)}: expected a number from 576 to 65535 in ${q}`);
      }
      nic[key] = Number(value);
    } else if (key === "ipv4" && type === "bridged" && !IPV4_OR_CIDR.test(value)) {
      throw new UsageError(`${flag}: ipv4=${JSON.stringify(value)}: must be an IPv4 address, or ADDRESS/PREFIX on a bridge of your own, in ${q}`);
    } else {
      nic[key] = value;
    }
  }
  if (type !== "bridged" && nic.parent === undefined) {
    throw new UsageError(`${flag}: ${type} needs parent=IF (the host interface) in ${q}`);
  }
  // The library's own checks (interface names, MAC, addresses, MTU range),
  // reported against the key that failed.
  const parsed = nicSchema.safeParse(nic);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join(".");
    throw new UsageError(`${flag}: ${key ? `${key}=${JSON.stringify(String(nic[key] ?? ""))}: ` : ""}${issue.message} in ${q}`);
  }
  return nic as NicInput;
}

const PUBLISH = "-p/--publish";

function parsePort(s: string, what: string, q: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) {
    throw new UsageError(`${PUBLISH}: bad ${what} port ${JSON.stringify(s)} in ${q} (expected 1-65535)`);
  }
  return n;
}

/**
 * `[HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp]` (like docker's `-p`), to a
 * port forward: `127.0.0.1:8080:80` forwards the host's 127.0.0.1:8080,
 * `8080:80/udp` UDP port 8080 on every host address.
 */
export function parsePublish(s: string): PortInput {
  const q = JSON.stringify(s);
  let rest = s;
  let proto: "tcp" | "udp" = "tcp";
  const slash = s.lastIndexOf("/");
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (p !== "tcp" && p !== "udp") throw new UsageError(`${PUBLISH}: unknown protocol ${JSON.stringify(p)} in ${q} (expected tcp or udp)`);
    proto = p;
    rest = s.slice(0, slash);
  }
  const parts = rest.split(":");
  if (parts.length < 2 || parts.length > 3) {
    throw new UsageError(`${PUBLISH}: expected [HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp], got ${q}`);
  }
  const [addr, hostPort, containerPort] = parts.length === 3 ? parts : [undefined, ...parts];
  if (addr !== undefined && !IPV4.test(addr)) {
    throw new UsageError(`${PUBLISH}: bad host address ${JSON.stringify(addr)} in ${q} (expected an IPv4 address like 127.0.0.1)`);
  }
  const hp = parsePort(hostPort!, "host", q);
  const cp = parsePort(containerPort!, "container", q);
  return { host: addr === undefined ? String(hp) : `${addr}:${hp}`, container: cp, proto };
}

/** `--dns IP`: an IPv4 or IPv6 address. */
export function parseDns(s: string): string {
  if (isIP(s) === 0) throw new UsageError(`--dns: expected an IP address, got ${JSON.stringify(s)}`);
  return s;
}

/** What the network flags ask for. */
export interface NetworkFlags {
  nics: NicInput[];
  ports: PortInput[];
  dns: string[];
}

function nicNameOf(nic: NicInput): string {
  return nic.name ?? (nic.type === "physical" ? nic.parent : "eth0");
}

/**
 * `--net bridged` (one default bridged NIC, first), `--nic SPEC`...,
 * `-p`... and `--dns`... Publishing a port without a bridged NIC adds a
 * default bridged one (named eth0, or the first free ethN).
 */
export function networkFromFlags(values: SplitArgs["values"]): NetworkFlags {
  const nics: NicInput[] = [];
  const net = values.net as string | undefined;
  if (net !== undefined) {
    if (net !== "bridged") {
      throw new UsageError(
        `--net: expected bridged, got ${JSON.stringify(net)} (other NICs are --nic SPEC; the host's network is --share-net)`,
      );
    }
    nics.push({ type: "bridged" });
  }
  for (const spec of (values.nic as string[] | undefined) ?? []) nics.push(parseNic(spec));
  const ports = ((values.publish as string[] | undefined) ?? []).map(parsePublish);
  const dns = ((values.dns as string[] | undefined) ?? []).map(parseDns);

  if (ports.length > 0 && !nics.some((n) => n.type === "bridged")) {
    const taken = new Set(nics.map(nicNameOf));
    let i = 0;
    while (taken.has(`eth${i}`)) i++;
    nics.push(i === 0 ? { type: "bridged" } : { type: "bridged", name: `eth${i}` });
  }
  const seen = new Set<string>();
  for (const n of nics) {
    const name = nicNameOf(n);
    if (seen.has(name)) {
      throw new UsageError(`--nic: interface name ${name} used twice${net !== undefined ? " (--net bridged is eth0)" : ""}; give one a name=`);
    }
    seen.add(name);
  }
  const seenPorts = new Set<string>();
  for (const p of ports) {
    const key = `${p.host}/${p.proto}`;
    if (seenPorts.has(key)) throw new UsageError(`${PUBLISH}: host port ${key} published twice`);
    seenPorts.add(key);
  }
  if (values["share-net"] && (nics.length > 0 || ports.length > 0)) {
    const what = ports.length > 0 ? PUBLISH : net !== undefined ? "--net" : "--nic";
    throw new UsageError(`${what} needs the container's own network: it cannot be used with --share-net`);
  }
  return { nics, ports, dns };
}
