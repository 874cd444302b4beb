/**
 * The pure translation of resolved limits into cgroup v2 interface-file
 * writes. Apart from the schema (`limits.ts`) so that applying recorded
 * limits does not load zod.
 * @module
 */
import { totalmem } from "node:os";

import type { ResolvedLimits } from "./limits.js";
import { parseBytes, parsePercent } from "./units.js";

/** One write into the container's cgroup directory. */
export interface CgroupWrite {
  /** The controller the file belongs to (must be enabled above the container). */
  controller: "memory" | "cpu" | "cpuset" | "pids" | "io" | "hugetlb";
  file: string;
  value: string;
  /** The field it came from, for messages: `memory.max`. */
  field: string;
}

/** The cgroup period for cpu.max: 100 ms, the kernel's default. */
export const CPU_PERIOD_US = 100_000;

function bytesValue(v: number | string, hostMemory: number): string {
  if (v === "max") return "max";
  if (typeof v === "number") return String(v);
  const p = parsePercent(v);
  if (p !== undefined) return String(Math.floor(hostMemory * p));
  return String(parseBytes(v));
}

export interface TranslateOptions {
  /** Host memory in bytes, for percentages (default os.totalmem()). */
  hostMemory?: number;
  /** Resolves a device path to `MAJOR:MINOR` (io.max). */
  deviceNumber?: (path: string) => string;
}

/** The interface-file writes for `limits`, in an order the kernel accepts. */
export function limitWrites(limits: ResolvedLimits, options: TranslateOptions = {}): CgroupWrite[] {
  const mem = options.hostMemory ?? totalmem();
  const out: CgroupWrite[] = [];
  const m = limits.memory;
  if (m) {
    // memory.high before memory.max so a lowered max never sits below high for long.
    if (m.high !== undefined) out.push({ controller: "memory", file: "memory.high", value: bytesValue(m.high, mem), field: "memory.high" });
    if (m.max !== undefined) out.push({ controller: "memory", file: "memory.max", value: bytesValue(m.max, mem), field: "memory.max" });
    if (m.swapMax !== undefined) out.push({ controller: "memory", file: "memory.swap.max", value: bytesValue(m.swapMax, mem), field: "memory.swapMax" });
    if (m.oomGroupKill !== undefined) out.push({ controller: "memory", file: "memory.oom.group", value: m.oomGroupKill ? "1" : "0", field: "memory.oomGroupKill" });
  }
  const c = limits.cpu;
  if (c) {
    if (c.max !== undefined) {
      let value = "max";
      if (c.max !== "max") {
        const cpus = typeof c.max === "number" ? c.max : parsePercent(c.max)!;
        value = `${Math.max(1000, Math.round(cpus * CPU_PERIOD_US))} ${CPU_PERIOD_US}`;
      }
      out.push({ controller: "cpu", file: "cpu.max", value, field: "cpu.max" });
    }
    if (c.weight !== undefined) out.push({ controller: "cpu", file: "cpu.weight", value: String(c.weight), field: "cpu.weight" });
    // cpuset.mems first: a cpuset needs memory nodes before its CPUs matter.
    if (c.mems !== undefined) out.push({ controller: "cpuset", file: "cpuset.mems", value: c.mems, field: "cpu.mems" });
    if (c.cpus !== undefined) out.push({ controller: "cpuset", file: "cpuset.cpus", value: c.cpus, field: "cpu.cpus" });
  }
  if (limits.pids?.max !== undefined) {
    out.push({ controller: "pids", file: "pids.max", value: String(limits.pids.max), field: "pids.max" });
  }
  const io = limits.io;
  if (io) {
    if (io.weight !== undefined) out.push({ controller: "io", file: "io.weight", value: `default ${io.weight}`, field: "io.weight" });
    io.max?.forEach((d, i) => {
      const dev = /^\d+:\d+$/.test(d.device) ? d.device : (options.deviceNumber ?? ((p: string) => p))(d.device);
      const parts = [dev];
      if (d.rbps !== undefined) parts.push(`rbps=${bytesValue(d.rbps, mem)}`);
      if (d.wbps !== undefined) parts.push(`wbps=${bytesValue(d.wbps, mem)}`);
      if (d.riops !== undefined) parts.push(`riops=${d.riops}`);
      if (d.wiops !== undefined) parts.push(`wiops=${d.wiops}`);
      out.push({ controller: "io", file: "io.max", value: parts.join(" "), field: `io.max[${i}]` });
    });
  }
  for (const [size, v] of Object.entries(limits.hugetlb ?? {})) {
    out.push({ controller: "hugetlb", file: `hugetlb.${size}.max`, value: bytesValue(v, mem), field: `hugetlb.${size}` });
  }
  return out;
}

/** Every controller a limits object needs. */
export function controllersOf(writes: readonly CgroupWrite[]): string[] {
  return [...new Set(writes.map((w) => w.controller))];
}
