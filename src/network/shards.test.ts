import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";

import { LeaseStore } from "./ipam.js";
import { bridgePortCap, DEFAULT_PORT_CAP, leaseOnShards, shardIndex, shardName, shardsOf, shardSubnet } from "./shards.js";

const dir = mkdtempSync(join(tmpdir(), "warren-shards-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.WARREN_BRIDGE_PORT_CAP;
});

describe("bridge shards", () => {
  it("names shards after the bridge and carves their subnets next to the first", () => {
    expect(shardName("warren0", 0)).toBe("warren0");
    expect(shardName("warren0", 2)).toBe("warren0-2");
    expect(shardIndex("warren0", "warren0")).toBe(0);
    expect(shardIndex("warren0", "warren0-12")).toBe(12);
    expect(shardIndex("warren0", "warren0-0")).toBeUndefined();
    expect(shardIndex("warren0", "warren01")).toBeUndefined();
    expect(shardSubnet("10.117.0.0/24", 1)).toBe("10.117.1.0/24");
    expect(shardSubnet("10.117.0.0/22", 2)).toBe("10.117.8.0/22");
    expect(shardSubnet("fd42:1::/64", 3)).toBe("fd42:1:0:3::/64");
    expect(() => shardSubnet("255.255.255.0/24", 1)).toThrow(/no room after/);
  });

  it("reads the cap from WARREN_BRIDGE_PORT_CAP and refuses nonsense", () => {
    expect(bridgePortCap({})).toBe(DEFAULT_PORT_CAP);
    expect(bridgePortCap({ WARREN_BRIDGE_PORT_CAP: "2" })).toBe(2);
    expect(() => bridgePortCap({ WARREN_BRIDGE_PORT_CAP: "0" })).toThrow(expect.objectContaining({ issues: [expect.objectContaining({ path: "WARREN_BRIDGE_PORT_CAP" })] }));
    expect(() => bridgePortCap({ WARREN_BRIDGE_PORT_CAP: "2000" })).toThrow(/1 to 1023/);
  });

  it("fills a shard up to the cap, then the next; a key keeps its shard", async () => {
    process.env.WARREN_BRIDGE_PORT_CAP = "2";
    const store = new LeaseStore(join(dir, "cap"));
    const spec = { subnet: "10.50.0.0/24" };
    const got = [];
    for (const k of ["a", "b", "c", "d", "e"]) got.push(await leaseOnShards(store, "wrt0", k, spec, {}));
    expect(got.map((g) => g.network)).toEqual(["wrt0", "wrt0", "wrt0-1", "wrt0-1", "wrt0-2"]);
    expect(got[2]!.lease.ipv4).toBe("10.50.1.2");
    expect(got[2]!.record.gateway).toBe("10.50.1.1");
    expect(await shardsOf(store, "wrt0")).toEqual(["wrt0", "wrt0-1", "wrt0-2"]);
    // Again for "c": the same shard and address.
    expect((await leaseOnShards(store, "wrt0", "c", spec, {})).lease.ipv4).toBe("10.50.1.2");
    // A place freed on the first shard is taken first.
    await store.release("wrt0", "a");
    expect((await leaseOnShards(store, "wrt0", "f", spec, {})).network).toBe("wrt0");
  });

  it("moves on when the subnet is full before the cap", async () => {
    const store = new LeaseStore(join(dir, "small"));
    const spec = { subnet: "10.51.0.0/30" }; // one host address besides the gateway
    expect((await leaseOnShards(store, "wrt1", "a", spec, {})).network).toBe("wrt1");
    const second = await leaseOnShards(store, "wrt1", "b", spec, {});
    expect(second).toMatchObject({ network: "wrt1-1", lease: { ipv4: "10.51.0.6" } });
  });

  it("leases on a shard that gc is removing only after its teardown, on the shard made again", async () => {
    process.env.WARREN_BRIDGE_PORT_CAP = "1";
    const store = new LeaseStore(join(dir, "race"));
    const spec = { subnet: "10.52.0.0/24" };
    expect((await leaseOnShards(store, "wrt2", "a", spec, {})).network).toBe("wrt2");
    expect((await leaseOnShards(store, "wrt2", "b", spec, {})).network).toBe("wrt2-1");
    await store.release("wrt2-1", "b");
    // gc's teardown of the emptied shard (its bridge, NAT) is under way ...
    const order: string[] = [];
    let inTeardown!: () => void;
    let finishTeardown!: () => void;
    const started = new Promise<void>((r) => (inTeardown = r));
    const gate = new Promise<void>((r) => (finishTeardown = r));
    const removal = store.removeNetwork("wrt2-1", {
      teardown: async () => {
        inTeardown();
        await gate;
        order.push("torn down");
      },
    });
    await started;
    // ... when a NIC needs a place: the first shard is full, so wrt2-1.
    const leasing = leaseOnShards(store, "wrt2", "c", spec, {}).then((l) => (order.push("leased"), l));
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual([]);
    finishTeardown();
    await removal;
    const lease = await leasing;
    expect(order).toEqual(["torn down", "leased"]);
    expect(lease).toMatchObject({ network: "wrt2-1", lease: { ipv4: "10.52.1.2" } });
    expect((await store.network("wrt2-1"))?.leases).toHaveProperty("c");
  });
});
