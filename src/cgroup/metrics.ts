/**
 * A container's figures as Prometheus metrics, named as Incus names them
 * (`incus_cpu_seconds_total`, `incus_memory_RSS_bytes`, …: its
 * internal/server/metrics), so a dashboard made for Incus works with the
 * prefix set to `incus`. What the cgroup v2 files and the container's
 * network namespace give; Incus's per-guest figures that need an agent
 * inside (filesystems, boot time, guest clock) are not there.
 * @module
 */
import { promises as fsp, readFileSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";

import type { MetricFamily, MetricType, Sample } from "./prometheus.js";
import { parseFlatKeyed, statsFrom, type ContainerStats, type FileText } from "./stats.js";

/** One interface's counters from `/proc/PID/net/dev`, as the container sees them. */
export interface NetDevCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrs: number;
  rxDrop: number;
  txBytes: number;
  txPackets: number;
  txErrs: number;
  txDrop: number;
}

/** What one metrics sweep reads of a running container. */
export interface ContainerMetrics {
  stats: ContainerStats;
  /** memory.stat (memory controller only). */
  memoryStat?: Record<string, number>;
  /** memory.max: a number of bytes, or "max" (no limit). */
  memoryMax?: number | "max";
  /** CPUs in cpuset.cpus.effective (cpuset controller only). */
  cpus?: number;
  /** Per interface; absent when the container shares the host's network namespace. */
  network?: Record<string, NetDevCounters>;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** `/proc/PID/net/dev`: two header lines, then `iface: rx×8 tx×8`. */
export function parseNetDev(text: string): Record<string, NetDevCounters> {
  const out: Record<string, NetDevCounters> = {};
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out[line.slice(0, colon).trim()] = {
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      rxErrs: f[2]!,
      rxDrop: f[3]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      txErrs: f[10]!,
      txDrop: f[11]!,
    };
  }
  return out;
}

/** The number of CPUs in a cpuset list such as `0-3,8,10-11`. */
export function countCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

/**
 * A process of the cgroup at `dir` or below, given its `cgroup.procs`: the
 * container's init, or, when a system container's own manager moved it
 * into a child cgroup, the first process found there. All of them are in
 * the container's network namespace but the rare one that made its own.
 */
export async function anyPid(dir: string, procs: string | undefined, depth = 0): Promise<number | undefined> {
  const first = procs?.split("\n", 1)[0];
  if (first) return Number(first);
  if (depth >= 4) return undefined;
  let entries: string[];
  try {
    entries = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return undefined;
  }
  for (const e of entries) {
    const child = join(dir, e);
    const pid = await anyPid(child, await fsp.readFile(join(child, "cgroup.procs"), "utf8").catch(() => undefined), depth + 1);
    if (pid !== undefined) return pid;
  }
  return undefined;
}

/** The network namespace of this process (`net:[4026531840]`): a container in it shares the host's. */
export function ownNetns(): string | undefined {
  try {
    return readlinkSync("/proc/self/ns/net");
  } catch {
    return undefined;
  }
}

/**
 * The files metrics reads of a container's cgroup beyond the stats ones
 * (`statsFilesFor`), for a child of a cgroup whose `cgroup.subtree_control`
 * is `subtreeControl`: memory.stat and memory.max with the memory
 * controller, the effective CPUs with cpuset, and cgroup.procs (a process
 * whose network namespace has the container's interfaces).
 */
export function metricsFilesFor(subtreeControl: string): string[] {
  const on = new Set(subtreeControl.trim().split(/\s+/));
  return [...(on.has("memory") ? ["memory.stat", "memory.max"] : []), ...(on.has("cpuset") ? ["cpuset.cpus.effective"] : []), "cgroup.procs"];
}

/**
 * A container's figures from its cgroup's files as `text` gives them: the
 * stats, memory.stat, memory.max and the effective CPUs. The interfaces'
 * counters come from its network namespace, apart.
 */
export function metricsFrom(text: FileText): ContainerMetrics {
  const out: ContainerMetrics = { stats: statsFrom(text) };
  const memStat = text("memory.stat");
  if (memStat !== undefined) out.memoryStat = parseFlatKeyed(memStat);
  const max = text("memory.max")?.trim();
  if (max) out.memoryMax = max === "max" ? "max" : Number(max);
  const cpus = text("cpuset.cpus.effective");
  if (cpus?.trim()) out.cpus = countCpuList(cpus);
  return out;
}

/** The host's MemTotal in bytes (what a container without memory.max may use). */
export function hostMemTotal(): number {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(read("/proc/meminfo") ?? "");
  return m ? Number(m[1]) * 1024 : 0;
}

/** A block device's kernel name (`sda`, `vdb`, `loop3`) from its `MAJOR:MINOR`, as Incus labels disks. */
export function blockDeviceName(dev: string, sysDevBlock = "/sys/dev/block"): string {
  try {
    return basename(readlinkSync(join(sysDevBlock, dev)));
  } catch {
    return dev;
  }
}

export interface MetricNaming {
  /** Metric name prefix without the underscore: `warren` (default), `incus`, `lxd`. */
  prefix: string;
  /** The `project` label's value (Incus's dashboards select on it). */
  project: string;
  /** MemTotal for a container without memory.max. */
  memTotal: number;
  /** `MAJOR:MINOR` → the `device` label. */
  blockName: (dev: string) => string;
}

/** memory.stat key → Incus's `memory_<Name>_bytes`. */
const MEMORY_STAT: readonly (readonly [string, string, string])[] = [
  ["Active_anon", "active_anon", "Anonymous memory on the active LRU list"],
  ["Active_file", "active_file", "File-backed memory on the active LRU list"],
  ["Inactive_anon", "inactive_anon", "Anonymous memory on the inactive LRU list"],
  ["Inactive_file", "inactive_file", "File-backed memory on the inactive LRU list"],
  ["Cached", "file", "Page cache (file-backed memory)"],
  ["Dirty", "file_dirty", "Memory waiting to be written back to disk"],
  ["Mapped", "file_mapped", "File-backed memory mapped into processes"],
  ["RSS", "anon", "Anonymous memory (and swap cache)"],
  ["Shmem", "shmem", "Swap-backed file system memory (tmpfs, shm)"],
  ["Unevictable", "unevictable", "Memory that cannot be reclaimed"],
  ["Writeback", "file_writeback", "Memory being written back to disk"],
];

/**
 * The metric families of the containers in `entries` (name → figures).
 * Every sample has the labels `name`, `project` and `type="container"`,
 * as Incus's instance metrics do.
 */
export function metricFamilies(entries: Readonly<Record<string, ContainerMetrics>>, naming: MetricNaming): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const add = (name: string, type: MetricType, help: string, container: string, value: number, labels: Record<string, string> = {}) => {
    const full = `${naming.prefix}_${name}`;
    let f = families.get(full);
    if (!f) families.set(full, (f = { name: full, help, type, samples: [] }));
    const sample: Sample = { labels: { name: container, project: naming.project, type: "container", ...labels }, value };
    f.samples.push(sample);
  };
  for (const [name, m] of Object.entries(entries)) {
    const s = m.stats;
    // cgroup v2 does not split CPU time per CPU, so there is no `cpu` label.
    add("cpu_seconds_total", "counter", "CPU time used, in seconds", name, s.cpu.userUsec / 1e6, { mode: "user" });
    add("cpu_seconds_total", "counter", "CPU time used, in seconds", name, s.cpu.systemUsec / 1e6, { mode: "system" });
    if (m.cpus !== undefined) add("cpu_effective_total", "gauge", "CPUs the container may run on", name, m.cpus);
    if (s.memory) {
      const total = typeof m.memoryMax === "number" ? Math.min(m.memoryMax, naming.memTotal || m.memoryMax) : naming.memTotal;
      const free = Math.max(0, total - s.memory.current);
      add("memory_MemTotal_bytes", "gauge", "Memory the container may use: memory.max, else the host's", name, total);
      add("memory_MemFree_bytes", "gauge", "MemTotal less the memory in use (memory.current)", name, free);
      const stat = m.memoryStat ?? {};
      add("memory_MemAvailable_bytes", "gauge", "MemFree plus the reclaimable page cache (inactive file)", name, Math.min(total, free + (stat.inactive_file ?? 0)));
      if (m.memoryStat) {
        add("memory_Active_bytes", "gauge", "Memory on the active LRU lists", name, (stat.active_anon ?? 0) + (stat.active_file ?? 0));
        add("memory_Inactive_bytes", "gauge", "Memory on the inactive LRU lists", name, (stat.inactive_anon ?? 0) + (stat.inactive_file ?? 0));
        for (const [metric, key, help] of MEMORY_STAT) {
          if (stat[key] !== undefined) add(`memory_${metric}_bytes`, "gauge", help, name, stat[key]);
        }
      }
      if (s.memory.swapCurrent !== undefined) add("memory_Swap_bytes", "gauge", "Swap in use", name, s.memory.swapCurrent);
      add("memory_OOM_kills_total", "counter", "Processes killed by the OOM killer", name, s.memory.events.oomKill);
    }
    for (const [dev, io] of Object.entries(s.io ?? {})) {
      const device = { device: naming.blockName(dev) };
      add("disk_read_bytes_total", "counter", "Bytes read from the block device", name, io.rbytes, device);
      add("disk_reads_completed_total", "counter", "Reads completed on the block device", name, io.rios, device);
      add("disk_written_bytes_total", "counter", "Bytes written to the block device", name, io.wbytes, device);
      add("disk_writes_completed_total", "counter", "Writes completed on the block device", name, io.wios, device);
    }
    for (const [dev, n] of Object.entries(m.network ?? {})) {
      const device = { device: dev };
      add("network_receive_bytes_total", "counter", "Bytes received on the interface", name, n.rxBytes, device);
      add("network_receive_drop_total", "counter", "Received packets dropped on the interface", name, n.rxDrop, device);
      add("network_receive_errs_total", "counter", "Receive errors on the interface", name, n.rxErrs, device);
      add("network_receive_packets_total", "counter", "Packets received on the interface", name, n.rxPackets, device);
      add("network_transmit_bytes_total", "counter", "Bytes sent on the interface", name, n.txBytes, device);
      add("network_transmit_drop_total", "counter", "Sent packets dropped on the interface", name, n.txDrop, device);
      add("network_transmit_errs_total", "counter", "Transmit errors on the interface", name, n.txErrs, device);
      add("network_transmit_packets_total", "counter", "Packets sent on the interface", name, n.txPackets, device);
    }
    // A gauge although the name ends in _total: Incus's name, and its type.
    if (s.pids) add("procs_total", "gauge", "Tasks (processes and threads) in the container (pids.current)", name, s.pids.current);
  }
  return [...families.values()];
}
