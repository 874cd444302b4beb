/**
 * `warren metrics` and Container.metrics() on real containers: read by an
 * independent Prometheus text-format parser, the values checked against
 * stats() and the container's own view of its interfaces.
 */
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { cliFor } from "../helpers/cli.js";
import { busybox, cleanupAll, runtime, stateRoot } from "../helpers/env.js";
import { parseExposition, sampleValue, type ParsedFamily } from "../helpers/prometheus.js";

afterAll(async () => {
  await cleanupAll();
  await Container.gc(runtime());
});

describe("metrics", () => {
  it("gives each running container's CPU, memory, pids, io and network counters, as stats() and the container see them", { timeout: 90_000 }, async () => {
    const plain = await busybox("mx-plain");
    const nic = await busybox("mx-nic", { nics: [{ type: "bridged" }] });
    const stopped = await busybox("mx-off");
    await plain.start();
    await nic.start();
    // Traffic to count: the container pings its gateway.
    const gw = /default via (\S+)/.exec((await nic.execOutput(["ip", "route"])).stdout)?.[1];
    expect(gw).toBeDefined();
    await nic.execOutput(["ping", "-c", "2", "-W", "2", gw!]);

    const cli = cliFor(stateRoot());
    for (const via of ["api", "cli"] as const) {
      const before = { plain: await plain.stats(), nic: await nic.stats(), eth0: (await nic.network()).find((i) => i.name === "eth0")!.stats! };
      let text: string;
      if (via === "api") text = await Container.metrics(runtime());
      else {
        const r = await cli("metrics", []);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        text = r.stdout;
      }
      const after = { plain: await plain.stats(), nic: await nic.stats(), eth0: (await nic.network()).find((i) => i.name === "eth0")!.stats! };
      const f: ParsedFamily[] = parseExposition(text);
      const names = new Set(f.flatMap((x) => x.metrics.map((m) => m.labels?.name)));
      expect(names.has(plain.name) && names.has(nic.name), via).toBe(true);
      expect(names.has(stopped.name)).toBe(false);
      expect(f.every((x) => x.name.startsWith("warren_"))).toBe(true);

      for (const c of [plain, nic]) {
        const key = c === plain ? "plain" : "nic";
        const [b, a] = [before[key], after[key]];
        const l = { name: c.name, project: "default", type: "container" };
        const v = (family: string, extra: Record<string, string> = {}) => sampleValue(f, `warren_${family}`, { ...l, ...extra });
        // Counters lie between the two stats() calls around the scrape.
        const user = v("cpu_seconds_total", { mode: "user" })!;
        expect(user * 1e6).toBeGreaterThanOrEqual(b.cpu.userUsec - 1);
        expect(user * 1e6).toBeLessThanOrEqual(a.cpu.userUsec + 1);
        const system = v("cpu_seconds_total", { mode: "system" })!;
        expect(system * 1e6).toBeGreaterThanOrEqual(b.cpu.systemUsec - 1);
        expect(system * 1e6).toBeLessThanOrEqual(a.cpu.systemUsec + 1);
        // Idle containers: the gauges are what stats() says.
        if (a.memory) {
          expect(v("memory_MemTotal_bytes")! - v("memory_MemFree_bytes")!).toBe(a.memory.current);
          expect(v("memory_OOM_kills_total")).toBe(a.memory.events.oomKill);
          expect(v("memory_RSS_bytes")).toBeGreaterThan(0);
        }
        // A controller stats() lacks (cgroup v1 holds it on a hybrid host) gives no series, not a zero.
        else expect(v("memory_MemTotal_bytes")).toBeUndefined();
        if (a.pids) expect(v("procs_total")).toBe(a.pids.current);
        else expect(v("procs_total")).toBeUndefined();
        if (!a.io) expect(f.find((x) => x.name === "warren_disk_read_bytes_total")?.metrics.some((m) => m.labels?.name === c.name) ?? false).toBe(false);
        if (a.io && Object.keys(a.io).length > 0) {
          const s = f.find((x) => x.name === "warren_disk_read_bytes_total")!.metrics.filter((m) => m.labels?.name === c.name);
          expect(s.map((m) => Number(m.value)).sort()).toEqual(Object.values(a.io).map((x) => x.rbytes).sort());
        }
        // Every container has its own loopback.
        expect(v("network_receive_bytes_total", { device: "lo" })).toBeGreaterThanOrEqual(0);
      }
      const rx = sampleValue(f, "warren_network_receive_bytes_total", { name: nic.name, device: "eth0" })!;
      const tx = sampleValue(f, "warren_network_transmit_packets_total", { name: nic.name, device: "eth0" })!;
      expect(rx).toBeGreaterThan(0);
      expect(rx).toBeGreaterThanOrEqual(before.eth0.rxBytes);
      expect(rx).toBeLessThanOrEqual(after.eth0.rxBytes);
      expect(tx).toBeGreaterThanOrEqual(before.eth0.txPackets);
      expect(tx).toBeLessThanOrEqual(after.eth0.txPackets);
      expect(sampleValue(f, "warren_network_receive_bytes_total", { name: plain.name, device: "eth0" })).toBeUndefined();
    }

    // Incus's names, a chosen project, only the containers named.
    const r = await cli("metrics", ["--prefix", "incus", "--project", "p\"1", plain.name, stopped.name]);
    expect(r.code).toBe(0);
    const f = parseExposition(r.stdout);
    expect(f.every((x) => x.name.startsWith("incus_") && x.metrics.every((m) => m.labels?.name === plain.name && m.labels.project === 'p"1'))).toBe(true);
    expect(f.map((x) => x.name)).toContain("incus_cpu_seconds_total");

    // A container whose processes all moved into a child cgroup (as systemd
    // moves them) is found through that child; one in the host's network
    // namespace has no interfaces of its own in the figures.
    const move = "mkdir /sys/fs/cgroup/moved && for p in $(cat /sys/fs/cgroup/cgroup.procs); do echo $p > /sys/fs/cgroup/moved/cgroup.procs 2>/dev/null; done; cat /sys/fs/cgroup/moved/cgroup.procs";
    expect((await plain.execOutput(["/bin/sh", "-c", move])).stdout.split("\n")).toContain("1");
    const hostNet = await busybox("mx-hostnet", { namespaces: { net: false } });
    await hostNet.start();
    const g = parseExposition(await Container.metrics(runtime()));
    expect(sampleValue(g, "warren_network_receive_bytes_total", { name: plain.name, project: "default", type: "container", device: "lo" })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(g, "warren_cpu_seconds_total", { name: hostNet.name, project: "default", type: "container", mode: "user" })).toBeGreaterThanOrEqual(0);
    expect(g.find((x) => x.name === "warren_network_receive_bytes_total")!.metrics.some((m) => m.labels?.name === hostNet.name)).toBe(false);

    const bad = await cli("metrics", ["--prefix", "in-cus"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/prefix/);
    await expect(Container.metrics({ ...runtime(), names: ["../x"] })).rejects.toThrow(/name/);
  });
});
