import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, NotFoundError, StateError } from "../errors.js";
import {
  bridgeSubnet,
  cidrContains,
  cidrOverlaps,
  formatIp,
  generatedMac,
  hostAddress,
  LeaseStore,
  normalizeIp,
  normalizeMac,
  parseCidr,
  parseIp,
  tryParseIp,
} from "./ipam.js";

/** The ConfigError `fn` throws (or fails the test). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

async function configErrorAsync(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("addresses", () => {
  it("parses and formats IPv4", () => {
    expect(parseIp("10.117.0.1")).toEqual({ family: 4, value: 0x0a750001n });
    expect(formatIp(0x0a750001n, 4)).toBe("10.117.0.1");
    expect(formatIp(0n, 4)).toBe("0.0.0.0");
    expect(formatIp(0xffffffffn, 4)).toBe("255.255.255.255");
    for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "1.2.3.4.5", "", " 1.2.3.4", "1.2.3.-1", "a.b.c.d"]) {
      expect(tryParseIp(bad), bad).toBeUndefined();
    }
    expect(configError(() => parseIp("300.1.1.1", "nics[0].ipv4")).issues[0]!.path).toBe("nics[0].ipv4");
  });

  it("parses IPv6 in every spelling and formats it as RFC 5952", () => {
    const cases: [string, string][] = [
      ["::", "::"],
      ["::1", "::1"],
      ["fd42:1:2::", "fd42:1:2::"],
      ["FD42:0001:0002:0000:0000:0000:0000:0005", "fd42:1:2::5"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // leftmost of two equal runs
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group stays
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"], // the longest run
      ["::ffff:10.0.0.1", "::ffff:a00:1"],
      ["1::", "1::"],
      ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ];
    for (const [input, out] of cases) expect(normalizeIp(input), input).toBe(out);
    for (const bad of [":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "fe80::1%eth0", ":1::", "1.2.3.4::", "::1.2.3", "g::1", "1:2:3:4:5:6:7:8::"]) {
      expect(tryParseIp(bad), bad).toBeUndefined();
    }
  });
});

describe("prefixes", () => {
  it("parses IPv4 and IPv6 prefixes", () => {
    const c = parseCidr("10.117.0.0/24");
    expect(c).toMatchObject({ family: 4, network: 0x0a750000n, prefix: 24, size: 256n, last: 0x0a7500ffn, text: "10.117.0.0/24" });
    expect(parseCidr("10.117.0.9/24")).toMatchObject({ network: 0x0a750000n, address: 0x0a750009n, text: "10.117.0.0/24" });
    expect(parseCidr("0.0.0.0/0")).toMatchObject({ size: 1n << 32n, last: 0xffffffffn });
    const v6 = parseCidr("fd42:1:2::/64");
    expect(v6).toMatchObject({ family: 6, prefix: 64, size: 1n << 64n, text: "fd42:1:2::/64" });
    expect(formatIp(v6.last, 6)).toBe("fd42:1:2:0:ffff:ffff:ffff:ffff");
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08", "fd00::/129", "x/24", "10.0.0.0/"]) {
      const e = configError(() => parseCidr(bad, "network.subnet"));
      expect(e.issues[0]!.path, bad).toBe("network.subnet");
    }
  });

  it("tells whether an address is inside, including the edges", () => {
    expect(cidrContains("10.117.0.0/24", "10.117.0.0")).toBe(true);
    expect(cidrContains("10.117.0.0/24", "10.117.0.255")).toBe(true);
    expect(cidrContains("10.117.0.0/24", "10.117.1.0")).toBe(false);
    expect(cidrContains("10.117.0.0/24", "10.116.255.255")).toBe(false);
    expect(cidrContains("10.0.0.5/32", "10.0.0.5")).toBe(true);
    expect(cidrContains("10.0.0.4/31", "10.0.0.5")).toBe(true);
    expect(cidrContains("10.0.0.4/31", "10.0.0.6")).toBe(false);
    expect(cidrContains("0.0.0.0/0", "255.255.255.255")).toBe(true);
    expect(cidrContains("fd42:1:2::/64", "fd42:1:2:0:ffff::1")).toBe(true);
    expect(cidrContains("fd42:1:2::/64", "fd42:1:3::1")).toBe(false);
    expect(cidrContains("::/0", "10.0.0.1")).toBe(false); // another family
    expect(cidrContains("10.0.0.0/8", "::ffff:10.0.0.1")).toBe(false);
    expect(cidrContains("10.0.0.0/8", "nonsense")).toBe(false);
  });

  it("tells whether two prefixes overlap", () => {
    expect(cidrOverlaps("10.117.0.0/24", "10.117.0.128/25")).toBe(true);
    expect(cidrOverlaps("10.117.0.0/25", "10.117.0.128/25")).toBe(false);
    expect(cidrOverlaps("10.0.0.0/8", "10.200.0.0/16")).toBe(true);
    expect(cidrOverlaps("10.200.0.0/16", "10.0.0.0/8")).toBe(true);
    expect(cidrOverlaps("0.0.0.0/0", "192.168.1.1/32")).toBe(true);
    expect(cidrOverlaps("10.0.0.4/31", "10.0.0.6/31")).toBe(false);
    expect(cidrOverlaps("10.0.0.0/8", "fd00::/8")).toBe(false);
    expect(cidrOverlaps("fd42:1:2::/64", "fd42:1::/32")).toBe(true);
    expect(cidrOverlaps("fd42:1:2::/64", "fd42:1:3::/64")).toBe(false);
  });

  it("gives the n-th address", () => {
    expect(hostAddress("10.117.0.0/24", 0)).toBe("10.117.0.0");
    expect(hostAddress("10.117.0.0/24", 1)).toBe("10.117.0.1");
    expect(hostAddress("10.117.0.0/24", 255)).toBe("10.117.0.255");
    expect(() => hostAddress("10.117.0.0/24", 256)).toThrow(RangeError);
    expect(() => hostAddress("10.117.0.0/24", -1)).toThrow(RangeError);
    expect(hostAddress("fd42:1:2::/64", 1)).toBe("fd42:1:2::1");
    expect(hostAddress("fd42:1:2::/64", 0x10000n)).toBe("fd42:1:2::1:0");
  });

  it("accepts only usable bridge subnets", () => {
    expect(bridgeSubnet("10.117.0.0/24").text).toBe("10.117.0.0/24");
    expect(bridgeSubnet("10.0.0.0/30").prefix).toBe(30);
    expect(bridgeSubnet("fd42:1:2::/64").family).toBe(6);
    expect(bridgeSubnet("fd42::/126").prefix).toBe(126);
    const refused: [string, RegExp][] = [
      ["10.0.0.0/31", /too small/],
      ["10.0.0.1/32", /too small/],
      ["fd42::/127", /too small/],
      ["fd42::1/128", /too small/],
      ["10.117.0.1/24", /host bits set \(the network is 10.117.0.0\/24\)/],
      ["127.0.0.0/8", /reserved/],
      ["224.0.0.0/24", /reserved/],
      ["169.254.0.0/16", /reserved/],
      ["fe80::/64", /reserved/],
      ["ff02::/64", /reserved/],
    ];
    for (const [s, why] of refused) {
      const e = configError(() => bridgeSubnet(s, "network.subnet"));
      expect(e.issues[0]!.path).toBe("network.subnet");
      expect(e.issues[0]!.message, s).toMatch(why);
    }
    expect(configError(() => bridgeSubnet("fd42::/64", "subnet", 4)).message).toMatch(/not an IPv4 prefix/);
  });

  it("checks and generates MAC addresses", () => {
    expect(normalizeMac("02:AB:cd:00:00:01")).toBe("02:ab:cd:00:00:01");
    expect(() => normalizeMac("01:00:5e:00:00:01")).toThrow(/multicast/);
    expect(() => normalizeMac("02:00:00:00:00")).toThrow(ConfigError);
    const m = generatedMac("warren0", "web");
    expect(m).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(generatedMac("warren0", "web")).toBe(m);
    expect(generatedMac("warren0", "db")).not.toBe(m);
    expect(generatedMac("warren1", "web")).not.toBe(m);
  });
});

describe("LeaseStore", () => {
  const dirs: string[] = [];
  const store = () => {
    const d = mkdtempSync(join(tmpdir(), "warren-ipam-"));
    dirs.push(d);
    return new LeaseStore(join(d, ".network"));
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("appends one line per change, whatever the number of leases", async () => {
    const s = store();
    await s.ensureNetwork("warren0", { subnet: "10.117.0.0/16" });
    for (let i = 0; i < 300; i++) await s.allocate("warren0", `c${i}`);
    const size = () => readFileSync(s.path("warren0")).length;
    const lines = () => readFileSync(s.path("warren0"), "utf8").trim().split("\n").length;
    const [before, linesBefore] = [size(), lines()];
    await s.allocate("warren0", "one-more");
    expect(lines()).toBe(linesBefore + 1);
    expect(size() - before).toBeLessThan(120); // the new lease's line, not the file again
    await s.release("warren0", "c7");
    expect(lines()).toBe(linesBefore + 2);
    const rec = (await s.network("warren0"))!;
    expect(Object.keys(rec.leases)).toHaveLength(300);
    expect(rec.leases["one-more"]!.ipv4).toBe("10.117.1.46"); // .2 to .1.45 taken by c0..c299
    expect(rec.leases.c7).toBeUndefined();
  });

  it("reads a lease file of earlier versions (one JSON object) and continues it as a journal", async () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    const old = { version: 1, subnet: "10.120.0.0/24", gateway: "10.120.0.1", leases: { a: { ipv4: "10.120.0.2", mac: "02:00:00:00:00:0a" } } };
    writeFileSync(s.path("old0"), JSON.stringify(old, null, 2));
    expect(await s.network("old0")).toEqual(old);
    const b = await s.allocate("old0", "b");
    expect(b.ipv4).toBe("10.120.0.3");
    expect(readFileSync(s.path("old0"), "utf8")).toMatch(/^\{"journal":"[0-9a-f]+"\}\n/);
    expect(Object.keys((await s.network("old0"))!.leases).sort()).toEqual(["a", "b"]);
  });

  it("creates a network record with its gateways, once", async () => {
    const s = store();
    const rec = await s.ensureNetwork("warren0", { subnet: "10.117.0.0/24", subnet6: "fd42:1:2::/64" });
    expect(rec).toEqual({ version: 1, subnet: "10.117.0.0/24", subnet6: "fd42:1:2::/64", gateway: "10.117.0.1", gateway6: "fd42:1:2::1", leases: {} });
    // On disk: a journal (src/linux/journal.ts) whose `network` entry holds the record without leases.
    const onDisk = readFileSync(s.path("warren0"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(onDisk[0]).toEqual({ journal: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const { leases: _none, ...meta } = rec;
    expect(onDisk.slice(1)).toEqual([{ k: "network", v: meta }]);
    expect(await s.ensureNetwork("warren0", { subnet: "10.117.0.0/24", subnet6: "fd42:1:2:0::/64" })).toEqual(rec);
    expect(await s.network("warren0")).toEqual(rec);
    expect(await s.leases("warren0")).toEqual(rec);
    expect(await s.networks()).toEqual(["warren0"]);

    const e = await configErrorAsync(s.ensureNetwork("warren0", { subnet: "10.118.0.0/24" }));
    expect(e.issues[0]).toEqual({ path: "network.subnet", message: "network warren0 already exists with subnet 10.117.0.0/24, not 10.118.0.0/24" });
    const e6 = await configErrorAsync(s.ensureNetwork("warren0", { subnet: "10.117.0.0/24" }));
    expect(e6.issues[0]!.path).toBe("network.subnet6");
    expect((await configErrorAsync(s.ensureNetwork("w1", { subnet: "10.0.0.0/31" }))).issues[0]!.path).toBe("network.subnet");
    expect((await configErrorAsync(s.ensureNetwork("../evil", { subnet: "10.0.0.0/24" }))).issues[0]!.path).toBe("network");
  });

  it("hands out the lowest free address after the gateway, stable for a container", async () => {
    const s = store();
    await s.ensureNetwork("br", { subnet: "10.117.0.0/24" });
    const a = await s.allocate("br", "a");
    expect(a).toEqual({ ipv4: "10.117.0.2", mac: generatedMac("br", "a") });
    const b = await s.allocate("br", "b");
    expect(b.ipv4).toBe("10.117.0.3");
    expect(b.mac).not.toBe(a.mac);
    expect(await s.allocate("br", "a")).toEqual(a); // a restart
    expect(await new LeaseStore(s.dir).allocate("br", "a")).toEqual(a); // another process
    await s.release("br", "a");
    expect(await s.allocate("br", "c")).toMatchObject({ ipv4: "10.117.0.2" });
    expect((await s.allocate("br", "a")).ipv4).toBe("10.117.0.4");
    expect(Object.keys((await s.leases("br"))!.leases).sort()).toEqual(["a", "b", "c"]);
    await expect(s.allocate("nope", "a")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("checks static addresses", async () => {
    const s = store();
    await s.ensureNetwork("br", { subnet: "10.117.0.0/24" });
    expect((await s.allocate("br", "web", { ipv4: "10.117.0.50" })).ipv4).toBe("10.117.0.50");
    const field = "nics[0].ipv4";
    const cases: [string, RegExp][] = [
      ["10.117.0.50", /^10\.117\.0\.50 is already used by container web$/],
      ["10.117.1.5", /not in the network's subnet 10\.117\.0\.0\/24/],
      ["10.117.0.0", /network address/],
      ["10.117.0.255", /broadcast/],
      ["10.117.0.1", /gateway/],
      ["fd00::5", /not in the network's subnet/],
      ["10.117.0", /not an IPv4 or IPv6 address/],
      ["10.117.0.7/24", /without a prefix length/],
    ];
    for (const [ip, why] of cases) {
      const e = await configErrorAsync(s.allocate("br", "db", { ipv4: ip, field }));
      expect(e.issues[0]!.path).toBe(field);
      expect(e.issues[0]!.message, ip).toMatch(why);
    }
    // The dynamic allocator skips a static lease.
    await s.allocate("br", "x", { ipv4: "10.117.0.2" });
    expect((await s.allocate("br", "y")).ipv4).toBe("10.117.0.3");
    // Asking a container's lease for another static address moves it.
    expect((await s.allocate("br", "web", { ipv4: "10.117.0.60" })).ipv4).toBe("10.117.0.60");
    expect((await s.allocate("br", "z", { ipv4: "10.117.0.50" })).ipv4).toBe("10.117.0.50");
    // Same static again: the same lease.
    expect(await s.allocate("br", "z", { ipv4: "10.117.0.50" })).toEqual(await s.allocate("br", "z"));
  });

  it("checks and keeps fixed MACs", async () => {
    const s = store();
    await s.ensureNetwork("br", { subnet: "10.117.0.0/24" });
    expect((await s.allocate("br", "a", { mac: "02:AA:00:00:00:01" })).mac).toBe("02:aa:00:00:00:01");
    const e = await configErrorAsync(s.allocate("br", "b", { mac: "02:aa:00:00:00:01", field: "nics[1].ipv4" }));
    expect(e.issues[0]).toEqual({ path: "nics[1].mac", message: "02:aa:00:00:00:01 is already used by container a" });
    expect((await configErrorAsync(s.allocate("br", "b", { mac: "03:00:00:00:00:01" }))).issues[0]!.path).toBe("mac");
  });

  it("gives a typed error when a /29 is exhausted, and room again after a release", async () => {
    const s = store();
    await s.ensureNetwork("small", { subnet: "192.168.50.8/29" }); // .8 network, .9 gateway, .10-.14, .15 broadcast
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await s.allocate("small", `c${i}`)).ipv4);
    expect(got).toEqual(["192.168.50.10", "192.168.50.11", "192.168.50.12", "192.168.50.13", "192.168.50.14"]);
    const e = await configErrorAsync(s.allocate("small", "c5", { field: "nics[0].ipv4" }));
    expect(e.code).toBe("ERR_WARREN_CONFIG");
    expect(e.issues[0]!.path).toBe("nics[0].ipv4");
    expect(e.issues[0]!.message).toMatch(/no free IPv4 address left in 192\.168\.50\.8\/29 \(5 leased\)/);
    await s.release("small", "c2");
    await s.release("small", "c2"); // idempotent
    expect((await s.allocate("small", "c5")).ipv4).toBe("192.168.50.12");
  });

  it("hands out IPv6 addresses from the subnet6, stable and distinct", async () => {
    const s = store();
    await s.ensureNetwork("br", { subnet: "10.117.0.0/24", subnet6: "fd42:1:2::/64" });
    const a = await s.allocate("br", "a");
    const b = await s.allocate("br", "b");
    expect(cidrContains("fd42:1:2::/64", a.ipv6!)).toBe(true);
    expect(a.ipv6).not.toBe(b.ipv6);
    expect(a.ipv6).not.toBe("fd42:1:2::1");
    expect((await s.allocate("br", "a")).ipv6).toBe(a.ipv6);
    // Static IPv6, with its own field.
    expect((await s.allocate("br", "c", { ipv6: "FD42:1:2::99" })).ipv6).toBe("fd42:1:2::99");
    const e = await configErrorAsync(s.allocate("br", "d", { ipv6: "fd42:1:2::99", field: "nics[0].ipv4" }));
    expect(e.issues[0]).toEqual({ path: "nics[0].ipv6", message: "fd42:1:2::99 is already used by container c" });
    expect((await configErrorAsync(s.allocate("br", "d", { ipv6: "fd42:1:2::1" }))).issues[0]!.message).toMatch(/gateway/);
    expect((await configErrorAsync(s.allocate("br", "d", { ipv6: "fd42:1:2::" }))).issues[0]!.message).toMatch(/network address/);
    // A v4-only network refuses a static IPv6.
    await s.ensureNetwork("v4only", { subnet: "10.1.0.0/24" });
    expect((await configErrorAsync(s.allocate("v4only", "a", { ipv6: "fd00::5" }))).issues[0]!.message).toMatch(/no IPv6 subnet/);
    expect((await s.allocate("v4only", "a")).ipv6).toBeUndefined();
  });

  it("fills a small IPv6 subnet completely without collisions", async () => {
    const s = store();
    await s.ensureNetwork("tiny6", { subnet: "10.9.0.0/24", subnet6: "fd42::/124" }); // 16 addresses: 14 usable
    const got = new Set<string>();
    for (let i = 0; i < 14; i++) got.add((await s.allocate("tiny6", `c${i}`)).ipv6!);
    expect(got.size).toBe(14);
    expect(got.has("fd42::")).toBe(false);
    expect(got.has("fd42::1")).toBe(false);
    const e = await configErrorAsync(s.allocate("tiny6", "c14"));
    expect(e.issues[0]!.message).toMatch(/no free IPv6 address left/);
  });

  it("releases a container everywhere and removes networks", async () => {
    const s = store();
    await s.ensureNetwork("n1", { subnet: "10.1.0.0/24" });
    await s.ensureNetwork("n2", { subnet: "10.2.0.0/24" });
    await s.allocate("n1", "web");
    await s.allocate("n2", "web");
    await s.allocate("n2", "db");
    expect(await s.releaseAll("web")).toEqual(["n1", "n2"]);
    expect(await s.releaseAll("web")).toEqual([]);
    expect((await s.leases("n1"))!.leases).toEqual({});
    expect(Object.keys((await s.leases("n2"))!.leases)).toEqual(["db"]);
    await expect(s.removeNetwork("n2")).rejects.toBeInstanceOf(StateError);
    await s.removeNetwork("n2", { force: true });
    await s.removeNetwork("n1");
    await s.removeNetwork("n1");
    expect(existsSync(s.path("n1"))).toBe(false);
    expect(await s.networks()).toEqual([]);
    // A store whose directory does not exist yet reads as empty.
    const empty = new LeaseStore(join(s.dir, "missing"));
    expect(await empty.networks()).toEqual([]);
    expect(await empty.releaseAll("x")).toEqual([]);
    await empty.release("n", "x");
  });

  it("accepts any lease key, like `name#1` for a second NIC", async () => {
    const s = store();
    await s.ensureNetwork("br", { subnet: "10.117.0.0/24" });
    expect((await s.allocate("br", "web#1")).ipv4).toBe("10.117.0.2");
    await expect(s.allocate("br", "__proto__")).rejects.toBeInstanceOf(ConfigError);
    expect((await s.allocate("br", "constructor")).ipv4).toBe("10.117.0.3");
  });
});
