/**
 * The managed bridge sharding at a lowered port cap, on the real kernel:
 * the third container lands on `<bridge>-1`, reaches the others and the
 * host, and gc removes the shard once it is empty.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { managedNetwork } from "../../src/network/manager.js";
import { resolveRuntime } from "../../src/config/runtime.js";
import { busybox, cleanupAll, runtime } from "../helpers/env.js";

const run = promisify(execFile);
const net = () => managedNetwork(resolveRuntime(runtime()));
const hostLinks = () => readdirSync("/sys/class/net");

beforeAll(() => {
  process.env.WARREN_BRIDGE_PORT_CAP = "2";
});
afterAll(async () => {
  delete process.env.WARREN_BRIDGE_PORT_CAP;
  await cleanupAll();
  await Container.gc(runtime());
});

const bridged = { nics: [{ type: "bridged" as const }] };
const address = async (c: Container) => (await c.network()).find((i) => i.name === "eth0")!.addresses[0]!.split("/")[0]!;

describe("managed bridge shards", () => {
  it("puts the third container on shard 1 at cap 2; all reach each other and the host; gc removes the emptied shard", async () => {
    const a = await busybox("sh-a", bridged);
    const b = await busybox("sh-b", bridged);
    const c = await busybox("sh-c", bridged);
    for (const x of [a, b, c]) await x.start();
    const shard = `${net().bridge}-1`;
    expect(hostLinks()).toContain(net().bridge);
    expect(hostLinks()).toContain(shard);
    const [ia, ib, ic] = [await address(a), await address(b), await address(c)];
    expect(new Set([ia, ib, ic]).size).toBe(3);
    // The shard's subnet is the next block after the first's.
    const first = ia.split(".").slice(0, 3).join(".");
    expect(ib.startsWith(`${first}.`)).toBe(true);
    expect(ic.split(".")[2]).toBe(String(Number(ia.split(".")[2]) + 1));
    // The shard's container goes out through its own gateway on the shard.
    const gw = /default via (\S+)/.exec((await c.execOutput(["ip", "route"])).stdout)?.[1];
    expect(gw).toBe(`${ic.split(".").slice(0, 3).join(".")}.1`);
    expect((await c.execOutput(["ping", "-c", "1", "-W", "2", gw!])).code).toBe(0);
    // Across shards, both ways, routed by the host.
    expect((await c.execOutput(["ping", "-c", "1", "-W", "2", ia])).code).toBe(0);
    expect((await a.execOutput(["ping", "-c", "1", "-W", "2", ic])).code).toBe(0);
    // Its own NAT rules, like the first bridge's.
    const { stdout } = await run("nft", ["list", "table", "inet", net().table]);
    expect(stdout).toContain(`"${shard}"`);

    await c.stop({ timeout: 0 });
    await c.destroy();
    await Container.gc(runtime());
    for (let i = 0; i < 50 && hostLinks().includes(shard); i++) await new Promise((r) => setTimeout(r, 50));
    expect(hostLinks()).not.toContain(shard);
    expect(existsSync(join(net().leaseDir, `${shard}.json`))).toBe(false);
    expect((await run("nft", ["list", "table", "inet", net().table])).stdout).not.toContain(`"${shard}"`);
    // The first bridge stays for the containers left on it.
    expect(hostLinks()).toContain(net().bridge);
    expect((await a.execOutput(["ping", "-c", "1", "-W", "2", ib])).code).toBe(0);
    await a.stop({ timeout: 0 });
    await b.stop({ timeout: 0 });
  });
});
