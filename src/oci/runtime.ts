/**
 * The runc contract's life cycle on warren containers: create (set up,
 * held before the program: container/hold.ts), start (release), state,
 * kill, delete, pause, resume, ps, update, list and events. Each command
 * is one process; what it needs to know it reads from the disk and the
 * kernel (see state.ts).
 *
 * Status, as runc reports it: "created" while the init is alive and held,
 * "running" once released, "paused" while frozen, "stopped" once the init
 * is gone.
 * @module
 */
import { closeSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { dirname, join, resolve } from "node:path";

import { Container } from "../container/container.js";
import { NotFoundError } from "../errors.js";
import { native } from "../native/binding.js";
import { ociResourcesToLimits, ociToWarren } from "./config.js";
import { containerExecutor, parseHooks, runHooks, type OciHooks } from "./hooks.js";
import { cgroupParentOf, checkId, listRecords, OciError, readRecord, removeRecord, warrenName, writeRecord, type OciRecord } from "./state.js";

/** The global flags every command gets. */
export interface Globals {
  root: string;
  log?: (level: "error" | "warning" | "info" | "debug", msg: string) => void;
}

export type OciStatus = "creating" | "created" | "running" | "paused" | "stopped";

export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: OciStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

const OCI_VERSION = "1.0.2";
const OS_SIGNALS = osConstants.signals;

const runtimeOf = (g: Globals, rec: Pick<OciRecord, "cgroupParent">) => ({ root: g.root, cgroupParent: rec.cgroupParent });

function mustRecord(g: Globals, id: string): OciRecord {
  const rec = readRecord(g.root, checkId(id));
  if (!rec) throw new OciError("container does not exist");
  return rec;
}

async function containerOf(g: Globals, rec: OciRecord): Promise<Container | undefined> {
  try {
    return await Container.get(rec.name, runtimeOf(g, rec));
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

function statusOf(c: Container | undefined): OciStatus {
  if (!c) return "creating";
  switch (c.state) {
    case "running":
      return c.held ? "created" : "running";
    case "frozen":
      return "paused";
    case "created":
      // Made, not yet started: a create still under way (or one that died: delete cleans it).
      return "creating";
    default:
      return "stopped";
  }
}

export async function stateOf(g: Globals, rec: OciRecord): Promise<{ state: OciState; container: Container | undefined }> {
  const c = await containerOf(g, rec);
  const status = statusOf(c);
  const state: OciState = {
    ociVersion: OCI_VERSION,
    id: rec.id,
    pid: status === "stopped" || status === "creating" ? 0 : (c?.pid ?? 0),
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
    ...(rec.annotations && Object.keys(rec.annotations).length ? { annotations: rec.annotations } : {}),
  };
  return { state, container: c };
}

/** Writes a pid file as runc does: whole or not at all. */
export function writePidFile(path: string, pid: number): void {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${process.pid}.pid.tmp`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
}

/** `create`: the container made and its init held before the program (state "created"). */
export async function create(g: Globals, id: string, o: CreateOptions): Promise<void> {
  checkId(id);
  const bundle = resolve(o.bundle);
  const configPath = join(bundle, "config.json");
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") throw new OciError(`JSON specification file ${configPath} not found`);
    throw new OciError(`cannot parse ${configPath}: ${err.message}`);
  }
  const t = ociToWarren(spec, bundle);
  for (const w of t.warnings) g.log?.("warning", w);
  for (const n of t.notes) g.log?.("debug", n);
  if (t.terminal && !o.consoleSocket) throw new OciError("cannot allocate tty if runc will detach without setting console socket");
  if (!t.terminal && o.consoleSocket) throw new OciError("cannot use console socket if runc will not allocate tty");
  const rootfs = typeof t.config.rootfs === "string" ? t.config.rootfs : (t.config.rootfs as { path: string }).path;
  if (!existsSync(rootfs)) throw new OciError(`rootfs (${rootfs}) does not exist`);
  const hooks = parseHooks((spec as { hooks?: unknown }).hooks);
  const annotations = (spec as { annotations?: Record<string, string> }).annotations;
  const rec: OciRecord = {
    id,
    name: warrenName(id),
    bundle,
    rootfs,
    created: new Date().toISOString(),
    owner: "",
    ...(annotations ? { annotations } : {}),
    cgroupParent: cgroupParentOf(t.cgroupsPath, id),
    ...(hasHooks(hooks) ? { hooks } : {}),
  };
  try {
    writeRecord(g.root, rec, true);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new OciError(`container with id exists: ${id}`);
    throw e;
  }
  let c: Container | undefined;
  let consoleSocket: number | undefined;
  try {
    // The OCI config says everything: nothing of warren's system-container
    // defaults that it does not ask for (a console, lxcfs, a restart policy).
    c = await Container.create(rec.name, { console: false, lxcfs: false, ...t.config }, runtimeOf(g, rec));
    // As runc: the init opens a pty of the container's own devpts and
    // sends its master over the console socket itself.
    if (t.terminal) consoleSocket = native().unixConnect(resolve(o.consoleSocket!));
    const inheritFds = Array.from({ length: o.preserveFds }, (_, i) => 3 + i);
    await c.start({ hold: true, ...(consoleSocket !== undefined ? { terminal: consoleSocket } : { stdio: "inherit" }), inheritFds });
    c.unref();
    // The init is set up and held before the program: the runtime's hooks
    // run now (prestart and createRuntime on the host, createContainer in
    // the container), with the state on stdin. A failing one fails create.
    if (rec.hooks) {
      const st = (await stateOf(g, rec)).state;
      for (const kind of ["prestart", "createRuntime", "createContainer"] as const) {
        await runHooks(rec.hooks, kind, st, { container: containerExecutor(c) });
      }
    }
    if (o.pidFile) writePidFile(o.pidFile, c.pid!);
  } catch (e) {
    if (c) await c.destroy({ force: true }).catch(() => undefined);
    removeRecord(g.root, id);
    throw e;
  } finally {
    if (consoleSocket !== undefined) closeSync(consoleSocket);
  }
}

/** `start`: the held init runs its program. */
export async function start(g: Globals, id: string): Promise<void> {
  const rec = mustRecord(g, id);
  const { state, container } = await stateOf(g, rec);
  if (state.status !== "created" || !container) {
    if (state.status === "stopped") throw new OciError("cannot start a container that has stopped");
    if (state.status === "running") throw new OciError("cannot start an already running container");
    throw new OciError(`cannot start a container in the ${state.status} state`);
  }
  if (rec.hooks) await runHooks(rec.hooks, "startContainer", state, { container: containerExecutor(container) });
  await container.release();
  if (rec.hooks) {
    const after = (await stateOf(g, rec)).state;
    for (const w of (await runHooks(rec.hooks, "poststart", after)).warnings) g.log?.("warning", w);
  }
}

function hasHooks(hooks: OciHooks): boolean {
  return Object.values(hooks).some((list) => list && list.length > 0);
}

export async function state(g: Globals, id: string): Promise<OciState> {
  return (await stateOf(g, mustRecord(g, id))).state;
}

/** A signal by runc's spellings: `KILL`, `SIGKILL`, `9`. */
export function parseSignal(sig: string | undefined): number {
  if (sig === undefined || sig === "") return 15;
  if (/^\d+$/.test(sig)) return Number(sig);
  const name = sig.toUpperCase().replace(/^SIG/, "");
  const n = (OS_SIGNALS as Record<string, number>)[`SIG${name}`];
  if (n === undefined) throw new OciError(`unknown signal "${sig}"`);
  return n;
}

/** Host pids of every process in the container's cgroup (the init's and the exec leaf's). */
export function cgroupPids(c: Container): number[] {
  const out: number[] = [];
  const walk = (dir: string) => {
    try {
      for (const l of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (l) out.push(Number(l));
    } catch {
      return;
    }
    try {
      for (const d of readdirEntries(dir)) walk(join(dir, d));
    } catch {
      /* gone */
    }
  };
  walk(c.cgroupPath);
  return out;
}
function readdirEntries(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
}

export async function kill(g: Globals, id: string, sig: string | undefined, all: boolean): Promise<void> {
  const rec = mustRecord(g, id);
  const signal = parseSignal(sig);
  const { state: s, container } = await stateOf(g, rec);
  if (!container || (s.status !== "created" && s.status !== "running" && s.status !== "paused")) {
    if (all && container) return;
    throw new OciError("container not running");
  }
  if (all) {
    for (const pid of cgroupPids(container)) {
      try {
        process.kill(pid, signal);
      } catch {
        /* gone meanwhile */
      }
    }
    return;
  }
  await container.kill(signal);
}

export async function del(g: Globals, id: string, force: boolean): Promise<void> {
  const rec = readRecord(g.root, checkId(id));
  if (!rec) {
    if (force) return;
    throw new OciError("container does not exist");
  }
  const { state: s, container } = await stateOf(g, rec);
  if (container) {
    if ((s.status === "running" || s.status === "paused") && !force) {
      throw new OciError(`cannot delete container ${id} that is not stopped: ${s.status}`);
    }
    // A created container is deleted without --force, as runc does: its held init is killed.
    await container.destroy({ force: true });
  }
  if (rec.hooks) {
    const stopped: OciState = { ...s, status: "stopped", pid: 0 };
    for (const w of (await runHooks(rec.hooks, "poststop", stopped)).warnings) g.log?.("warning", w);
  }
  removeRecord(g.root, id);
}

export async function pause(g: Globals, id: string, frozen: boolean): Promise<void> {
  const rec = mustRecord(g, id);
  const { state: s, container } = await stateOf(g, rec);
  if (!container || (frozen ? s.status !== "running" && s.status !== "created" : s.status !== "paused")) {
    throw new OciError(frozen ? "container not running" : "container not paused");
  }
  if (frozen) await container.freeze();
  else await container.unfreeze();
}

export async function ps(g: Globals, id: string): Promise<number[]> {
  const rec = mustRecord(g, id);
  const { state: s, container } = await stateOf(g, rec);
  if (!container || s.status === "stopped" || s.status === "creating") throw new OciError("container not running");
  return cgroupPids(container);
}

export async function update(g: Globals, id: string, resources: unknown): Promise<string[]> {
  const rec = mustRecord(g, id);
  const { state: s, container } = await stateOf(g, rec);
  if (!container || s.status === "stopped") throw new OciError("container not running");
  const limits = ociResourcesToLimits(resources);
  return container.setLimits(limits);
}

export async function list(g: Globals): Promise<OciState[]> {
  const out: OciState[] = [];
  for (const rec of listRecords(g.root)) out.push((await stateOf(g, rec)).state);
  return out;
}

/** runc's `events --stats` record of one container. */
export async function stats(g: Globals, id: string): Promise<{ type: "stats"; id: string; data: unknown }> {
  const rec = mustRecord(g, id);
  const { state: s, container } = await stateOf(g, rec);
  if (!container || s.status === "stopped" || s.status === "creating") throw new OciError("container not running");
  const st = await container.stats();
  return { type: "stats", id, data: runcStats(st as unknown as Record<string, Record<string, number> | undefined>) };
}

function runcStats(st: Record<string, Record<string, number> | undefined>): unknown {
  const cpu = st.cpu ?? {};
  const memory = st.memory ?? {};
  const pids = st.pids ?? {};
  return {
    cpu: { usage: { total: (cpu.usageUsec ?? 0) * 1000, user: (cpu.userUsec ?? 0) * 1000, kernel: (cpu.systemUsec ?? 0) * 1000 }, throttling: {} },
    memory: { usage: { usage: memory.current ?? 0, limit: memory.max ?? 0 }, raw: memory },
    pids: { current: pids.current ?? 0, ...(pids.max !== undefined ? { limit: pids.max } : {}) },
  };
}
