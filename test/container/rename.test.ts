/**
 * `c.rename()` and `c.rebuild()` on image-based containers (busybox image,
 * overlay storage): a rename moves the state directory, the record, the id
 * range entry and the address leases; a rebuild drops the container's own
 * files and keeps what it is.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { listIdRanges } from "../../src/container/id-ranges.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { Container, ImageStore, StateError } from "../../src/index.js";
import { LeaseStore } from "../../src/network/ipam.js";
import { managedNetwork } from "../../src/network/manager.js";
import { resolveRuntime } from "../../src/config/runtime.js";
import { IDLE, rootfs, runtime, stateRoot, uniqueName } from "../helpers/env.js";

const TAG = "rename-bb";
const made = new Set<Container>();

beforeAll(async () => {
  const layout = mkdtempSync(join(tmpdir(), "warren-oci-"));
  try {
    await ociLayoutFromDirectory(rootfs(), layout);
    await new ImageStore(stateRoot()).importOci(layout, { tag: TAG });
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
});

afterAll(async () => {
  for (const c of made) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
  await new ImageStore(stateRoot()).remove(TAG).catch(() => undefined);
  await Container.gc(runtime()); // the managed bridge, when no container is left
});

async function create(prefix: string, config: Record<string, unknown> = {}): Promise<Container> {
  const c = await Container.create(uniqueName(prefix), { image: TAG, init: IDLE, stopTimeout: 3000, ...config }, runtime());
  made.add(c);
  return c;
}

/** The managed bridge's leases: keys by container/NIC. */
async function leaseKeys(): Promise<string[]> {
  const net = managedNetwork(resolveRuntime(runtime()));
  return Object.keys((await new LeaseStore(net.leaseDir).network(net.bridge))?.leases ?? {});
}

describe("rename", () => {
  it("moves the directory, record, id range and leases; the container starts under its new name", async () => {
    const c = await create("ren", { nics: [{ type: "bridged", name: "eth0" }] });
    const old = c.name;
    const oldDir = c.stateDir;
    const idmap = c.idmap!;
    await c.start();
    await c.execOutput(["sh", "-c", "echo kept > /root/f"], { check: true });
    const ip = (await c.network()).find((i) => i.name === "eth0")!.addresses.find((a) => a.includes("."));
    await expect(c.rename(`${old}-x`)).rejects.toBeInstanceOf(StateError);
    await c.stop();

    const to = `${old}-new`;
    await c.rename(to);
    expect(c.name).toBe(to);
    expect(existsSync(oldDir)).toBe(false);
    const record = JSON.parse(readFileSync(join(stateRoot(), to, "container.json"), "utf8"));
    expect(record.name).toBe(to);
    expect(record.rootfs.upper).toBe(join(stateRoot(), to, "upper"));
    const ranges = (await listIdRanges()).filter((e) => e.hostUid === idmap.hostUid);
    expect(ranges.map((e) => e.container)).toEqual([to]);
    expect(await leaseKeys()).toContain(`${to}/eth0`);
    expect(await leaseKeys()).not.toContain(`${old}/eth0`);

    // Another process sees the new name only; the old one is gone.
    await expect(Container.get(old, runtime())).rejects.toThrow(/does not exist/);
    const again = await Container.get(to, runtime());
    expect(again).toBe(c);
    await c.start();
    expect((await c.execOutput(["cat", "/root/f"])).stdout).toBe("kept\n");
    expect((await c.execOutput(["hostname"])).stdout).toBe(`${to}\n`);
    const ip2 = (await c.network()).find((i) => i.name === "eth0")!.addresses.find((a) => a.includes("."));
    expect(ip2).toBe(ip);
    await c.stop();
  });

  it("refuses a name that is taken, leaving both containers as they were", async () => {
    const a = await create("rena");
    const b = await create("renb");
    await expect(a.rename(b.name)).rejects.toThrow(/exists already/);
    await expect(a.rename("bad/name")).rejects.toThrow();
    expect((await Container.get(a.name, runtime())).name).toBe(a.name);
    expect(existsSync(join(stateRoot(), a.name, "container.json"))).toBe(true);
  });
});

describe("rebuild", () => {
  it("drops the container's files and keeps its name, config and snapshots", async () => {
    const c = await create("reb", { env: { KEEP: "1" } });
    await c.start();
    await c.execOutput(["sh", "-c", "echo mine > /root/f; rm /bin/arch"], { check: true });
    await c.snapshot("s1");
    await expect(c.rebuild()).rejects.toBeInstanceOf(StateError);
    await c.stop();
    await c.rebuild();
    await c.start();
    expect((await c.execOutput(["sh", "-c", "test -e /root/f || echo gone; test -e /bin/arch && echo back; echo $KEEP"])).stdout).toBe("gone\nback\n1\n");
    expect((await c.listSnapshots()).map((s) => s.name)).toEqual(["s1"]);
    await c.stop();
    await c.restore("s1");
    await c.start();
    expect((await c.execOutput(["cat", "/root/f"])).stdout).toBe("mine\n");
    await c.stop();
  });

  it("refuses a container not made from an image", async () => {
    const c = await Container.create(uniqueName("rebdir"), { rootfs: { path: rootfs(), mode: "ro" }, init: IDLE }, runtime());
    made.add(c);
    await expect(c.rebuild()).rejects.toThrow(/not made from an image/);
  });
});
