/**
 * A running container's resources: live limits, statistics, freezing and
 * the event stream, all through its cgroup v2 directory.
 * @module
 */
import { existsSync, promises as fsp, watch as watchPath, writeFileSync, type FSWatcher } from "node:fs";
import { join } from "node:path";

import { applyLimits, checkLimits, enableControllers } from "../cgroup/apply.js";
import { CgroupTree, detectCgroupHost } from "../cgroup/cgroup2.js";
import { applyDeviceRules, DEFAULT_DEVICE_RULES, formatDeviceRule, parseDeviceRule, type DeviceRule } from "../cgroup/devices.js";
import { watchCgroup, waitForEvent, type CgroupEvent } from "../cgroup/events.js";
import type { Limits, ResolvedLimits } from "../cgroup/limits.js";
import { anyPid, blockDeviceName, hostMemTotal, metricFamilies, metricsFilesFor, metricsFrom, ownNetns, parseNetDev, type ContainerMetrics } from "../cgroup/metrics.js";
import { formatExposition } from "../cgroup/prometheus.js";
import { readStats, statsFilesFor, statsFrom, type ContainerStats, type FileText } from "../cgroup/stats.js";
import { NAME_PATTERN } from "../config/constants.js";
import { issuesOf } from "../config/issues.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import { ConfigError, HostError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { readFilesInChunks } from "../linux/read-files.js";
import type { ContainerHandle } from "./handle.js";
import { withLock } from "../linux/lock.js";
import { isLive, type ExitStatus } from "./state.js";

/** The standard device rules followed by a container's own (`"c 10:237 rw"` strings or rules). */
export function deviceRulesOf(extra: readonly (string | DeviceRule)[]): DeviceRule[] {
  return [...DEFAULT_DEVICE_RULES, ...extra.map((r) => (typeof r === "string" ? parseDeviceRule(r) : r))];
}

/**
 * Replaces a privileged container's device rules (kept for later starts),
 * live when it runs: the eBPF program on its cgroup is swapped atomically.
 */
export async function setDeviceRules(c: ContainerHandle, rules: readonly (string | DeviceRule)[]): Promise<void> {
  if (c.config.namespaces.user) {
    throw new StateError(
      `container "${c.name}" has a user namespace: its device access is the kernel's (it sees only devices bound in), not a device program's`,
      "setDeviceRules",
      "unprivileged",
      { container: c.name },
    );
  }
  let parsed: DeviceRule[];
  try {
    parsed = deviceRulesOf(rules);
  } catch (e) {
    throw new ConfigError([{ path: "deviceRules", message: (e as Error).message }], { container: c.name });
  }
  const strings = parsed.slice(DEFAULT_DEVICE_RULES.length).map(formatDeviceRule);
  await c.refresh();
  await withLock(c.store.lockPath(c.name), async () => {
    if (c.run && isLive(c.status)) applyDeviceRules(c.cgroupPath, parsed);
    c.record = { ...c.record, config: { ...c.record.config, deviceRules: strings } };
    await c.store.writeRecord(c.record);
  });
}

/**
 * What happens to a container: its init started, the container said it is
 * ready, a process was exec'd into it, it was frozen or thawed, the OOM
 * killer ran, it stopped (with why; `restarting` after a reboot from inside
 * that warren answers by starting it again).
 */
export type ContainerEvent =
  | Exclude<CgroupEvent, { type: "populated" }>
  | { type: "started"; pid: number }
  | { type: "ready" }
  | { type: "exec"; pid: number; argv: string[] }
  | { type: "stopped"; status: ExitStatus; restarting?: boolean };

/** `next` over `base`, section by section (arrays and scalars replace). */
export function mergeLimits(base: ResolvedLimits | undefined, next: ResolvedLimits): ResolvedLimits {
  const out: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(next)) {
    const old = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && old && typeof old === "object" ? { ...old, ...v } : v;
  }
  return out as ResolvedLimits;
}

function requireLive(c: ContainerHandle, op: string): void {
  if (!c.run || !isLive(c.status)) {
    throw new StateError(`container "${c.name}" is not running`, op, c.status, { container: c.name });
  }
}

export async function setLimits(c: ContainerHandle, input: Limits, options: { bestEffort?: boolean }): Promise<string[]> {
  const { limitsSchema } = await import("../cgroup/limits.js"); // zod only where limits are validated
  const parsed = limitsSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      issuesOf(parsed.error).map((i) => ({ ...i, path: i.path ? `limits.${i.path}` : "limits" })),
      { container: c.name },
    );
  }
  await c.refresh();
  const host = detectCgroupHost();
  const bestEffort = options.bestEffort ?? c.config.bestEffortLimits;
  return withLock(c.store.lockPath(c.name), async () => {
    let warnings: string[];
    if (c.run && isLive(c.status)) {
      const enableFailures = enableControllers(c.cgroups, host);
      warnings = applyLimits(c.cgroupPath, parsed.data, { host, bestEffort, enableFailures, container: c.name });
    } else {
      // Checked now so a stopped container does not fail at its next start.
      warnings = checkLimits(parsed.data, { host, bestEffort, container: c.name }).warnings;
    }
    c.record = { ...c.record, config: { ...c.record.config, limits: mergeLimits(c.record.config.limits, parsed.data) } };
    await c.store.writeRecord(c.record);
    c.warnings = [...c.warnings, ...warnings];
    return warnings;
  });
}

export async function containerStats(c: ContainerHandle): Promise<ContainerStats> {
  requireLive(c, "stats");
  return readStats(c.cgroupPath);
}

/**
 * One sweep of the running containers of a runtime (or of those in
 * `names`), from the cgroup tree alone: one readdir of the runtime's cgroup
 * subtree, then batched native reads (off the event loop) of each container
 * cgroup's `cgroup.events` and the files `filesFor` names for a child of
 * that subtree (its `cgroup.subtree_control`, and whether the kernel keeps
 * PSI). `each` gets every running container's name and files, in order, a
 * chunk at a time while the pool reads the next: the parse's share of a
 * sweep runs beside the kernel's (docs/scale.md). No state is read and no
 * handle made, so a sweep over thousands costs what the kernel's files
 * cost.
 */
async function sweepRunning(
  runtime: ResolvedRuntime,
  names: readonly string[] | undefined,
  filesFor: (subtreeControl: string, psi: boolean) => string[],
  each: (name: string, text: FileText) => void,
): Promise<void> {
  const tree = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent);
  let candidates: readonly string[];
  if (names) candidates = names;
  else {
    try {
      candidates = (await fsp.readdir(tree.root)).filter((n) => NAME_PATTERN.test(n));
    } catch {
      return;
    }
  }
  if (candidates.length === 0) return;
  let subtree: string;
  try {
    subtree = await fsp.readFile(join(tree.root, "cgroup.subtree_control"), "utf8");
  } catch {
    return; // no subtree: nothing runs under it
  }
  const files = ["cgroup.events", ...filesFor(subtree, existsSync(join(tree.root, "cpu.pressure")))];
  const index = new Map(files.map((f, k) => [f, k]));
  const dir = `${tree.root}/`;
  await readFilesInChunks(
    candidates.map((n) => dir + n),
    files,
    (texts, from) => {
      for (let i = 0, base = 0; base < texts.length; i++, base += files.length) {
        const events = texts[base];
        // Not running (no cgroup), or its last process just left.
        if (typeof events !== "string" || !events.includes("populated 1")) continue;
        each(candidates[from + i]!, (file) => {
          const k = index.get(file);
          const t = k === undefined ? undefined : texts[base + k];
          return typeof t === "string" ? t : undefined;
        });
      }
    },
  );
}

/** The stats of every running container of a runtime (or of those in `names`): one {@link sweepRunning}. */
export async function statsOfAll(runtime: ResolvedRuntime, names?: readonly string[], opts: { pressure: boolean } = { pressure: true }): Promise<Record<string, ContainerStats>> {
  const out: Record<string, ContainerStats> = {};
  await sweepRunning(runtime, names, (subtree, psi) => statsFilesFor(subtree, opts.pressure && psi), (name, text) => {
    out[name] = statsFrom(text);
  });
  return out;
}

/** Options of `Container.metrics()` (and `warren metrics`). */
export interface MetricsOptions {
  /** Only these containers (those not running are left out). */
  names?: readonly string[];
  /**
   * Metric name prefix, without the underscore: `warren` by default;
   * `incus` (or `lxd`) gives the names Incus's (LXD's) dashboards query.
   */
  prefix?: string;
  /** Value of the `project` label (Incus's dashboards select on it): `default` unless told. */
  project?: string;
}

/**
 * Prometheus text exposition of every running container of a runtime (or
 * of those named): the stats sweep of {@link statsOfAll} plus memory.stat,
 * the effective CPUs and each container's interface counters.
 */
export async function metricsOfAll(runtime: ResolvedRuntime, options: MetricsOptions = {}): Promise<string> {
  const prefix = options.prefix ?? "warren";
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(prefix)) {
    throw new ConfigError([{ path: "prefix", message: `${JSON.stringify(prefix)} is not a metric name prefix (letters, digits, _)` }]);
  }
  const entries = await metricsEntries(runtime, options.names);
  const blockNames = new Map<string, string>();
  const families = metricFamilies(entries, {
    prefix,
    project: options.project ?? "default",
    memTotal: hostMemTotal(),
    blockName: (dev) => {
      let n = blockNames.get(dev);
      if (n === undefined) blockNames.set(dev, (n = blockDeviceName(dev)));
      return n;
    },
  });
  return formatExposition(families);
}

/**
 * The figures of every running container (or of those in `names`): the
 * stats sweep ({@link sweepRunning}) with what metrics add, then each
 * container's interface counters from `/proc/PID/net/dev` of one of its
 * processes, read the same way. Nothing on the event loop waits for the
 * kernel.
 */
async function metricsEntries(runtime: ResolvedRuntime, names?: readonly string[]): Promise<Record<string, ContainerMetrics>> {
  const tree = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent);
  const entries: Record<string, ContainerMetrics> = {};
  const running: { name: string; procs: string | undefined }[] = [];
  await sweepRunning(runtime, names, (subtree, psi) => [...statsFilesFor(subtree, psi), ...metricsFilesFor(subtree)], (name, text) => {
    entries[name] = metricsFrom(text);
    running.push({ name, procs: text("cgroup.procs") });
  });
  // A process in each container's network namespace; a container that shares the host's has no interfaces of its own.
  const hostNetns = ownNetns();
  const pids = await Promise.all(running.map((r) => anyPid(join(tree.root, r.name), r.procs)));
  const netns = await Promise.all(pids.map((pid) => (pid === undefined ? undefined : fsp.readlink(`/proc/${pid}/ns/net`).catch(() => undefined))));
  const own = running.flatMap((r, k) => (netns[k] !== undefined && netns[k] !== hostNetns ? [{ name: r.name, pid: pids[k]! }] : []));
  await readFilesInChunks(
    own.map((o) => `/proc/${o.pid}/net`),
    ["dev"],
    (texts, from) => {
      texts.forEach((dev, k) => {
        // A process that exited meanwhile costs only the network figures.
        if (typeof dev === "string") entries[own[from + k]!.name]!.network = parseNetDev(dev);
      });
    },
  );
  return entries;
}

/** How long a freeze or thaw waits for the kernel to report it done, unless told. */
export const FREEZE_TIMEOUT_MS = 10_000;

export async function setFrozen(c: ContainerHandle, frozen: boolean, timeoutMs: number): Promise<void> {
  await c.refresh();
  const op = frozen ? "freeze" : "unfreeze";
  requireLive(c, op);
  if ((c.status === "frozen") === frozen) return;
  const dir = c.cgroupPath;
  try {
    writeFileSync(join(dir, "cgroup.freeze"), frozen ? "1" : "0");
  } catch (e) {
    throw new HostError(`${op} container "${c.name}": write \`${join(dir, "cgroup.freeze")}\``, codeOf(e), { container: c.name, path: dir });
  }
  try {
    await waitForEvent(dir, "frozen", frozen ? 1 : 0, timeoutMs);
  } catch (e) {
    throw new HostError(`${op} container "${c.name}": ${(e as Error).message}`, "ETIMEDOUT", { container: c.name, path: dir, cause: e });
  }
  await withLock(c.store.lockPath(c.name), async () => {
    const disk = await c.store.readState(c.name);
    if (!disk || !isLive(disk.status) || disk.pid !== c.run?.pid) return; // exited meanwhile
    c.state = { ...disk, status: frozen ? "frozen" : "running" };
    await c.store.writeState(c.name, c.state);
  });
}

/**
 * The container's events as an async iterator. Without `follow` it needs a
 * running container and ends with its `stopped` event (a reboot that warren
 * restarts does not end it); with `follow` it goes on across stops and
 * starts until the iterator is closed (`break`, `return()`) or the
 * container destroyed. Written by hand rather than as an async generator so
 * that `return()` ends it at once even while it waits for the next event.
 */
export function containerEvents(c: ContainerHandle, options: { follow?: boolean } = {}): AsyncIterableIterator<ContainerEvent> {
  if (!options.follow) requireLive(c, "events");
  const queue: ContainerEvent[] = [];
  let waiting: ((r: IteratorResult<ContainerEvent>) => void) | undefined;
  let ended = false;
  let endAfterQueue = false;
  // The kernel's view (frozen, thawed, OOM) while a run lasts.
  let watcher: { close(): void } | undefined;
  const unwatch = () => {
    watcher?.close();
    watcher = undefined;
  };
  const watch = () => {
    unwatch();
    try {
      watcher = watchCgroup(c.cgroupPath, (e) => {
        if (e.type !== "populated") push(e);
      });
    } catch {
      /* stopped meanwhile */
    }
  };
  const finish = () => {
    if (ended) return;
    ended = true;
    unwatch();
    stateWatcher?.close();
    c.bus.off("event", onEvent);
    c.bus.off("destroyed", finish);
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w({ done: true, value: undefined });
    }
  };
  const push = (e: ContainerEvent) => {
    if (ended || endAfterQueue) return;
    if (e.type === "stopped" && !e.restarting && !options.follow) endAfterQueue = true;
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w({ done: false, value: e });
      if (endAfterQueue) finish();
    } else queue.push(e);
  };
  // Runs started and ended by other processes show in state.json, which
  // is rewritten at each start and exit: with `follow`, its changes become
  // `started` and `stopped` events too (once per run, whoever saw it first).
  const startedSeen = new Set<number>();
  const stoppedSeen = new Set<number>();
  let lastPid = c.state.pid;
  const onEvent = (e: ContainerEvent) => {
    if (e.type === "started") {
      if (startedSeen.has(e.pid)) return;
      startedSeen.add(e.pid);
      lastPid = e.pid;
      watch();
    }
    if (e.type === "stopped") {
      if (lastPid !== undefined) {
        if (stoppedSeen.has(lastPid)) return;
        stoppedSeen.add(lastPid);
      }
      unwatch();
    }
    push(e);
  };
  let stateWatcher: FSWatcher | undefined;
  if (options.follow) {
    try {
      stateWatcher = watchPath(join(c.stateDir, "state.json"), () => {
        c.store
          .readState(c.name)
          .then((st) => {
            if (!st) return;
            if (isLive(st.status) && st.pid !== undefined && st.pid !== lastPid) onEvent({ type: "started", pid: st.pid });
            else if (st.status === "stopped" && lastPid !== undefined && !stoppedSeen.has(lastPid)) onEvent({ type: "stopped", status: st.exit ?? { code: null, signal: null } });
          })
          .catch(() => undefined);
      });
      stateWatcher.unref();
    } catch {
      /* no state file (yet) */
    }
  }
  c.bus.on("event", onEvent);
  c.bus.on("destroyed", finish);
  if (isLive(c.status)) watch();
  return {
    next(): Promise<IteratorResult<ContainerEvent>> {
      if (queue.length) {
        const value = queue.shift()!;
        if (endAfterQueue && queue.length === 0) finish();
        return Promise.resolve({ done: false, value });
      }
      if (ended || endAfterQueue) {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      }
      return new Promise((resolve) => (waiting = resolve));
    },
    return(): Promise<IteratorResult<ContainerEvent>> {
      finish();
      queue.length = 0;
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
