/**
 * Netlink against the kernel, in throwaway network namespaces (each one held
 * by an `unshare --net sleep` child): the host's interfaces are never
 * touched, except one uniquely named link created and deleted to prove
 * Netlink.host().
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readlinkSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, HostError, StateError } from "../../src/errors.js";
import { native } from "../../src/native/binding.js";
import { Netlink, type LinkInfo } from "../../src/network/netlink.js";
import {
  ifinfomsg,
  newLinkRequest,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  nlmsg,
  parseLinks,
  RT_TABLE_MAIN,
  RTM_GETLINK,
  RTM_NEWLINK,
} from "../../src/network/rtnetlink.js";

interface Netns {
  proc: ChildProcess;
  pid: number;
  fd: number;
  path: string;
}

const namespaces: Netns[] = [];

/** A new network namespace, held by a sleeping child, and an fd of it. */
async function newNetns(): Promise<Netns> {
  const proc = spawn("unshare", ["--net", "sleep", "100"], { stdio: "ignore" });
  const pid = proc.pid!;
  const self = readlinkSync("/proc/self/ns/net");
  const path = `/proc/${pid}/ns/net`;
  // Until unshare(2) has run, the child is still in our namespace.
  for (let i = 0; ; i++) {
    let ns: string | undefined;
    try {
      ns = readlinkSync(path);
    } catch {
      /* not yet */
    }
    if (ns && ns !== self) break;
    if (i > 500) throw new Error("unshare --net did not create a network namespace");
    await sleep(10);
  }
  const netns = { proc, pid, fd: openSync(path, "r"), path };
  namespaces.push(netns);
  return netns;
}

/** `ping` from iputils, else busybox's. */
function pingCommand(): string[] {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) if (existsSync(`${dir}/ping`)) return [`${dir}/ping`];
  return ["busybox", "ping"];
}

function ping(ns: Netns, address: string): void {
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      execFileSync("nsenter", [`--net=${ns.path}`, ...pingCommand(), "-c1", "-W1", address], { stdio: "pipe" });
      return;
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

function errnoOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof HostError) return e.errno;
    throw e;
  }
  return undefined;
}

function hostLinks(): string[] {
  using host = Netlink.host();
  return host
    .links()
    .map((l) => `${l.index} ${l.name} ${l.mac} ${l.mtu} ${l.flags & 1}`)
    .sort();
}

let hostBefore: string[];
let ns1: Netns;
let ns2: Netns;
let nl1: Netlink;
let nl2: Netlink;

beforeAll(async () => {
  hostBefore = hostLinks();
  ns1 = await newNetns();
  ns2 = await newNetns();
  nl1 = Netlink.inNamespace(ns1.fd);
  nl2 = Netlink.inNamespace(ns2.fd);
});

afterAll(async () => {
  nl1?.close();
  nl2?.close();
  for (const ns of namespaces) {
    closeSync(ns.fd);
    ns.proc.kill("SIGKILL");
    await new Promise((r) => (ns.proc.exitCode !== null || ns.proc.signalCode !== null ? r(undefined) : ns.proc.once("exit", r)));
  }
});

const must = (l: LinkInfo | undefined, what: string): LinkInfo => {
  if (!l) throw new Error(`no link ${what}`);
  return l;
};

describe("Netlink in a throwaway network namespace", () => {
  it("creates the socket inside the namespace and leaves the calling thread where it was", () => {
    const before = readlinkSync("/proc/thread-self/ns/net");
    const nl = Netlink.inNamespace(ns1.fd);
    expect(readlinkSync("/proc/thread-self/ns/net")).toBe(before);
    const links = nl.links();
    nl.close();
    nl.close(); // idempotent
    expect(links.map((l) => l.name)).toEqual(["lo"]);
    expect(links[0]).toMatchObject({ index: 1, type: 772, mtu: 65536, up: false, mac: "00:00:00:00:00:00" });
    expect(() => nl.links()).toThrow(StateError);
  });

  it("refuses an fd that is not a network namespace, without moving the thread", () => {
    const before = readlinkSync("/proc/thread-self/ns/net");
    const uts = openSync("/proc/self/ns/uts", "r");
    try {
      expect(() => Netlink.inNamespace(uts)).toThrow(HostError);
      expect(errnoOf(() => Netlink.inNamespace(uts))).toBe("EINVAL");
    } finally {
      closeSync(uts);
    }
    expect(errnoOf(() => Netlink.inNamespace(1 << 20))).toBe("EBADF");
    expect(readlinkSync("/proc/thread-self/ns/net")).toBe(before);
  });

  it("creates a bridge and a veth pair, enslaves one end, sets them up and adds addresses", () => {
    const br = nl1.createBridge("br0", { mtu: 1450 });
    expect(br).toMatchObject({ name: "br0", kind: "bridge", mtu: 1450, up: false });
    nl1.createVeth("v0a", "v0b", { mtu: 1450 });
    nl1.setMac("v0a", "02:00:00:99:00:0a");
    nl1.setMaster("v0a", "br0");
    for (const l of ["br0", "v0a", "v0b"]) nl1.setUp(l);
    nl1.addAddress("br0", "10.99.0.1/24");
    nl1.addAddress("br0", "10.99.0.1/24"); // already there: no error
    nl1.addAddress(br.index, "fd99::1/64", { nodad: true });

    const v0a = must(nl1.link("v0a"), "v0a");
    const v0b = must(nl1.link("v0b"), "v0b");
    expect(v0a).toMatchObject({ kind: "veth", mac: "02:00:00:99:00:0a", master: br.index, up: true, mtu: 1450, link: v0b.index });
    expect(v0a.flags & 1).toBe(1);
    expect(v0a.stats).toBeDefined();
    expect(nl1.link(v0a.index)?.name).toBe("v0a");
    expect(must(nl1.link("br0"), "br0").up).toBe(true);

    const addrs = nl1.addresses("br0").map((a) => `${a.address}/${a.prefixLength}`);
    expect(addrs).toContain("10.99.0.1/24");
    expect(addrs).toContain("fd99::1/64");
    expect(nl1.addresses().find((a) => a.address === "10.99.0.1")).toMatchObject({ index: br.index, family: 4, broadcast: "10.99.0.255", label: "br0" });
    expect(nl1.addresses("v0b").filter((a) => a.family === 4)).toEqual([]);

    nl1.setMtu("v0a", 1400);
    expect(nl1.link("v0a")?.mtu).toBe(1400);
    nl1.setMaster("v0a", null);
    expect(nl1.link("v0a")?.master).toBeUndefined();
    nl1.setMaster(v0a.index, br.index);
    expect(nl1.link("v0a")?.master).toBe(br.index);

    nl1.addAddress("v0b", "10.98.0.1/24");
    nl1.deleteAddress("v0b", "10.98.0.1/24");
    nl1.deleteAddress("v0b", "10.98.0.1/24"); // already gone: no error
    expect(nl1.addresses("v0b").filter((a) => a.family === 4)).toEqual([]);
  });

  it("creates a veth whose peer is born in another namespace", () => {
    nl1.createVeth("v1a", "eth0", { peerNetnsFd: ns2.fd, peerMac: "02:00:00:99:00:02" });
    expect(nl1.link("eth0")).toBeUndefined();
    const eth0 = must(nl2.link("eth0"), "eth0 in ns2");
    expect(eth0).toMatchObject({ kind: "veth", mac: "02:00:00:99:00:02" });
    expect(eth0.linkNetnsId).toBeTypeOf("number");
    expect(nl1.link("v1a")).toMatchObject({ kind: "veth", link: eth0.index }); // the peer's index, in ns2
    nl1.setMaster("v1a", "br0");
    nl1.setUp("v1a");
  });

  it("moves a link to another namespace, renaming it on the way, and renames it there", () => {
    nl1.moveToNamespace("v0b", ns2.fd, "eth1");
    expect(nl1.link("v0b")).toBeUndefined();
    const eth1 = must(nl2.link("eth1"), "eth1 in ns2");
    expect(eth1).toMatchObject({ kind: "veth", up: false });
    nl2.rename("eth1", "eth9");
    expect(nl2.link("eth1")).toBeUndefined();
    expect(nl2.link("eth9")?.index).toBe(eth1.index);
    // And back, by index.
    const hostSide = Netlink.inNamespace(ns1.fd);
    try {
      nl2.moveToNamespace(eth1.index, ns1.fd, "v0b");
      expect(hostSide.link("v0b")?.kind).toBe("veth");
      expect(nl2.link("eth9")).toBeUndefined();
      hostSide.setUp("v0b");
    } finally {
      hostSide.close();
    }
  });

  it("adds a default route and reads the routes back", () => {
    const eth0 = must(nl2.link("eth0"), "eth0");
    nl2.setUp("lo");
    nl2.setUp("eth0");
    nl2.addAddress("eth0", "10.99.0.2/24");
    nl2.addAddress("eth0", "fd99::2/64", { nodad: true });
    nl2.addRoute({ gateway: "10.99.0.1" });
    nl2.addRoute({ dst: "10.97.0.0/16", link: "eth0" });
    nl2.addRoute({ gateway: "fd99::1", link: "eth0" });

    const v4 = nl2.routes(4);
    expect(v4.every((r) => r.family === 4 && r.table === RT_TABLE_MAIN)).toBe(true);
    expect(v4.find((r) => r.dst === undefined)).toMatchObject({ gateway: "10.99.0.1", oif: eth0.index, prefixLength: 0, protocol: 3, type: 1 });
    expect(v4.find((r) => r.dst === "10.99.0.0/24")).toMatchObject({ oif: eth0.index, prefsrc: "10.99.0.2", protocol: 2, scope: 253 });
    expect(v4.find((r) => r.dst === "10.97.0.0/16")).toMatchObject({ oif: eth0.index, scope: 253 });
    expect(v4.find((r) => r.dst === "10.97.0.0/16")?.gateway).toBeUndefined();

    const v6 = nl2.routes(6);
    expect(v6.find((r) => r.dst === undefined)).toMatchObject({ family: 6, gateway: "fd99::1", oif: eth0.index });
    expect(v6.find((r) => r.dst === "fd99::/64")).toMatchObject({ oif: eth0.index });
    expect(nl2.routes().length).toBe(v4.length + v6.length);

    expect(errnoOf(() => nl2.addRoute({ gateway: "10.99.0.1" }))).toBe("EEXIST");
    nl2.deleteRoute({ dst: "10.97.0.0/16" });
    nl2.deleteRoute({ dst: "10.97.0.0/16" }); // already gone: no error
    expect(nl2.routes(4).find((r) => r.dst === "10.97.0.0/16")).toBeUndefined();
  });

  it("adds, lists and deletes proxy neighbour entries, idempotently", () => {
    const eth0 = must(nl2.link("eth0"), "eth0");
    nl2.addProxyNeighbour("eth0", "10.99.0.50");
    nl2.addProxyNeighbour("eth0", "10.99.0.50"); // already there: no error
    nl2.addProxyNeighbour(eth0.index, "fd99::50");
    expect(nl2.proxyNeighbours().sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { address: "10.99.0.50", index: eth0.index },
      { address: "fd99::50", index: eth0.index },
    ]);
    nl2.deleteProxyNeighbour("eth0", "10.99.0.50");
    nl2.deleteProxyNeighbour("eth0", "10.99.0.50"); // already gone: no error
    nl2.deleteProxyNeighbour("eth0", "fd99::50");
    nl2.deleteProxyNeighbour("no-such-link", "fd99::50");
    expect(nl2.proxyNeighbours()).toEqual([]);
  });

  it("counts packets in IFLA_STATS64 across a ping between the namespaces", () => {
    const before2 = must(nl2.link("eth0"), "eth0").stats!;
    const before1 = must(nl1.link("v1a"), "v1a").stats!;
    const beforeBr = must(nl1.link("br0"), "br0").stats!;
    ping(ns2, "10.99.0.1");
    const after2 = must(nl2.link("eth0"), "eth0").stats!;
    const after1 = must(nl1.link("v1a"), "v1a").stats!;
    const afterBr = must(nl1.link("br0"), "br0").stats!;
    expect(after2.txPackets).toBeGreaterThanOrEqual(before2.txPackets + 2); // ARP request + echo request
    expect(after2.rxPackets).toBeGreaterThanOrEqual(before2.rxPackets + 2);
    expect(after2.txBytes).toBeGreaterThan(before2.txBytes + 84);
    expect(after1.rxPackets).toBeGreaterThanOrEqual(before1.rxPackets + 2);
    expect(after1.txPackets).toBeGreaterThanOrEqual(before1.txPackets + 2);
    expect(afterBr.rxPackets).toBeGreaterThan(beforeBr.rxPackets);
  });

  it("creates a macvlan on a dummy parent (a veth where the kernel has no dummy driver)", () => {
    let parent: string;
    try {
      nl1.createDummy("dm0");
      parent = "dm0";
    } catch (e) {
      // CONFIG_DUMMY may be off: the kernel says "Unknown device type".
      expect(e).toBeInstanceOf(HostError);
      expect((e as HostError).errno).toMatch(/^E(OPNOTSUPP|NOTSUP)$/);
      expect((e as HostError).message).toContain("Unknown device type");
      nl1.createVeth("dm0", "dm0p");
      parent = "dm0";
    }
    nl1.setUp(parent);
    const p = must(nl1.link(parent), parent);
    nl1.createMacvlan("mv0", parent, { mode: "bridge", mac: "02:00:00:99:00:10", mtu: 1400 });
    expect(nl1.link("mv0")).toMatchObject({ kind: "macvlan", link: p.index, mac: "02:00:00:99:00:10", mtu: 1400 });
    nl1.createMacvlan("mv1", p.index, { netnsFd: ns2.fd });
    expect(nl1.link("mv1")).toBeUndefined();
    expect(nl2.link("mv1")?.kind).toBe("macvlan");
    nl2.deleteLink("mv1");
    expect(nl2.link("mv1")).toBeUndefined();
  });

  it("reports errors as HostErrors naming the operation, with the kernel's message", () => {
    let err: unknown;
    try {
      nl1.createBridge("br0");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HostError);
    expect(err).toMatchObject({ errno: "EEXIST", code: "ERR_WARREN_HOST", syscall: "netlink" });
    expect((err as Error).message).toBe("create bridge `br0`: EEXIST");
    expect(errnoOf(() => nl1.createVeth("v1a", "v9b"))).toBe("EEXIST");
    expect(() => nl1.createVeth("v1a", "v9b")).toThrow("create veth `v1a` (peer `v9b`): EEXIST");

    expect(errnoOf(() => nl1.setUp("nope0"))).toBe("ENODEV");
    expect(() => nl1.setUp("nope0")).toThrow("set `nope0` up: ENODEV");
    expect(errnoOf(() => nl1.addresses("nope0"))).toBe("ENODEV");
    expect(nl1.link("nope0")).toBeUndefined();
    expect(nl1.link(99999)).toBeUndefined();

    // The extended ack: the kernel explains an MTU above the device's maximum.
    try {
      nl1.setMtu("v1a", 1 << 20);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HostError);
      expect((e as HostError).errno).toBe("EINVAL");
      expect((e as HostError).message).toMatch(/^set mtu 1048576 on `v1a` \(kernel: .*mtu.*\): EINVAL$/i);
    }
    // …straight from the addon too.
    const fd = native().netlinkSocket(ns1.fd);
    try {
      expect(() => native().netlinkTalk(fd, newLinkRequest(1, { name: "x0", kind: "wrnosuchkind" }))).toThrow(
        expect.objectContaining({ errno: 95, syscall: "netlink", extack: "Unknown device type" }),
      );
      // The socket is still usable after an error; an acked request returns no data.
      expect(native().netlinkTalk(fd, newLinkRequest(2, { name: "br7", kind: "bridge" })).length).toBe(0);
      expect(nl1.link("br7")?.kind).toBe("bridge");
      nl1.deleteLink("br7");
      // A GET without NLM_F_ACK ends with its one reply; a change without it is refused.
      const reply = native().netlinkTalk(fd, nlmsg(RTM_GETLINK, NLM_F_REQUEST, 3, [ifinfomsg({ index: 1 })]));
      expect(parseLinks(reply).map((l) => l.name)).toEqual(["lo"]);
      expect(() => native().netlinkTalk(fd, nlmsg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, 4, [ifinfomsg()]))).toThrow(TypeError);
    } finally {
      native().close(fd);
    }

    // Bad input is a ConfigError before anything reaches the kernel.
    expect(() => nl1.createBridge("a-name-far-too-long")).toThrow(ConfigError);
    expect(() => nl1.createVeth("ok0", "bad/name")).toThrow(ConfigError);
    expect(() => nl1.addAddress("br0", "10.99.0.300/24")).toThrow(ConfigError);
    expect(() => nl1.setMac("br0", "02:00")).toThrow(ConfigError);
  });

  it("deletes links idempotently; deleting one end of a veth takes the other", () => {
    nl1.createVeth("v2a", "v2b");
    nl1.deleteLink("v2a");
    expect(nl1.link("v2a")).toBeUndefined();
    expect(nl1.link("v2b")).toBeUndefined();
    nl1.deleteLink("v2a");
    nl1.deleteLink("nope0");
    nl1.deleteLink(99999);
    const br = must(nl1.link("br0"), "br0");
    nl1.createBridge("br1");
    nl1.deleteLink("br1");
    expect(nl1.links().map((l) => l.name)).not.toContain("br1");
    expect(nl1.link(br.index)?.name).toBe("br0");
  });
});

describe("Netlink.host()", () => {
  it("creates and deletes a uniquely named link in the host namespace", () => {
    const name = `wrtest${randomBytes(3).toString("hex")}`;
    using host = Netlink.host();
    expect(host.link(name)).toBeUndefined();
    let kind = "dummy";
    try {
      host.createDummy(name);
    } catch (e) {
      if (!(e instanceof HostError) || !/^E(OPNOTSUPP|NOTSUP)$/.test(e.errno)) throw e;
      kind = "bridge"; // no dummy driver in this kernel
      host.createBridge(name);
    }
    try {
      const l = must(host.link(name), name);
      expect(l).toMatchObject({ name, kind, up: false });
      expect(host.links().map((x) => x.name)).toContain(name);
    } finally {
      host.deleteLink(name);
    }
    expect(host.link(name)).toBeUndefined();
  });

  it("leaves the host's links as they were", () => {
    expect(hostLinks()).toEqual(hostBefore);
  });
});
