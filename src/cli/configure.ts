/**
 * `warren config show|set`: a container's recorded config (as YAML or
 * JSON, or the effective config a start uses with `--expanded`), and
 * changing it: limits live (Container.setLimits), a few keys a start reads
 * afresh while stopped (Container.setConfig). `show` only reads: it loads
 * no zod (docs/cli.md, "Start-up time").
 * @module
 */
import type { Limits } from "../cgroup/limits.js";
import type { ConfigPatch } from "../container/configure.js";
import { Container } from "../container/container.js";
import { COMMON_OPTIONS, limitsFromFlags, parseCount, parseUser, splitArgs, stateRoot, UsageError, type SplitArgs } from "./args.js";
import { printWarnings, type Io } from "./io.js";
import { named, subcommand } from "./named.js";
import { USAGE } from "./usage.js";
import { toYaml } from "./yaml.js";

/** Live keys: each is the limit flag of `warren set` it stands for. */
export const LIMIT_KEYS: Record<string, string> = {
  "limits.memory.max": "memory",
  "limits.memory.high": "memory-high",
  "limits.memory.swapMax": "memory-swap",
  "limits.cpu.max": "cpus",
  "limits.cpu.weight": "cpu-weight",
  "limits.cpu.cpus": "cpuset-cpus",
  "limits.pids.max": "pids",
  "limits.io.weight": "io-weight",
};

/** Stopped-only keys; an empty value goes back to the default. `env.NAME` sets one variable. */
const STOPPED_KEYS: Record<string, (v: string) => ConfigPatch[keyof ConfigPatch]> = {
  hostname: (v) => v || undefined,
  domainname: (v) => v || undefined,
  cwd: (v) => v || undefined,
  haltSignal: (v) => v || undefined,
  onReboot: (v) => (v || undefined) as ConfigPatch["onReboot"],
  restart: (v) => (v || undefined) as ConfigPatch["restart"],
  stopTimeout: (v) => (v ? parseCount(v, "stopTimeout") : undefined),
  user: (v) => (v ? parseUser(v, "user") : undefined),
};

/** What `KEY=VALUE...` asks for: the limits (live) and the config patch (stopped only). */
export function parseSettings(pairs: readonly string[], env: Record<string, string>): { limits: Limits | undefined; patch: ConfigPatch } {
  const flags: SplitArgs["values"] = {};
  const patch: Record<string, unknown> = {};
  let newEnv: Record<string, string> | undefined;
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`expected KEY=VALUE, got ${JSON.stringify(pair)}`, "config");
    const [key, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
    if (Object.hasOwn(LIMIT_KEYS, key)) flags[LIMIT_KEYS[key]!] = value;
    else if (Object.hasOwn(STOPPED_KEYS, key)) patch[key] = STOPPED_KEYS[key]!(value);
    else if (key.startsWith("env.") && key.length > 4) (newEnv ??= { ...env })[key.slice(4)] = value;
    else throw new UsageError(`unknown key ${JSON.stringify(key)} (see 'warren config --help' for the keys)`, "config");
  }
  if (newEnv) patch.env = newEnv;
  let limits: Limits | undefined;
  try {
    limits = limitsFromFlags(flags).limits;
  } catch (e) {
    // The message names the flag (`--memory: ...`); here the key was given.
    const key = Object.keys(LIMIT_KEYS).find((k) => e instanceof Error && e.message.startsWith(`--${LIMIT_KEYS[k]}:`));
    if (key && e instanceof Error) throw new UsageError(`${key}${e.message.slice(LIMIT_KEYS[key]!.length + 2)}`, "config");
    throw e;
  }
  return { limits, patch: patch as ConfigPatch };
}

async function show(argv: string[], io: Io): Promise<number> {
  const a = named("config", argv, { json: { type: "boolean" }, expanded: { type: "boolean" } }, io);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  const config = a.values.expanded ? c.effectiveConfig() : c.config;
  io.out(a.values.json ? JSON.stringify(config, null, 2) : toYaml(config));
  return 0;
}

async function set(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, "best-effort": { type: "boolean" } }, Number.POSITIVE_INFINITY, "config");
  if (parsed.values.help) {
    io.out(USAGE.config!);
    return 0;
  }
  const [name, ...pairs] = parsed.positionals;
  if (name === undefined) throw new UsageError("missing container name", "config");
  if (pairs.length === 0) throw new UsageError("missing KEY=VALUE", "config");
  const c = await Container.get(name, { root: stateRoot(parsed.values) });
  c.unref();
  const { limits, patch } = parseSettings(pairs, c.config.env);
  // The stopped-only keys first: refused on a running container before any limit changes.
  if (Object.keys(patch).length) await c.setConfig(patch);
  if (limits) printWarnings(io, await c.setLimits(limits, parsed.values["best-effort"] ? { bestEffort: true } : undefined));
  return 0;
}

export async function configCommand(argv: string[], io: Io): Promise<number> {
  const s = subcommand("config", argv, ["show", "set"] as const, io);
  if (!s) return 0;
  return s.sub === "show" ? show(s.rest, io) : set(s.rest, io);
}
