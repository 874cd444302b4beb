/**
 * Reading a container's usage from its cgroup: CPU, memory, pids, I/O,
 * pressure (PSI) and OOM counts. A handful of small synchronous reads of
 * kernel-generated files per container, so polling 1,000 containers every
 * second stays in the tens of milliseconds. Fields whose controller is not
 * enabled are left out.
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Pressure {
  /** Share of time (percent) some tasks were stalled, over 10 s, 60 s, 300 s. */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in µs. */
  total: number;
}

export interface ContainerStats {
  cpu: {
    usageUsec: number;
    userUsec: number;
    systemUsec: number;
    /** cpu.max enforcement (cpu controller only). */
    periods?: number;
    throttledPeriods?: number;
    throttledUsec?: number;
  };
  memory?: {
    current: number;
    peak?: number;
    swapCurrent?: number;
    /** memory.events: times memory.max was hit, OOM situations and OOM kills. */
    events: { low: number; high: number; max: number; oom: number; oomKill: number; oomGroupKill: number };
  };
  pids?: { current: number; max?: number | "max" };
  /** io.stat per device `MAJOR:MINOR`. */
  io?: Record<string, { rbytes: number; wbytes: number; rios: number; wios: number; dbytes: number; dios: number }>;
  pressure: { cpu?: { some: Pressure; full?: Pressure }; memory?: { some: Pressure; full: Pressure }; io?: { some: Pressure; full: Pressure } };
}

/** A cgroup file's text, or undefined when it is not there (its controller is not enabled). */
export type FileText = (file: string) => string | undefined;

function reader(dir: string): FileText {
  return (file) => {
    try {
      return readFileSync(join(dir, file), "utf8");
    } catch {
      return undefined;
    }
  };
}

/** `key value` lines (cpu.stat, memory.events) into numbers. */
export function parseFlatKeyed(text: string): Record<string, number> {
  // By index, not by pattern: a sweep of thousands parses one or two of
  // these per container, and match arrays are garbage the loop pays for.
  const out: Record<string, number> = {};
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    // `key value`: one space, with something on both sides of it.
    const space = text.indexOf(" ", at);
    if (space > at && space < end - 1) {
      const another = text.indexOf(" ", space + 1);
      if (another < 0 || another >= end) out[text.slice(at, space)] = Number(text.slice(space + 1, end));
    }
    at = end + 1;
  }
  return out;
}

/** The number after `key` (` avg10=`…) in `text` between `from` and `end`, or NaN without one. */
function field(text: string, key: string, from: number, end: number): number {
  const at = text.indexOf(key, from);
  if (at < 0 || at >= end) return NaN;
  const start = at + key.length;
  let stop = text.indexOf(" ", start);
  if (stop < 0 || stop > end) stop = end;
  return Number(text.slice(start, stop));
}

/** `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` lines. */
export function parsePressure(text: string): Record<string, Pressure> {
  // By index, without splitting into lines: a sweep parses three of these per container.
  const out: Record<string, Pressure> = {};
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const space = text.indexOf(" ", at);
    if (space > at && space < end) {
      const p = { avg10: field(text, " avg10=", space, end), avg60: field(text, " avg60=", space, end), avg300: field(text, " avg300=", space, end), total: field(text, " total=", space, end) };
      if (!Number.isNaN(p.avg10) && !Number.isNaN(p.avg60) && !Number.isNaN(p.avg300) && Number.isInteger(p.total)) out[text.slice(at, space)] = p;
    }
    at = end + 1;
  }
  return out;
}

/** io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per line. */
export function parseIoStat(text: string): NonNullable<ContainerStats["io"]> {
  const out: NonNullable<ContainerStats["io"]> = {};
  for (const line of text.split("\n")) {
    const [dev, ...fields] = line.trim().split(" ");
    if (!dev || fields.length === 0) continue;
    const f = Object.fromEntries(fields.map((x) => x.split("=") as [string, string]));
    out[dev] = {
      rbytes: Number(f.rbytes ?? 0),
      wbytes: Number(f.wbytes ?? 0),
      rios: Number(f.rios ?? 0),
      wios: Number(f.wios ?? 0),
      dbytes: Number(f.dbytes ?? 0),
      dios: Number(f.dios ?? 0),
    };
  }
  return out;
}

/** Reads the statistics of the cgroup at `dir`. */
export function readStats(dir: string): ContainerStats {
  return statsFrom(reader(dir));
}

/** Every file {@link statsFrom} may read, in one list (for a batched read). */
export const STATS_FILES = [
  "cpu.stat",
  "memory.current",
  "memory.events",
  "memory.peak",
  "memory.swap.current",
  "pids.current",
  "pids.max",
  "io.stat",
  "cpu.pressure",
  "memory.pressure",
  "io.pressure",
] as const;

/**
 * The files of {@link STATS_FILES} a child of a cgroup whose
 * `cgroup.subtree_control` is `subtreeControl` has: the core's cpu.stat and
 * the pressure files (when the kernel keeps PSI), and each enabled
 * controller's own. A batched sweep asks the kernel for nothing else, so a
 * host without the memory controller pays nothing for memory.*.
 */
export function statsFilesFor(subtreeControl: string, psi: boolean): string[] {
  const on = new Set(subtreeControl.trim().split(/\s+/));
  return STATS_FILES.filter((f) => {
    if (f.endsWith(".pressure")) return psi;
    const controller = f.split(".")[0]!;
    return controller === "cpu" || on.has(controller);
  });
}

/** The statistics from a cgroup's files as `text` gives them. */
export function statsFrom(text: FileText): ContainerStats {
  const cpu = parseFlatKeyed(text("cpu.stat") ?? "");
  const stats: ContainerStats = {
    cpu: { usageUsec: cpu.usage_usec ?? 0, userUsec: cpu.user_usec ?? 0, systemUsec: cpu.system_usec ?? 0 },
    pressure: {},
  };
  if (cpu.nr_periods !== undefined) {
    stats.cpu.periods = cpu.nr_periods;
    stats.cpu.throttledPeriods = cpu.nr_throttled ?? 0;
    stats.cpu.throttledUsec = cpu.throttled_usec ?? 0;
  }
  const current = text("memory.current");
  if (current !== undefined) {
    const ev = parseFlatKeyed(text("memory.events") ?? "");
    const peak = text("memory.peak");
    const swap = text("memory.swap.current");
    stats.memory = {
      current: Number(current),
      ...(peak !== undefined ? { peak: Number(peak) } : {}),
      ...(swap !== undefined ? { swapCurrent: Number(swap) } : {}),
      events: {
        low: ev.low ?? 0,
        high: ev.high ?? 0,
        max: ev.max ?? 0,
        oom: ev.oom ?? 0,
        oomKill: ev.oom_kill ?? 0,
        oomGroupKill: ev.oom_group_kill ?? 0,
      },
    };
  }
  const pids = text("pids.current");
  if (pids !== undefined) {
    const max = text("pids.max")?.trim();
    stats.pids = { current: Number(pids), ...(max ? { max: max === "max" ? "max" : Number(max) } : {}) };
  }
  const io = text("io.stat");
  if (io !== undefined) stats.io = parseIoStat(io);
  for (const kind of ["cpu", "memory", "io"] as const) {
    const p = text(`${kind}.pressure`);
    if (p !== undefined) (stats.pressure as Record<string, unknown>)[kind] = parsePressure(p);
  }
  return stats;
}
