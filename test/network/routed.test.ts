/**
 * Routed NICs on the real kernel: the container's address routed by the
 * host to a veth on no bridge, link-local gateways, proxy ARP on a parent,
 * and every host route and proxy entry gone after stop, destroy and a
 * crash of the owning process. All traffic stays on this machine.
 */
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { Netlink } from "../../src/network/netlink.js";
import { busybox, cleanupAll, rootfs, runtime, stateRoot, uniqueName } from "../helpers/env.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");

afterAll(async () => {
  await cleanupAll();
  await Container.gc(runtime());
});

/** The host's route to `addr`/32 (the device's name), or undefined. */
function hostRoute(addr: string): string | undefined {
  const host = Netlink.host();
  try {
    const r = host.routes(4).find((x) => x.dst === `${addr}/32`);
    return r?.oif !== undefined ? host.link(r.oif)?.name : undefined;
  } finally {
    host.close();
  }
}

/** The interfaces the host answers ARP for `addr` on. */
function proxies(addr: string): string[] {
  const host = Netlink.host();
  try {
    return host
      .proxyNeighbours()
      .filter((p) => p.address === addr)
      .map((p) => host.link(p.index)?.name ?? `#${p.index}`);
  } finally {
    host.close();
  }
}

/** An address of the host on an interface that is not ours (to reach the host itself). */
function hostAddress(): string {
  const host = Netlink.host();
  try {
    const a = host.addresses().find((x) => x.family === 4 && !x.address.startsWith("127.") && !x.address.startsWith("169.254."));
    if (!a) throw new Error("the host has no IPv4 address to test with");
    return a.address;
  } finally {
    host.close();
  }
}

// This kernel has no dummy driver: a veth pair stands in for the parent NIC.
function parentPair(): { host: Netlink; parent: string } {
  const host = Netlink.host();
  const parent = `wrrt${process.pid % 10000}a`;
  host.createVeth(parent, `wrrt${process.pid % 10000}b`);
  host.setUp(parent);
  return { host, parent };
}

const routed = (ipv4: string, extra: Record<string, unknown> = {}) => ({ nics: [{ type: "routed" as const, ipv4, ...extra }] });

describe("routed NICs", () => {
  it("routes two containers' /32s: they reach each other and the host, the host reaches them; stop and destroy undo it", async () => {
    const { host, parent } = parentPair();
    try {
      const a = await busybox("rt-a", routed("10.95.0.2", { parent }));
      const b = await busybox("rt-b", routed("10.95.0.3"));
      await a.start();
      await b.start();
      const ia = (await a.network()).find((i) => i.name === "eth0")!;
      expect(ia.addresses).toContain("10.95.0.2/32");
      expect((await a.execOutput(["ip", "route"])).stdout).toMatch(/default via 169\.254\.0\.1 dev eth0/);
      expect(hostRoute("10.95.0.2")).toMatch(/^ve/);
      expect(hostRoute("10.95.0.3")).toMatch(/^ve/);
      // A container cannot route the host with a router advertisement.
      expect(readFileSync(`/proc/sys/net/ipv6/conf/${hostRoute("10.95.0.2")}/accept_ra`, "utf8").trim()).toBe("0");
      expect(proxies("10.95.0.2")).toEqual([parent]);
      expect(proxies("10.95.0.3")).toEqual([]);
      // Container to container, both ways, through the host.
      expect((await a.execOutput(["ping", "-c", "1", "-W", "2", "10.95.0.3"])).code).toBe(0);
      expect((await b.execOutput(["ping", "-c", "1", "-W", "2", "10.95.0.2"])).code).toBe(0);
      // The default route reaches the host's own address.
      expect((await a.execOutput(["ping", "-c", "1", "-W", "2", hostAddress()])).code).toBe(0);
      // The host reaches the container's /32.
      const server = await a.exec(["sh", "-c", "echo from-routed | nc -l -p 80"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      await new Promise((r) => setTimeout(r, 200));
      const reply = await new Promise<string>((res, rej) => {
        const s = connect(80, "10.95.0.2");
        let data = "";
        s.on("data", (d) => (data += d));
        s.on("end", () => res(data));
        s.on("error", rej);
        s.setTimeout(3000, () => rej(new Error("timeout")));
      });
      expect(reply).toBe("from-routed\n");
      await server.exited;

      await a.stop({ timeout: 0 });
      expect(hostRoute("10.95.0.2")).toBeUndefined();
      expect(proxies("10.95.0.2")).toEqual([]);
      // Restarted, it gets its route and proxy entry again.
      await a.start();
      expect(hostRoute("10.95.0.2")).toMatch(/^ve/);
      expect(proxies("10.95.0.2")).toEqual([parent]);
      await a.destroy({ force: true });
      expect(hostRoute("10.95.0.2")).toBeUndefined();
      expect(proxies("10.95.0.2")).toEqual([]);
      await b.stop({ timeout: 0 });
      expect(hostRoute("10.95.0.3")).toBeUndefined();
    } finally {
      host.deleteLink(parent);
      host.close();
    }
  });

  it("refuses an address the host already routes to another container, leaving nothing behind", async () => {
    const a = await busybox("rt-dup-a", routed("10.95.0.4"));
    const b = await busybox("rt-dup-b", routed("10.95.0.4"));
    await a.start();
    await expect(b.start()).rejects.toMatchObject({ name: "ConfigError", issues: [{ path: "nics[0].ipv4" }] });
    expect(hostRoute("10.95.0.4")).toMatch(/^ve/);
    await a.stop({ timeout: 0 });
    expect(hostRoute("10.95.0.4")).toBeUndefined();
  });

  it("hotplugs a routed NIC and removes its route and proxy entry when it is unplugged", async () => {
    const { host, parent } = parentPair();
    try {
      const c = await busybox("rt-hot", routed("10.95.0.5"));
      await c.start();
      await c.addNic({ type: "routed", name: "eth1", ipv4: "10.95.0.6", parent });
      expect(hostRoute("10.95.0.6")).toMatch(/^ve/);
      expect(proxies("10.95.0.6")).toEqual([parent]);
      expect((await c.network()).find((i) => i.name === "eth1")!.addresses).toContain("10.95.0.6/32");
      await c.removeNic("eth1");
      expect(hostRoute("10.95.0.6")).toBeUndefined();
      expect(proxies("10.95.0.6")).toEqual([]);
      await c.stop({ timeout: 0 });
    } finally {
      host.deleteLink(parent);
      host.close();
    }
  });

  it("removes the routes and proxy entries of a container whose owner was killed, once gc sees it stopped", async () => {
    const { host, parent } = parentPair();
    try {
      const name = uniqueName("rt-kill");
      const file = join(stateRoot(), `${name}.mts`);
      writeFileSync(
        file,
        `import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
         const c = await Container.create(${JSON.stringify(name)}, { rootfs: { path: ${JSON.stringify(rootfs())}, mode: "ro" },
           init: ["/bin/sh", "-c", "while :; do sleep 3600; done"], nics: [{ type: "routed", ipv4: "10.95.0.7", parent: ${JSON.stringify(parent)} }] }, { root: ${JSON.stringify(stateRoot())} });
         await c.start();
         process.kill(process.pid, "SIGKILL");`,
      );
      await run(process.execPath, ["--import", "tsx", file], { cwd: repo }).catch(() => undefined);
      expect(proxies("10.95.0.7")).toEqual([parent]);
      const orphan = await Container.get(name, runtime());
      expect(orphan.state).toBe("running");
      // The container dies too, with nobody watching: only gc can clean up.
      process.kill(orphan.pid!, "SIGKILL");
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(orphan.pid!, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await Container.gc(runtime());
      expect(proxies("10.95.0.7")).toEqual([]);
      expect(hostRoute("10.95.0.7")).toBeUndefined();
      await (await Container.get(name, runtime())).destroy();
    } finally {
      host.deleteLink(parent);
      host.close();
    }
  });
});
