/**
 * The life-cycle commands of the `warren` CLI that act on a container by
 * name (`start`, `stop`, `kill`, `destroy`, `freeze`, `unfreeze`, `set`) and
 * the read-only ones (`list`, `stats`, `info`).
 * @module
 */
import { MANAGED_CONTROLLERS, unavailableReason } from "../cgroup/apply.js";
import { formatBytes } from "../cgroup/units.js";
import type { ContainerStats } from "../cgroup/stats.js";
import { Container } from "../container/container.js";
import { purgesDone } from "../container/trash.js";
import { StateError } from "../errors.js";
import { host as hostInfo } from "../host.js";
import {
  COMMON_OPTIONS,
  LIMIT_OPTIONS,
  limitsFromFlags,
  noArguments,
  parseCount,
  parseWait,
  splitArgs,
  stateRoot,
  UsageError,
  WAIT_OPTIONS,
} from "./args.js";
import { errorText, EXIT_FAILURE } from "./exit.js";
import { formatTable, printWarnings, type Io } from "./io.js";
import { named } from "./named.js";
import { USAGE } from "./usage.js";

export async function startCommand(argv: string[], io: Io): Promise<number> {
  const a = named("start", argv, WAIT_OPTIONS, io);
  if (!a) return 0;
  const wait = parseWait(a.values);
  const c = await Container.get(a.name, { root: a.root });
  // No `stdio`: the init's stdio is /dev/null either way, and an explicit
  // one would replace the container's console (config `console`).
  try {
    await c.start(wait);
  } finally {
    c.unref(); // it outlives this process (also when it was not ready in time: ReadyTimeoutError leaves it running)
  }
  printWarnings(io, c.warnings);
  io.out(c.name);
  return 0;
}

async function freezeOrThaw(command: "freeze" | "unfreeze", argv: string[], io: Io): Promise<number> {
  const a = named(command, argv, {}, io);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  if (command === "freeze") await c.freeze();
  else await c.unfreeze();
  io.out(c.name);
  return 0;
}

export function freezeCommand(argv: string[], io: Io): Promise<number> {
  return freezeOrThaw("freeze", argv, io);
}

export function unfreezeCommand(argv: string[], io: Io): Promise<number> {
  return freezeOrThaw("unfreeze", argv, io);
}

export async function setCommand(argv: string[], io: Io): Promise<number> {
  const a = named("set", argv, LIMIT_OPTIONS, io);
  if (!a) return 0;
  const { limits, bestEffort, deviceRules } = limitsFromFlags(a.values);
  if (!limits && deviceRules.length === 0) throw new UsageError("no limit flag given", "set");
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  if (limits) printWarnings(io, await c.setLimits(limits, bestEffort ? { bestEffort: true } : undefined));
  if (deviceRules.length) await c.setDeviceRules(deviceRules);
  io.out(c.name);
  return 0;
}

/** CPU time as seconds: `12.34s`. */
function cpuText(usec: number): string {
  return `${(usec / 1e6).toFixed(2)}s`;
}

/** One `stats` table row. */
export function statsRow(name: string, s: ContainerStats): string[] {
  const psi = s.pressure.cpu?.some.avg10;
  return [
    name,
    cpuText(s.cpu.usageUsec),
    s.memory ? formatBytes(s.memory.current) : "-",
    s.pids ? String(s.pids.current) : "-",
    psi === undefined ? "-" : `${psi.toFixed(2)}%`,
  ];
}

export async function statsCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, json: { type: "boolean" } }, Number.POSITIVE_INFINITY, "stats");
  if (parsed.values.help) {
    io.out(USAGE.stats!);
    return 0;
  }
  const names = parsed.positionals;
  if (names.length === 0) throw new UsageError("missing container name", "stats");
  const root = stateRoot(parsed.values);
  const stats: Record<string, ContainerStats> = {};
  let failed = false;
  for (const name of names) {
    try {
      const c = await Container.get(name, { root });
      c.unref();
      stats[name] = await c.stats();
    } catch (e) {
      // The others are still shown; the exit status tells.
      io.err(errorText(e));
      failed = true;
    }
  }
  if (parsed.values.json) io.out(JSON.stringify(stats, null, 2));
  else if (Object.keys(stats).length > 0) {
    io.out(formatTable([["NAME", "CPU", "MEM", "PIDS", "PSI"], ...Object.entries(stats).map(([n, s]) => statsRow(n, s))]));
  }
  return failed ? EXIT_FAILURE : 0;
}

export async function stopCommand(argv: string[], io: Io): Promise<number> {
  const a = named("stop", argv, { timeout: { type: "string", short: "t" }, signal: { type: "string", short: "s" } }, io);
  if (!a) return 0;
  const timeout = parseCount(a.values.timeout as string | undefined, "--timeout");
  const c = await Container.get(a.name, { root: a.root });
  await c.stop({
    ...(timeout !== undefined ? { timeout } : {}),
    ...(a.values.signal !== undefined ? { signal: a.values.signal as string } : {}),
  });
  io.out(c.name);
  return 0;
}

export async function killCommand(argv: string[], io: Io): Promise<number> {
  const a = named("kill", argv, { signal: { type: "string", short: "s" } }, io);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  await c.kill((a.values.signal as string | undefined) ?? "SIGKILL");
  io.out(c.name);
  return 0;
}

export async function destroyCommand(argv: string[], io: Io): Promise<number> {
  const a = named("destroy", argv, { force: { type: "boolean", short: "f" } }, io);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  try {
    await c.destroy({ force: a.values.force === true });
  } catch (e) {
    // The library's message names its option ({force: true}); here it is a flag.
    if (e instanceof StateError && e.op === "destroy" && e.state === "running") {
      throw new StateError(`container "${c.name}" is running; stop it first, or destroy it with -f (\`warren destroy -f ${c.name}\`)`, "destroy", "running", { container: c.name });
    }
    throw e;
  }
  io.out(c.name);
  // The process exits right after: its files go first (the name is free already).
  await purgesDone();
  return 0;
}

/** `warren restart`: stop (graceful, then kill), then start again in the background. */
export async function restartCommand(argv: string[], io: Io): Promise<number> {
  const a = named("restart", argv, { ...WAIT_OPTIONS, "stop-timeout": { type: "string" } }, io);
  if (!a) return 0;
  const timeout = parseCount(a.values["stop-timeout"] as string | undefined, "--stop-timeout");
  const wait = parseWait(a.values);
  const c = await Container.get(a.name, { root: a.root });
  await c.stop(timeout !== undefined ? { timeout } : {});
  try {
    await c.start(wait);
  } finally {
    c.unref();
  }
  printWarnings(io, c.warnings);
  io.out(c.name);
  return 0;
}

export async function infoCommand(argv: string[], io: Io, version: string): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, json: { type: "boolean" } }, 0, "info");
  if (parsed.values.help) {
    io.out(USAGE.info!);
    return 0;
  }
  noArguments("info", parsed);
  const root = stateRoot(parsed.values);
  const info = hostInfo();
  const host = info.cgroup;
  const controllers: Record<string, { usable: boolean; reason?: string }> = {};
  for (const name of MANAGED_CONTROLLERS) {
    const reason = unavailableReason(name, host);
    controllers[name] = reason === undefined ? { usable: true } : { usable: false, reason };
  }
  if (parsed.values.json) {
    io.out(JSON.stringify({ version, root, ...info, controllers }, null, 2));
    return 0;
  }
  const list = (l: string[]) => (l.length ? l.join(" ") : "(none)");
  io.out(
    formatTable([
      ["warren:", version],
      ["state directory:", root],
      ["cgroup2 mount:", host.mount],
      ["cgroup layout:", host.pureV2 ? "pure cgroup v2 (unified)" : "hybrid (cgroup v1 hierarchies mounted too)"],
      ["controllers available:", list(host.controllers)],
      ["controllers bound to v1:", list(host.v1Controllers)],
      ["nsdelegate:", host.delegation.nsdelegate ? "yes" : "no"],
      ["delegated files:", list(host.delegation.files)],
      ...Object.entries(controllers).map(([name, c]) => [`controller ${name}:`, c.usable ? "usable" : `not usable: ${c.reason}`]),
    ]),
  );
  return 0;
}
