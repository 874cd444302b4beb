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

function read(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch {
    return undefined;
  }
}

/** `key value` lines (cpu.stat, memory.events) into numbers. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.split(" ");
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` lines. */
export function parsePressure(text: string): Record<string, Pressure> {
  const out: Record<string, Pressure> = {};
  for (const line of text.split("\n")) {
    const [kind, ...fields] = line.split(" ");
    if (!kind || fields.length === 0) continue;
    const f = Object.fromEntries(fields.map((x) => x.split("=") as [string, string]));
    out[kind] = { avg10: Number(f.avg10), avg60: Number(f.avg60), avg300: Number(f.avg300), total: Number(f.total) };
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
  const cpu = parseFlatKeyed(read(dir, "cpu.stat") ?? "");
  const stats: ContainerStats = {
    cpu: { usageUsec: cpu.usage_usec ?? 0, userUsec: cpu.user_usec ?? 0, systemUsec: cpu.system_usec ?? 0 },
    pressure: {},
  };
  if (cpu.nr_periods !== undefined) {
    stats.cpu.periods = cpu.nr_periods;
    stats.cpu.throttledPeriods = cpu.nr_throttled ?? 0;
    stats.cpu.throttledUsec = cpu.throttled_usec ?? 0;
  }
  const current = read(dir, "memory.current");
  if (current !== undefined) {
    const ev = parseFlatKeyed(read(dir, "memory.events") ?? "");
    const peak = read(dir, "memory.peak");
    const swap = read(dir, "memory.swap.current");
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
  const pids = read(dir, "pids.current");
  if (pids !== undefined) {
    const max = read(dir, "pids.max")?.trim();
    stats.pids = { current: Number(pids), ...(max ? { max: max === "max" ? "max" : Number(max) } : {}) };
  }
  const io = read(dir, "io.stat");
  if (io !== undefined) stats.io = parseIoStat(io);
  for (const kind of ["cpu", "memory", "io"] as const) {
    const p = read(dir, `${kind}.pressure`);
    if (p !== undefined) (stats.pressure as Record<string, unknown>)[kind] = parsePressure(p);
  }
  return stats;
}
