/**
 * The life-cycle commands of the `warren` CLI that act on a container by
 * name (`start`, `stop`, `kill`, `destroy`) and the read-only ones (`list`,
 * `info`).
 * @module
 */
import { Container, detectCgroupHost } from "../index.js";
import { COMMON_OPTIONS, parseCount, splitArgs, stateRoot, UsageError, type OptionSpec, type SplitArgs } from "./args.js";
import type { Io } from "./io.js";
import { USAGE } from "./usage.js";

/** Parses a command that takes exactly one container name; `undefined` after printing help. */
function named(command: string, argv: string[], options: OptionSpec, io: Io): (SplitArgs & { name: string; root: string }) | undefined {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, ...options }, 1, command);
  if (parsed.values.help) {
    io.out(USAGE[command]!);
    return undefined;
  }
  const name = parsed.positionals[0];
  if (name === undefined) throw new UsageError("missing container name", command);
  if (parsed.command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.command[0])}`, command);
  return { ...parsed, name, root: stateRoot(parsed.values) };
}

function noArguments(command: string, parsed: SplitArgs): void {
  const extra = parsed.positionals[0] ?? parsed.command[0];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, command);
}

export async function startCommand(argv: string[], io: Io): Promise<number> {
  const a = named("start", argv, {}, io);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  await c.start({ stdio: "ignore" });
  c.unref(); // it outlives this process
  io.out(c.name);
  return 0;
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
  await c.destroy({ force: a.values.force === true });
  io.out(c.name);
  return 0;
}

/** What `list` shows of a container. */
export interface ListEntry {
  name: string;
  state: string;
  pid: number | null;
  rootfs: { path: string; mode: string } | null;
  exit: { code: number | null; signal: string | null } | null;
}

function rootfsText(r: ListEntry["rootfs"]): string {
  if (!r) return "(host /usr)";
  return r.mode === "rw" ? r.path : `${r.path} (${r.mode})`;
}

/** A plain table: columns padded to their widest cell, two spaces apart. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

export async function listCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, json: { type: "boolean" } }, 0, "list");
  if (parsed.values.help) {
    io.out(USAGE.list!);
    return 0;
  }
  noArguments("list", parsed);
  const containers = await Container.list({ root: stateRoot(parsed.values) });
  const entries: ListEntry[] = containers.map((c) => {
    c.unref();
    const r = c.config.rootfs;
    return {
      name: c.name,
      state: c.state,
      pid: c.pid ?? null,
      rootfs: r ? { path: r.path, mode: r.mode } : null,
      exit: c.lastExit,
    };
  });
  if (parsed.values.json) {
    io.out(JSON.stringify(entries, null, 2));
    return 0;
  }
  const rows = [["NAME", "STATE", "PID", "ROOTFS"]];
  for (const e of entries) {
    const state = e.state === "stopped" && e.exit ? `stopped (${e.exit.signal ?? `exit ${e.exit.code}`})` : e.state;
    rows.push([e.name, state, e.pid === null ? "-" : String(e.pid), rootfsText(e.rootfs)]);
  }
  io.out(formatTable(rows));
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
  const host = detectCgroupHost();
  if (parsed.values.json) {
    io.out(JSON.stringify({ version, root, cgroup: host }, null, 2));
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
    ]),
  );
  return 0;
}
