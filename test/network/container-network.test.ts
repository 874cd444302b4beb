/**
 * Containers on warren's managed bridge, macvlan, physical NICs, port
 * forwards and hotplug, on the real kernel. All traffic stays on this
 * machine: between containers, the bridge and the host's loopback.
 */
import { execFile } from "node:child_process";
import { connect, createServer } from "node:net";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { managedNetwork } from "../../src/network/manager.js";
import { Netlink } from "../../src/network/netlink.js";
import { resolveRuntime } from "../../src/config/runtime.js";
import { busybox, cleanupAll, rootfs, runtime, stateRoot, uniqueName } from "../helpers/env.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const net = () => managedNetwork(resolveRuntime(runtime()));
const hostLinks = () => readdirSync("/sys/class/net");

afterAll(async () => {
  await cleanupAll();
  await Container.gc(runtime());
});

const bridged = (extra: Record<string, unknown> = {}) => ({ nics: [{ type: "bridged" as const, ...extra }] });

describe("managed bridge", () => {
  it("gives containers addresses on warren's bridge: they reach each other and the host", async () => {
    const a = await busybox("br-a", bridged());
    const b = await busybox("br-b", bridged());
    await a.start();
    await b.start();
    expect(hostLinks()).toContain(net().bridge);
    const ia = (await a.network()).find((i) => i.name === "eth0")!;
    const ib = (await b.network()).find((i) => i.name === "eth0")!;
    expect(ia.up).toBe(true);
    expect(ia.addresses[0]).toMatch(/^10\.\d+\.\d+\.\d+\/24$/);
    expect(ia.addresses[0]).not.toBe(ib.addresses[0]);
    expect(ia.mac).not.toBe(ib.mac);
    const bAddr = ib.addresses[0]!.split("/")[0]!;
    expect((await a.execOutput(["ping", "-c", "1", "-W", "2", bAddr])).code).toBe(0);
    // The default route goes through the bridge's host address.
    const route = await a.execOutput(["ip", "route"]);
    const gateway = /default via (\S+)/.exec(route.stdout)?.[1];
    expect(gateway).toBeDefined();
    // A TCP server on the bridge's host address is reachable from inside.
    const server = createServer((s) => s.end("from-host\n"));
    await new Promise<void>((r) => server.listen(0, gateway, r));
    const port = (server.address() as { port: number }).port;
    const got = await b.execOutput(["sh", "-c", `nc ${gateway} ${port} </dev/null`]);
    server.close();
    expect(got.stdout).toBe("from-host\n");
    // Traffic counted on the container's interface.
    const after = (await a.network()).find((i) => i.name === "eth0")!;
    expect(after.stats!.txPackets).toBeGreaterThan(0);
    await a.stop({ timeout: 0 });
    await b.stop({ timeout: 0 });
    // The veths go with the containers' namespaces (torn down by the kernel
    // asynchronously, shortly after the stop).
    for (let i = 0; i < 100 && hostLinks().some((l) => l.startsWith("ve")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(hostLinks().filter((l) => l.startsWith("ve"))).toEqual([]);
  });

  it("keeps a container's address across restarts and across Node processes", async () => {
    const c = await busybox("br-keep", bridged());
    await c.start();
    const first = (await c.network()).find((i) => i.name === "eth0")!.addresses[0];
    await c.stop({ timeout: 0 });
    await c.start();
    expect((await c.network()).find((i) => i.name === "eth0")!.addresses[0]).toBe(first);
    await c.stop({ timeout: 0 });
    const file = join(stateRoot(), `other-${Date.now()}.mts`);
    writeFileSync(
      file,
      `import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
       const c = await Container.get(${JSON.stringify(c.name)}, { root: ${JSON.stringify(stateRoot())} });
       await c.start();
       console.log((await c.network()).find((i) => i.name === "eth0").addresses[0]);
       await c.stop({ timeout: 0 });`,
    );
    const { stdout } = await run(process.execPath, ["--import", "tsx", file], { cwd: repo });
    expect(stdout.trim()).toBe(first);
  });

  it("forwards a port on the host's 127.0.0.1 to a container, and removes it on stop", async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const c = await busybox("br-port", { ...bridged(), ports: [{ host: `${hostPort}`, container: 80 }] });
    await c.start();
    const server = await c.exec(["sh", "-c", "echo from-container | nc -l -p 80"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    await new Promise((r) => setTimeout(r, 200));
    const reply = await new Promise<string>((res, rej) => {
      const s = connect(hostPort, "127.0.0.1");
      let data = "";
      s.on("data", (d) => (data += d));
      s.on("end", () => res(data));
      s.on("error", rej);
      s.setTimeout(3000, () => rej(new Error("timeout")));
    });
    expect(reply).toBe("from-container\n");
    await server.exited;
    // Hairpin: the container reaches its own forwarded port through the
    // bridge's host address.
    const gw = /default via (\S+)/.exec((await c.execOutput(["ip", "route"])).stdout)?.[1];
    const again = await c.exec(["sh", "-c", "echo hairpin | nc -l -p 80"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    await new Promise((r) => setTimeout(r, 200));
    const self = await c.execOutput(["sh", "-c", `nc -w 2 ${gw} ${hostPort} </dev/null`]);
    expect(self.stdout).toBe("hairpin\n");
    await again.exited;
    await c.stop({ timeout: 0 });
    const { stdout } = await run("nft", ["list", "table", "inet", net().table]).catch(() => ({ stdout: "" }));
    expect(stdout).not.toContain(String(hostPort));
  });

  it("points /etc/resolv.conf at the nameservers asked for", async () => {
    // A rootfs with its own /etc/resolv.conf gets the generated one bound over it.
    const dir = mkdtempSync(join(tmpdir(), "warren-rootfs-"));
    try {
      await run("cp", ["-a", `${rootfs()}/.`, dir]);
      writeFileSync(join(dir, "etc/resolv.conf"), "nameserver 203.0.113.1\n");
      const c = await busybox("dns", { ...bridged(), rootfs: { path: dir, mode: "ro" }, dns: ["192.0.2.53", "192.0.2.54"] });
      await c.start();
      expect((await c.execOutput(["cat", "/etc/resolv.conf"])).stdout).toBe("nameserver 192.0.2.53\nnameserver 192.0.2.54\n");
      await c.stop({ timeout: 0 });
      // The rootfs itself is untouched.
      expect((await run("cat", [join(dir, "etc/resolv.conf")])).stdout).toBe("nameserver 203.0.113.1\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("hotplugs a second NIC into a running container and removes it", async () => {
    const c = await busybox("br-hot", bridged());
    await c.start();
    await c.addNic({ type: "bridged", name: "eth1" });
    let ifs = await c.network();
    expect(ifs.map((i) => i.name)).toContain("eth1");
    expect(ifs.find((i) => i.name === "eth1")!.addresses[0]).toMatch(/^10\./);
    expect(c.config.nics.map((n) => n.type === "bridged" && n.name)).toEqual(["eth0", "eth1"]);
    await c.removeNic("eth1");
    ifs = await c.network();
    expect(ifs.map((i) => i.name)).not.toContain("eth1");
    await c.stop({ timeout: 0 });
  });

  it("hands 50 containers created in parallel by two Node processes 50 distinct addresses", async () => {
    const script = (tag: string) => `
      import { readFileSync } from "node:fs";
      import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
      const made = await Promise.all(Array.from({ length: 25 }, (_, i) =>
        Container.create("par-${tag}-" + i, { rootfs: { path: ${JSON.stringify(rootfs())}, mode: "ro" }, nics: [{ type: "bridged" }] },
          { root: ${JSON.stringify(stateRoot())} })));
      console.log(JSON.stringify(made.map((c) => JSON.parse(readFileSync(c.stateDir + "/container.json", "utf8")).leases[0].ipv4)));`;
    const files = ["x", "y"].map((tag) => {
      const f = join(stateRoot(), `par-${tag}.mts`);
      writeFileSync(f, script(tag));
      return f;
    });
    const outs = await Promise.all(files.map((f) => run(process.execPath, ["--import", "tsx", f], { cwd: repo })));
    const addrs = outs.flatMap((o) => JSON.parse(o.stdout.trim().split("\n").pop()!) as string[]);
    expect(addrs).toHaveLength(50);
    expect(new Set(addrs).size).toBe(50);
    for (const tag of ["x", "y"]) {
      for (let i = 0; i < 25; i++) await (await Container.get(`par-${tag}-${i}`, runtime())).destroy();
    }
  });

  it("refuses a managed subnet that overlaps a route the host has", async () => {
    const host = Netlink.host();
    const taken = host.routes(4).find((r) => r.dst && r.prefixLength && r.prefixLength >= 8 && r.prefixLength <= 30);
    host.close();
    if (!taken?.dst) return; // no such route on this host to collide with
    const other = { root: mkdtempSync(join(tmpdir(), "warren-overlap-")) };
    const c = await Container.create(uniqueName("overlap"), { rootfs: { path: rootfs(), mode: "ro" }, nics: [{ type: "bridged", subnet: taken.dst }] }, other);
    await expect(c.start()).rejects.toMatchObject({ code: "ERR_WARREN_CONFIG", message: expect.stringMatching(/overlaps the host's route/) });
    expect(c.state).toBe("created");
    await c.destroy();
    await Container.gc(other);
    rmSync(other.root, { recursive: true, force: true });
  });

  it("refuses bad input with a typed error, leaving nothing half-made", async () => {
    await expect(busybox("bad-static", bridged({ ipv4: "192.0.2.5" }))).rejects.toMatchObject({ code: "ERR_WARREN_CONFIG" });
    await expect(busybox("bad-parent", { nics: [{ type: "macvlan", parent: "nosuchif0" }] }).then((c) => c.start())).rejects.toMatchObject({
      code: "ERR_WARREN_CONFIG",
    });
    const hostPort = 40000 + Math.floor(Math.random() * 20000);
    const a = await busybox("port-a", { ...bridged(), ports: [{ host: `127.0.0.1:${hostPort}`, container: 80 }] });
    const b = await busybox("port-b", { ...bridged(), ports: [{ host: `127.0.0.1:${hostPort}`, container: 80 }] });
    await a.start();
    await expect(b.start()).rejects.toMatchObject({ code: "ERR_WARREN_CONFIG" });
    expect(b.state).toBe("created");
    await a.stop({ timeout: 0 });
  });
});

describe("macvlan and physical NICs", () => {
  // This kernel has no dummy driver: a veth pair stands in for a host NIC.
  function hostPair(prefix: string): { host: Netlink; a: string; b: string } {
    const host = Netlink.host();
    const a = `${prefix}${process.pid % 10000}a`;
    const b = `${prefix}${process.pid % 10000}b`;
    host.createVeth(a, b);
    host.setUp(a);
    host.setUp(b);
    return { host, a, b };
  }

  it("puts two containers on a host interface with their own MACs; they reach each other", async () => {
    const { host, a: parent } = hostPair("wrmv");
    try {
      const a = await busybox("mv-a", { nics: [{ type: "macvlan", parent, ipv4: "10.97.0.2/24" }] });
      const b = await busybox("mv-b", { nics: [{ type: "macvlan", parent, ipv4: "10.97.0.3/24" }] });
      await a.start();
      await b.start();
      const ma = (await a.network()).find((i) => i.name === "eth0")!.mac;
      const mb = (await b.network()).find((i) => i.name === "eth0")!.mac;
      expect(ma).toBeDefined();
      expect(ma).not.toBe(mb);
      expect((await a.execOutput(["ping", "-c", "1", "-W", "2", "10.97.0.3"])).code).toBe(0);
      await a.stop({ timeout: 0 });
      await b.stop({ timeout: 0 });
    } finally {
      host.deleteLink(parent);
      host.close();
    }
  });

  it("moves a host interface in for the container's life and gives it back with its name", async () => {
    const { host, a: phys } = hostPair("wrph");
    try {
      const c = await busybox("phys", { nics: [{ type: "physical", parent: phys, name: "eth0", ipv4: "10.96.0.2/24" }] });
      await c.start();
      expect(hostLinks()).not.toContain(phys);
      expect((await c.network()).find((i) => i.name === "eth0")!.addresses).toContain("10.96.0.2/24");
      await c.stop({ timeout: 0 });
      expect(hostLinks()).toContain(phys);

      // The process that started it dies with SIGKILL while the NIC is
      // lent; the next warren call (here: a stop from this process) gives
      // it back.
      const name = uniqueName("phys-kill");
      const file = join(stateRoot(), `${name}.mts`);
      writeFileSync(
        file,
        `import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
         const c = await Container.create(${JSON.stringify(name)}, { rootfs: { path: ${JSON.stringify(rootfs())}, mode: "ro" },
           init: ["/bin/sh", "-c", "while :; do sleep 3600; done"], nics: [{ type: "physical", parent: ${JSON.stringify(phys)}, name: "eth9" }] }, { root: ${JSON.stringify(stateRoot())} });
         await c.start();
         process.kill(process.pid, "SIGKILL");`,
      );
      await run(process.execPath, ["--import", "tsx", file], { cwd: repo }).catch(() => undefined);
      expect(hostLinks()).not.toContain(phys);
      const orphan = await Container.get(name, runtime());
      expect(orphan.state).toBe("running");
      await orphan.stop({ timeout: 0 });
      expect(hostLinks()).toContain(phys);
      await orphan.destroy();
    } finally {
      host.deleteLink(phys);
      host.close();
    }
  });
});
