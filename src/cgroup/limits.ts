/**
 * Resource limits: the zod schema users write (LXD-style human units) and
 * the pure translation into cgroup v2 interface files. Applying them, and
 * checking that their controllers are usable on this host, is in
 * `apply.ts`.
 * @module
 */
import { totalmem } from "node:os";
import { z } from "zod";

import { parseBytes, parsePercent } from "./units.js";

/** Bytes: a number, a size string (`"512MiB"`), a share of the host's memory (`"50%"`), or `"max"`. */
const bytes = z.union([
  z.number().int().min(0),
  z.literal("max"),
  z
    .string()
    .refine((s) => parseBytes(s) !== undefined || parsePercent(s) !== undefined, "must be a size like 512MiB, 1GB, 64M, 50% or max"),
]);

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

const ioDevice = z.strictObject({
  /** `"8:0"` or the path of a block device on the host (`/dev/vda`). */
  device: z.string().refine((d) => /^\d+:\d+$/.test(d) || d.startsWith("/"), "must be MAJOR:MINOR or an absolute device path"),
  rbps: bytes.optional(),
  wbps: bytes.optional(),
  riops: z.union([z.number().int().min(1), z.literal("max")]).optional(),
  wiops: z.union([z.number().int().min(1), z.literal("max")]).optional(),
});

export const limitsSchema = z.strictObject({
  memory: z
    .strictObject({
      /** Hard limit (memory.max): above it the kernel reclaims, then OOM-kills. */
      max: bytes.optional(),
      /** Throttling point (memory.high). */
      high: bytes.optional(),
      /** Swap allowed on top (memory.swap.max). */
      swapMax: bytes.optional(),
      /** Kill the whole container on OOM instead of one process (memory.oom.group). */
      oomGroupKill: z.boolean().optional(),
    })
    .optional(),
  cpu: z
    .strictObject({
      /** CPUs' worth of time per period: `1.5`, `"50%"` (of one CPU), or `"max"` (cpu.max). */
      max: z
        .union([
          z.number().positive(),
          z.literal("max"),
          z.string().refine((s) => parsePercent(s) !== undefined && parsePercent(s)! > 0, "must be a number of CPUs, a percentage or max"),
        ])
        .optional(),
      /** Relative share, 1-10000, default 100 (cpu.weight). */
      weight: z.number().int().min(1).max(10000).optional(),
      /** CPUs the container may run on, e.g. `"0-1,3"` (cpuset.cpus). */
      cpus: z.string().regex(CPU_LIST, "must be a CPU list like 0-1,3").optional(),
      /** Memory nodes (cpuset.mems). */
      mems: z.string().regex(CPU_LIST, "must be a node list like 0").optional(),
    })
    .optional(),
  pids: z.strictObject({ max: z.union([z.number().int().min(1), z.literal("max")]).optional() }).optional(),
  io: z
    .strictObject({
      /** Relative share, 1-10000 (io.weight). */
      weight: z.number().int().min(1).max(10000).optional(),
      /** Per-device bandwidth and IOPS limits (io.max). */
      max: z.array(ioDevice).optional(),
    })
    .optional(),
  /** Huge pages per page size, e.g. `{"2MB": "64MiB"}` (hugetlb.2MB.max). */
  hugetlb: z.record(z.string().regex(/^\d+[KMG]B$/, "must be a page size like 2MB or 1GB"), bytes).optional(),
});

export type Limits = z.input<typeof limitsSchema>;
export type ResolvedLimits = z.output<typeof limitsSchema>;

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
