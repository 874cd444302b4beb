import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { parseExposition, sampleValue } from "../../test/helpers/prometheus.js";
import { blockDeviceName, countCpuList, metricFamilies, parseNetDev, type ContainerMetrics } from "./metrics.js";
import { formatExposition } from "./prometheus.js";

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:    1000      10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0
`;

const entry: ContainerMetrics = {
  stats: {
    cpu: { usageUsec: 3_000_000, userUsec: 2_000_000, systemUsec: 1_000_000 },
    memory: { current: 100, swapCurrent: 5, events: { low: 0, high: 0, max: 0, oom: 1, oomKill: 1, oomGroupKill: 0 } },
    pids: { current: 4, max: "max" },
    io: { "8:0": { rbytes: 10, wbytes: 20, rios: 1, wios: 2, dbytes: 0, dios: 0 } },
    pressure: {},
  },
  memoryStat: { anon: 60, file: 40, active_anon: 50, inactive_anon: 10, active_file: 30, inactive_file: 10, shmem: 1 },
  memoryMax: 1000,
  cpus: 4,
  network: parseNetDev(NET_DEV),
};

const naming = { prefix: "incus", project: "default", memTotal: 1 << 30, blockName: (d: string) => (d === "8:0" ? "sda" : d) };

describe("container metrics", () => {
  it("parses /proc/PID/net/dev and cpuset lists", () => {
    expect(parseNetDev(NET_DEV).eth0).toEqual({ rxBytes: 1000, rxPackets: 10, rxErrs: 1, rxDrop: 2, txBytes: 2000, txPackets: 20, txErrs: 3, txDrop: 4 });
    expect(Object.keys(parseNetDev(NET_DEV))).toEqual(["lo", "eth0"]);
    expect(countCpuList("0-3,8,10-11\n")).toBe(7);
    expect(countCpuList("0\n")).toBe(1);
  });

  it("names a block device by its kernel name, or leaves MAJOR:MINOR", () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-sysblock-"));
    try {
      symlinkSync("../../devices/pci0000:00/0000:00:04.0/virtio2/block/vda", join(dir, "254:0"));
      expect(blockDeviceName("254:0", dir)).toBe("vda");
      expect(blockDeviceName("7:9", dir)).toBe("7:9");
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("maps the figures to Incus's metric names, types and labels", () => {
    const text = formatExposition(metricFamilies({ web: entry }, naming));
    const f = parseExposition(text);
    const l = { name: "web", project: "default", type: "container" };
    expect(sampleValue(f, "incus_cpu_seconds_total", { ...l, mode: "user" })).toBe(2);
    expect(sampleValue(f, "incus_cpu_seconds_total", { ...l, mode: "system" })).toBe(1);
    expect(sampleValue(f, "incus_cpu_effective_total", l)).toBe(4);
    expect(sampleValue(f, "incus_memory_MemTotal_bytes", l)).toBe(1000);
    expect(sampleValue(f, "incus_memory_MemFree_bytes", l)).toBe(900);
    expect(sampleValue(f, "incus_memory_MemAvailable_bytes", l)).toBe(910);
    expect(sampleValue(f, "incus_memory_RSS_bytes", l)).toBe(60);
    expect(sampleValue(f, "incus_memory_Cached_bytes", l)).toBe(40);
    expect(sampleValue(f, "incus_memory_Active_bytes", l)).toBe(80);
    expect(sampleValue(f, "incus_memory_Inactive_bytes", l)).toBe(20);
    expect(sampleValue(f, "incus_memory_Swap_bytes", l)).toBe(5);
    expect(sampleValue(f, "incus_memory_OOM_kills_total", l)).toBe(1);
    expect(sampleValue(f, "incus_disk_read_bytes_total", { ...l, device: "sda" })).toBe(10);
    expect(sampleValue(f, "incus_disk_writes_completed_total", { ...l, device: "sda" })).toBe(2);
    expect(sampleValue(f, "incus_network_receive_bytes_total", { ...l, device: "eth0" })).toBe(1000);
    expect(sampleValue(f, "incus_network_transmit_drop_total", { ...l, device: "eth0" })).toBe(4);
    expect(sampleValue(f, "incus_procs_total", l)).toBe(4);
    const types = Object.fromEntries(f.map((x) => [x.name, x.type]));
    expect(types.incus_cpu_seconds_total).toBe("COUNTER");
    expect(types.incus_procs_total).toBe("GAUGE");
    expect(types.incus_memory_RSS_bytes).toBe("GAUGE");
    // Absent memory.stat keys give no series rather than a false zero.
    expect(types.incus_memory_Dirty_bytes).toBeUndefined();
  });

  it("uses the host's memory when there is no memory.max, and leaves out what a controller does not give", () => {
    const bare: ContainerMetrics = { stats: { cpu: { usageUsec: 0, userUsec: 0, systemUsec: 0 }, pressure: {} } };
    const f = parseExposition(formatExposition(metricFamilies({ a: { ...entry, memoryMax: "max" }, b: bare }, { ...naming, prefix: "warren" })));
    expect(sampleValue(f, "warren_memory_MemTotal_bytes", { name: "a" })).toBe(1 << 30);
    expect(sampleValue(f, "warren_memory_MemTotal_bytes", { name: "b" })).toBeUndefined();
    expect(sampleValue(f, "warren_cpu_seconds_total", { name: "b", mode: "user" })).toBe(0);
    expect(f.every((x) => x.name.startsWith("warren_"))).toBe(true);
  });
});
