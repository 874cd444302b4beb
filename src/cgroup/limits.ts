/**
 * Resource limits: the zod schema users write (LXD-style human units). The
 * pure translation into cgroup v2 interface files is in `limit-writes.ts`
 * (zod-free, so paths that only apply recorded limits do not load zod);
 * applying them, and checking that their controllers are usable on this
 * host, is in `apply.ts`.
 * @module
 */
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
