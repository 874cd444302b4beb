import { describe, expect, it } from "vitest";

import { ConfigError } from "../errors.js";
import {
  addressRequest,
  attrU32,
  bridgeRequest,
  bytesToIp,
  dumpLinksRequest,
  formatMac,
  getLinkRequest,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_STATS64,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_ADDRESS,
  IFLA_PERM_ADDRESS,
  ifinfomsg,
  ipToBytes,
  macToBytes,
  macvlanRequest,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  nlmsg,
  parseAddresses,
  parseAttrs,
  parseCidr,
  parseLinks,
  parseMessages,
  parseRoutes,
  routeRequest,
  rtattr,
  rtmsg,
  RTM_DELADDR,
  RTM_DELROUTE,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PRIORITY,
  RTA_TABLE,
  setLinkRequest,
  IFF_UP,
  validLinkName,
  vethRequest,
  dumpInterrupted,
  attrString,
} from "./rtnetlink.js";

/** The sequence number of the `ip` captures below. */
const SEQ = 0x6b096c23;

/** Hex of a strace -e write dump, whitespace ignored. */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("encoding, byte for byte as iproute2 sends it", () => {
  // Captured with `strace -e trace=sendmsg -e write=3 ip …` in a throwaway netns.
  it("ip link add br0 type bridge", () => {
    expect(bridgeRequest(SEQ, "br0").toString("hex")).toBe(
      hex(`38 00 00 00 10 00 05 06  23 6c 09 6b 00 00 00 00
           00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
           08 00 03 00 62 72 30 00  10 00 12 00 0a 00 01 00
           62 72 69 64 67 65 00 00`).toString("hex"),
    );
  });

  it("ip link add va type veth peer name vb (nested attributes, padding inside a nest)", () => {
    expect(vethRequest(SEQ, "va", "vb").toString("hex")).toBe(
      hex(`54 00 00 00 10 00 05 06  23 6c 09 6b 00 00 00 00
           00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
           07 00 03 00 76 61 00 00  2c 00 12 00 08 00 01 00
           76 65 74 68 20 00 02 00  1c 00 01 00 00 00 00 00
           00 00 00 00 00 00 00 00  00 00 00 00 07 00 03 00
           76 62 00 00`).toString("hex"),
    );
  });

  it("ip link add link <#4> name mv0 type macvlan mode bridge", () => {
    expect(macvlanRequest(SEQ, "mv0", 4).toString("hex")).toBe(
      hex(`4c 00 00 00 10 00 05 06  23 6c 09 6b 00 00 00 00
           00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
           08 00 05 00 04 00 00 00  08 00 03 00 6d 76 30 00
           1c 00 12 00 0b 00 01 00  6d 61 63 76 6c 61 6e 00
           0c 00 02 00 08 00 01 00  04 00 00 00`).toString("hex"),
    );
  });

  it("ip link set <#2> up", () => {
    expect(setLinkRequest(SEQ, { index: 2, flags: IFF_UP, change: IFF_UP }).toString("hex")).toBe(
      hex(`20 00 00 00 10 00 05 00  23 6c 09 6b 00 00 00 00
           00 00 00 00 02 00 00 00  01 00 00 00 01 00 00 00`).toString("hex"),
    );
  });

  it("ip addr add 10.0.0.2/24 brd + dev <#2>", () => {
    expect(addressRequest(RTM_NEWADDR, SEQ, 2, "10.0.0.2/24").toString("hex")).toBe(
      hex(`30 00 00 00 14 00 05 06  23 6c 09 6b 00 00 00 00
           02 18 00 00 02 00 00 00  08 00 02 00 0a 00 00 02
           08 00 01 00 0a 00 00 02  08 00 04 00 0a 00 00 ff`).toString("hex"),
    );
  });

  it("ip addr add fd00::2/64 dev <#2>", () => {
    expect(addressRequest(RTM_NEWADDR, SEQ, 2, "fd00::2/64").toString("hex")).toBe(
      hex(`40 00 00 00 14 00 05 06  23 6c 09 6b 00 00 00 00
           0a 40 00 00 02 00 00 00  14 00 02 00 fd 00 00 00
           00 00 00 00 00 00 00 00  00 00 00 02 14 00 01 00
           fd 00 00 00 00 00 00 00  00 00 00 00 00 00 00 02`).toString("hex"),
    );
  });

  it("ip route add default via 10.0.0.1", () => {
    expect(routeRequest(RTM_NEWROUTE, SEQ, { gateway: "10.0.0.1" }).toString("hex")).toBe(
      hex(`24 00 00 00 18 00 05 06  23 6c 09 6b 00 00 00 00
           02 00 00 00 fe 03 00 01  00 00 00 00 08 00 05 00
           0a 00 00 01`).toString("hex"),
    );
  });

  it("ip route add 10.1.0.0/16 via 10.0.0.1 dev <#2> (host bits of dst cleared)", () => {
    expect(routeRequest(RTM_NEWROUTE, SEQ, { dst: "10.1.2.3/16", gateway: "10.0.0.1", oif: 2 }).toString("hex")).toBe(
      hex(`34 00 00 00 18 00 05 06  23 6c 09 6b 00 00 00 00
           02 10 00 00 fe 03 00 01  00 00 00 00 08 00 01 00
           0a 01 00 00 08 00 05 00  0a 00 00 01 08 00 04 00
           02 00 00 00`).toString("hex"),
    );
  });
});

describe("encoding", () => {
  it("pads attributes to 4 bytes; the length excludes a leaf's padding and includes a nest's", () => {
    const leaf = rtattr(1, Buffer.from([1, 2, 3, 4, 5]));
    expect(leaf.length).toBe(12);
    expect(leaf.readUInt16LE(0)).toBe(9);
    expect([...leaf.subarray(9)]).toEqual([0, 0, 0]);
    const nest = rtattr(2, [leaf, attrU32(3, 7)]);
    expect(nest.readUInt16LE(0)).toBe(4 + 12 + 8);
    expect(nest.length).toBe(24);
    const parsed = parseAttrs(nest);
    const inner = parseAttrs(parsed.get(2)!);
    expect([...inner.get(1)!]).toEqual([1, 2, 3, 4, 5]);
    expect(inner.get(3)!.readUInt32LE(0)).toBe(7);
  });

  it("writes the headers", () => {
    const m = nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 42, [ifinfomsg()]);
    expect(m.length).toBe(32);
    expect(parseMessages(m)).toEqual([
      { type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 42, pid: 0, payload: Buffer.alloc(16) },
    ]);
    expect(dumpLinksRequest(42)).toEqual(m);
    expect(rtmsg({ family: 2, dstLength: 24, table: 254, protocol: 3, scope: 253, type: 1 }).toString("hex")).toBe("02180000fe03fd0100000000");
  });

  it("encodes link changes", () => {
    const req = setLinkRequest(1, { index: 5, name: "eth0", mtu: 1500, mac: "02:AA:bb:cc:dd:ee", master: 3, netnsFd: 9 });
    const [m] = parseMessages(req);
    expect(m!.type).toBe(RTM_NEWLINK);
    expect(m!.flags).toBe(NLM_F_REQUEST | NLM_F_ACK);
    expect(m!.payload.readInt32LE(4)).toBe(5);
    const attrs = parseAttrs(m!.payload, 16);
    expect(attrs.get(IFLA_IFNAME)!.toString()).toBe("eth0\0");
    expect(attrs.get(IFLA_MTU)!.readUInt32LE(0)).toBe(1500);
    expect(formatMac(attrs.get(IFLA_ADDRESS)!)).toBe("02:aa:bb:cc:dd:ee");
    expect(attrs.get(IFLA_MASTER)!.readUInt32LE(0)).toBe(3);
    expect(attrs.get(28 /* IFLA_NET_NS_FD */)!.readUInt32LE(0)).toBe(9);
  });

  it("puts the veth peer's attributes (namespace, mac, mtu) inside VETH_INFO_PEER", () => {
    const [m] = parseMessages(vethRequest(1, "wr1a2b3c", "eth0", { mtu: 1400, peerNetnsFd: 17, peerMac: "02:00:00:00:00:01" }));
    const attrs = parseAttrs(m!.payload, 16);
    expect(attrs.get(IFLA_MTU)!.readUInt32LE(0)).toBe(1400);
    const info = parseAttrs(attrs.get(IFLA_LINKINFO)!);
    expect(info.get(IFLA_INFO_KIND)!.toString()).toBe("veth");
    const peer = parseAttrs(info.get(IFLA_INFO_DATA)!).get(1)!;
    const peerAttrs = parseAttrs(peer, 16);
    expect(peerAttrs.get(IFLA_IFNAME)!.toString()).toBe("eth0\0");
    expect(peerAttrs.get(IFLA_MTU)!.readUInt32LE(0)).toBe(1400);
    expect(formatMac(peerAttrs.get(IFLA_ADDRESS)!)).toBe("02:00:00:00:00:01");
    expect(peerAttrs.get(28)!.readUInt32LE(0)).toBe(17);
  });

  it("looks a link up by index or by name", () => {
    const byIndex = parseMessages(getLinkRequest(1, 7))[0]!;
    expect(byIndex.payload.readInt32LE(4)).toBe(7);
    expect(parseAttrs(byIndex.payload, 16).size).toBe(0);
    const byName = parseMessages(getLinkRequest(1, "br0"))[0]!;
    expect(byName.payload.readInt32LE(4)).toBe(0);
    expect(parseAttrs(byName.payload, 16).get(IFLA_IFNAME)!.toString()).toBe("br0\0");
  });

  it("deletes addresses and routes as ip does", () => {
    const del = parseMessages(addressRequest(RTM_DELADDR, 1, 3, "10.0.0.2/24"))[0]!;
    expect(del.flags).toBe(NLM_F_REQUEST | NLM_F_ACK);
    expect(parseAttrs(del.payload, 8).has(4 /* IFA_BROADCAST */)).toBe(false);
    const r = parseMessages(routeRequest(RTM_DELROUTE, 1, { dst: "10.1.0.0/16" }))[0]!;
    expect([...r.payload.subarray(0, 8)]).toEqual([2, 16, 0, 0, 254, 0, 255, 0]);
  });

  it("encodes IPv6 routes, metrics and tables above 255", () => {
    const r = parseMessages(routeRequest(RTM_NEWROUTE, 1, { dst: "fd00:1::/48", gateway: "fe80::1", oif: 3, priority: 100, table: 1000 }))[0]!;
    expect([...r.payload.subarray(0, 8)]).toEqual([10, 48, 0, 0, 0, 3, 0, 1]);
    const a = parseAttrs(r.payload, 12);
    expect(a.get(RTA_TABLE)!.readUInt32LE(0)).toBe(1000);
    expect(bytesToIp(a.get(RTA_DST)!)).toBe("fd00:1::");
    expect(bytesToIp(a.get(RTA_GATEWAY)!)).toBe("fe80::1");
    expect(a.get(RTA_OIF)!.readUInt32LE(0)).toBe(3);
    expect(a.get(RTA_PRIORITY)!.readUInt32LE(0)).toBe(100);
    expect(() => routeRequest(RTM_NEWROUTE, 1, { dst: "10.0.0.0/8", gateway: "fe80::1" })).toThrow(ConfigError);
    expect(() => routeRequest(RTM_NEWROUTE, 1, { gateway: "10.0.0.1", family: 6 })).toThrow(ConfigError);
  });

  it("gives 127/8 host scope and no broadcast to /31 and /32", () => {
    const lo = parseMessages(addressRequest(RTM_NEWADDR, 1, 1, "127.0.0.2/8"))[0]!;
    expect(lo.payload[3]).toBe(254);
    const p2p = parseMessages(addressRequest(RTM_NEWADDR, 1, 1, "10.0.0.1/31"))[0]!;
    expect(parseAttrs(p2p.payload, 8).has(4)).toBe(false);
    const host = parseMessages(addressRequest(RTM_NEWADDR, 1, 1, "10.0.0.1"))[0]!;
    expect(host.payload[1]).toBe(32);
    const nodad = parseMessages(addressRequest(RTM_NEWADDR, 1, 1, "fd00::1/64", { nodad: true }))[0]!;
    expect(nodad.payload[2]).toBe(2);
  });
});

describe("addresses", () => {
  it("encodes IPv4 and IPv6", () => {
    expect(ipToBytes("10.99.0.1").toString("hex")).toBe("0a630001");
    expect(ipToBytes("::").toString("hex")).toBe("0".repeat(32));
    expect(ipToBytes("::1").toString("hex")).toBe(`${"0".repeat(30)}01`);
    expect(ipToBytes("fd00::2").toString("hex")).toBe("fd000000000000000000000000000002");
    expect(ipToBytes("2001:DB8:0:1:2:3:4:5").toString("hex")).toBe("20010db8000000010002000300040005");
    expect(ipToBytes("fe80::").toString("hex")).toBe(`fe80${"0".repeat(28)}`);
    expect(ipToBytes("::ffff:192.0.2.1").toString("hex")).toBe("00000000000000000000ffffc0000201");
    expect(ipToBytes("64:ff9b::10.0.0.1").toString("hex")).toBe("0064ff9b00000000000000000a000001");
    for (const bad of ["10.0.0", "10.0.0.256", "fd00::1::2", "fe80::1%eth0", "", "x", "1:2:3:4:5:6:7:8:9"]) {
      expect(() => ipToBytes(bad), bad).toThrow(ConfigError);
    }
  });

  it("decodes IPv6 as RFC 5952 text", () => {
    const round = (s: string) => bytesToIp(ipToBytes(s));
    expect(round("fd00:0:0:0:0:0:0:2")).toBe("fd00::2");
    expect(round("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(round("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(round("0:0:0:0:0:0:0:0")).toBe("::");
    expect(round("1:0:0:0:0:0:0:0")).toBe("1::");
    expect(round("FE80::A:0B")).toBe("fe80::a:b");
    expect(round("::ffff:10.0.0.1")).toBe("::ffff:10.0.0.1");
    expect(round("192.168.1.254")).toBe("192.168.1.254");
  });

  it("parses CIDRs", () => {
    expect(parseCidr("10.0.0.2/24")).toEqual({ family: 4, address: ipToBytes("10.0.0.2"), prefixLength: 24 });
    expect(parseCidr("fd00::2/64").family).toBe(6);
    expect(parseCidr("fd00::2").prefixLength).toBe(128);
    for (const bad of ["10.0.0.2/33", "fd00::/129", "10.0.0.2/", "10.0.0.2/-1", "10.0.0.2/2x", "nope/8"]) {
      expect(() => parseCidr(bad), bad).toThrow(ConfigError);
    }
  });

  it("encodes MAC addresses and checks names", () => {
    expect(macToBytes("02:AB:cd:00:01:ff").toString("hex")).toBe("02abcd0001ff");
    expect(macToBytes("02-ab-cd-00-01-ff").toString("hex")).toBe("02abcd0001ff");
    expect(() => macToBytes("02:ab:cd:00:01")).toThrow(ConfigError);
    expect(formatMac(Buffer.from([2, 0xab, 0, 1, 0x10, 0xff]))).toBe("02:ab:00:01:10:ff");
    expect(validLinkName("eth0")).toBe(true);
    expect(validLinkName("a".repeat(15))).toBe(true);
    expect(validLinkName("a".repeat(16))).toBe(false);
    for (const bad of ["", ".", "..", "a/b", "a b", "a:b"]) expect(validLinkName(bad), bad).toBe(false);
  });
});

// A veth `va` (index 4, mac 02:00:00:00:00:0a, mtu 1400, enslaved to the
// bridge #2, peer #3), as a 6.18 kernel answered RTM_GETLINK.
const CAPTURED_LINK =
  "380700001000000007000000f18170e400000100040000000310000000000000070003007661000008000d00e80300000500100003000000050011000000000005004300000000000800040078050000080032004400000008003300ffff000008001b000000000008001e000100000008003d000100000008001f000200000008002800ffff0000080029000000010008003a000000010008003f0000000100080040000000010008003b00f8ff070008003c00ffff00000800420000000000080020000200000008000a00020000000500210000000000080023000100000008002f000000000008003000010000000600440000000000060045000000000005002700000000000a00010002000000000a00000a000200ffffffffffff0000cc0017000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000640007000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000c002b0005000200000000006c0112000900010076657468000000000b000400627269646765000050010500050001000000000006000200200000000800030002000000050004000000000005000500000000000500060000000000050007000000000005001c00000000000500080001000000050009000100000005001b000100000005001e000100000005000a000000000005000c00000000000c000d00800002000000000a0c000e00800002000000000a06000f00018000000600100000000000060011000180000006001200010000000500130000000000050014000000000005001d000000000006001f000000000005002000000000000500230000000000050024000000000005002100000000000500270000000000050028000000000005002b00000000000c00150000000000000000000c00160000000000000000000c0017000000000000000000050019000100000008002500000200000800260000000000080029000000000008002a000000000008000500030000000c0006006e6f71756575650030031a008c00020088000100000000000000000000000000010000000100000001000000010000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010270000e80300000000000000000000000000000000000001000000a0020a00080001000000000014000500ffff0000e6cf070070720000e8030000f400020000000000400000007805000001000000010000000100000001000000ffffffffa00f0000e803000000000000803a0900805101000300000058020000100000000000000001000000010000000100000060ea000000000000000000000000000000000000000000000000000001000000000000000000000010270000e8030000010000000000000000000000010000000000000000000000010000000000000000000000000000000000000080ee360000000000000000000100000000000000000000000000000000000000000000000004000000000000ffff0000ffffffff0100000000000000000000000000000034010300260000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003c00060007000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001400070000000000000000000000000000000000050008000000000024000e00000000000000000000000000000000000000000000000000000000000000000004003e8004004180";

// The addresses of that veth: 10.99.0.2/24 (brd +) and fd00::2/64 (nodad), from an RTM_GETADDR dump.
const CAPTURED_ADDRS =
  "540000001400020008000000f18170e40218800004000000080001000a630002080002000a630002080004000a6300ff0700030076610000080008008000000014000600ffffffffffffffffe6cf0700e6cf0700480000001400020008000000f18170e40a4082000400000014000100fd00000000000000000000000000000214000600ffffffffffffffffe7cf0700e7cf07000800080082000000";

describe("parsing", () => {
  it("parses a captured RTM_NEWLINK", () => {
    const links = parseLinks(Buffer.from(CAPTURED_LINK, "hex"));
    expect(links).toHaveLength(1);
    const l = links[0]!;
    expect(l).toMatchObject({
      index: 4,
      name: "va",
      up: true,
      mtu: 1400,
      mac: "02:00:00:00:00:0a",
      type: 1,
      kind: "veth",
      master: 2,
      link: 3,
      operState: "lowerlayerdown",
    });
    expect(l.flags & IFF_UP).toBe(IFF_UP);
    expect(l.stats).toEqual({
      rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, rxErrors: 0,
      txErrors: 0, rxDropped: 0, txDropped: 0, multicast: 0, collisions: 0,
    });
    expect(l.permanentMac).toBeUndefined();
  });

  it("parses a captured RTM_NEWADDR dump", () => {
    expect(parseAddresses(Buffer.from(CAPTURED_ADDRS, "hex"))).toEqual([
      { index: 4, family: 4, address: "10.99.0.2", prefixLength: 24, scope: 0, flags: 0x80, label: "va", broadcast: "10.99.0.255" },
      { index: 4, family: 6, address: "fd00::2", prefixLength: 64, scope: 0, flags: 0x82 },
    ]);
  });

  it("reads IFLA_STATS64, IFLA_PERM_ADDRESS and the master of a hand-built link", () => {
    const stats = Buffer.alloc(8 * 24);
    [11, 22, 3300, 4400, 1, 2, 3, 4, 5, 6].forEach((v, i) => stats.writeBigUInt64LE(BigInt(v), i * 8));
    stats.writeBigUInt64LE(2n ** 40n, 2 * 8);
    const msg = nlmsg(RTM_NEWLINK, NLM_F_MULTI, 9, [
      ifinfomsg({ family: 0, type: 1, index: 12, flags: IFF_UP | 0x1000 }),
      attrString(IFLA_IFNAME, "eno1"),
      attrU32(IFLA_MTU, 9000),
      rtattr(IFLA_ADDRESS, Buffer.from("001122334455", "hex")),
      rtattr(IFLA_PERM_ADDRESS, Buffer.from("001122334466", "hex")),
      attrU32(IFLA_MASTER, 3),
      rtattr(IFLA_STATS64, stats),
      rtattr(IFLA_LINKINFO | 0x8000 /* NLA_F_NESTED */, [rtattr(IFLA_INFO_KIND, Buffer.from("bond"))]),
    ]);
    // Another kind of message in the same buffer is skipped.
    const other = nlmsg(RTM_NEWADDR, NLM_F_MULTI, 9, [Buffer.alloc(8)]);
    const [l] = parseLinks(Buffer.concat([other, msg]));
    expect(l).toEqual({
      index: 12,
      name: "eno1",
      flags: IFF_UP | 0x1000,
      up: true,
      operState: "unknown",
      mtu: 9000,
      mac: "00:11:22:33:44:55",
      type: 1,
      kind: "bond",
      master: 3,
      permanentMac: "00:11:22:33:44:66",
      stats: {
        rxPackets: 11, txPackets: 22, rxBytes: 2 ** 40, txBytes: 4400, rxErrors: 1,
        txErrors: 2, rxDropped: 3, txDropped: 4, multicast: 5, collisions: 6,
      },
    });
    expect(dumpInterrupted(msg)).toBe(false);
    expect(dumpInterrupted(nlmsg(RTM_NEWLINK, NLM_F_MULTI | NLM_F_DUMP_INTR, 9, [ifinfomsg()]))).toBe(true);
  });

  it("parses routes", () => {
    const route = (dstLen: number, table: number, attrs: Buffer[]) =>
      nlmsg(RTM_NEWROUTE, NLM_F_MULTI, 1, [rtmsg({ family: 2, dstLength: dstLen, table, protocol: 3, scope: 0, type: 1 }), ...attrs]);
    const buf = Buffer.concat([
      route(0, 254, [attrU32(RTA_TABLE, 254), rtattr(RTA_GATEWAY, ipToBytes("10.99.0.1")), attrU32(RTA_OIF, 2)]),
      route(24, 254, [rtattr(RTA_DST, ipToBytes("10.99.0.0")), attrU32(RTA_OIF, 2), rtattr(7, ipToBytes("10.99.0.2"))]),
      nlmsg(RTM_NEWROUTE, NLM_F_MULTI, 1, [
        rtmsg({ family: 10, dstLength: 64, table: 254, protocol: 2, type: 1 }),
        rtattr(RTA_DST, ipToBytes("fd00::")),
        attrU32(RTA_PRIORITY, 256),
        attrU32(RTA_OIF, 2),
      ]),
    ]);
    expect(parseRoutes(buf)).toEqual([
      { family: 4, prefixLength: 0, table: 254, protocol: 3, scope: 0, type: 1, gateway: "10.99.0.1", oif: 2 },
      { family: 4, dst: "10.99.0.0/24", prefixLength: 24, table: 254, protocol: 3, scope: 0, type: 1, oif: 2, prefsrc: "10.99.0.2" },
      { family: 6, dst: "fd00::/64", prefixLength: 64, table: 254, protocol: 2, scope: 0, type: 1, oif: 2, priority: 256 },
    ]);
  });

  it("rejects a truncated message", () => {
    const m = nlmsg(RTM_NEWLINK, 0, 1, [ifinfomsg()]);
    expect(() => parseMessages(m.subarray(0, 20))).toThrow(RangeError);
  });
});
