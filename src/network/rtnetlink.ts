/**
 * rtnetlink messages, encoded and decoded in TypeScript: the native side
 * (native/netlink.cc) only moves bytes. Pure functions, no kernel needed.
 *
 * Netlink uses the host's byte order; these encoders write the byte order of
 * the machine they run on, as the kernel they talk to expects.
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import { endianness } from "node:os";

import { ConfigError } from "../errors.js";

// ---------------------------------------------------------------------------
// Constants (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h)
// ---------------------------------------------------------------------------

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
/** GET modifiers. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_ATOMIC = 0x400;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** NEW modifiers. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Ack flags. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

/** Attribute type flags (masked off when parsing). */
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;

export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;

export const IFLA_UNSPEC = 0;
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_IFALIAS = 20;
export const IFLA_STATS64 = 23;
export const IFLA_AF_SPEC = 26;
export const IFLA_GROUP = 27;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_CARRIER = 33;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_NEW_NETNSID = 45;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_ALT_IFNAME = 53;
export const IFLA_PERM_ADDRESS = 54;

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_XSTATS = 3;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;

export const VETH_INFO_PEER = 1;

export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_PRIVATE = 1;
export const MACVLAN_MODE_VEPA = 2;
export const MACVLAN_MODE_BRIDGE = 4;
export const MACVLAN_MODE_PASSTHRU = 8;
export const MACVLAN_MODE_SOURCE = 16;

/** IFLA_OPERSTATE values (RFC 2863), indexed. */
export const OPER_STATES = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"] as const;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_ANYCAST = 5;
export const IFA_CACHEINFO = 6;
export const IFA_MULTICAST = 7;
export const IFA_FLAGS = 8;

export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_OPTIMISTIC = 0x04;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_NOPREFIXROUTE = 0x200;

export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const RTA_PREF = 20;

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export const RTPROT_UNSPEC = 0;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;

/** Longest interface name (IFNAMSIZ - 1). */
export const IFNAMSIZ_MAX = 15;

// ---------------------------------------------------------------------------
// Low-level encoding
// ---------------------------------------------------------------------------

const LE = endianness() === "LE";

/** `n` rounded up to a multiple of 4 (NLMSG_ALIGN, RTA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** A u16 in host byte order (netlink's headers and most attributes). */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  if (LE) b.writeUInt16LE(n);
  else b.writeUInt16BE(n);
  return b;
}

/** A u32 in host byte order. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}

function readU16(b: Buffer, off: number): number {
  return LE ? b.readUInt16LE(off) : b.readUInt16BE(off);
}

function readU32(b: Buffer, off: number): number {
  return LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

export function readI32(b: Buffer, off: number): number {
  return LE ? b.readInt32LE(off) : b.readInt32BE(off);
}

function readU64(b: Buffer, off: number): number {
  return Number(LE ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off));
}

/**
 * One rtattr: a 4-byte header (length, type) and the payload, padded to 4
 * bytes. An array payload is a nested attribute: the children (each already
 * padded) are concatenated and the length covers them all, as iproute2's
 * addattr_nest does. NLA_F_NESTED is not set (the kernel's rtnetlink
 * attributes do not require it).
 */
export function rtattr(type: number, payload: Buffer | readonly Buffer[]): Buffer {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.concat(payload as Buffer[]);
  const len = 4 + data.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute ${type} too long (${len} bytes)`);
  const out = Buffer.alloc(align4(len));
  if (LE) {
    out.writeUInt16LE(len, 0);
    out.writeUInt16LE(type, 2);
  } else {
    out.writeUInt16BE(len, 0);
    out.writeUInt16BE(type, 2);
  }
  data.copy(out, 4);
  return out;
}

export const attrU8 = (type: number, v: number): Buffer => rtattr(type, Buffer.from([v & 0xff]));
export const attrU16 = (type: number, v: number): Buffer => rtattr(type, u16(v));
export const attrU32 = (type: number, v: number): Buffer => rtattr(type, u32(v));
/** A NUL-terminated string attribute (as iproute2 sends names). */
export const attrString = (type: number, s: string): Buffer => rtattr(type, Buffer.concat([Buffer.from(s, "utf8"), Buffer.alloc(1)]));

/** A netlink message: nlmsghdr (length, type, flags, seq, pid 0) and the body parts. */
export function nlmsg(type: number, flags: number, seq: number, parts: readonly Buffer[]): Buffer {
  const body = Buffer.concat(parts as Buffer[]);
  const len = NLMSG_HDRLEN + body.length;
  const out = Buffer.alloc(align4(len));
  const w32 = (v: number, o: number) => (LE ? out.writeUInt32LE(v >>> 0, o) : out.writeUInt32BE(v >>> 0, o));
  const w16 = (v: number, o: number) => (LE ? out.writeUInt16LE(v, o) : out.writeUInt16BE(v, o));
  w32(len, 0);
  w16(type, 4);
  w16(flags, 6);
  w32(seq, 8);
  w32(0, 12);
  body.copy(out, NLMSG_HDRLEN);
  return out;
}

export interface IfInfoMsg {
  family?: number;
  /** ARPHRD_* (0 in requests). */
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}

/** struct ifinfomsg (16 bytes). */
export function ifinfomsg(m: IfInfoMsg = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  u16(m.type ?? 0).copy(b, 2);
  u32(m.index ?? 0).copy(b, 4);
  u32(m.flags ?? 0).copy(b, 8);
  u32(m.change ?? 0).copy(b, 12);
  return b;
}

export interface IfAddrMsg {
  family: number;
  prefixLength: number;
  flags?: number;
  scope?: number;
  index: number;
}

/** struct ifaddrmsg (8 bytes). */
export function ifaddrmsg(m: IfAddrMsg): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.prefixLength, 1);
  b.writeUInt8(m.flags ?? 0, 2);
  b.writeUInt8(m.scope ?? 0, 3);
  u32(m.index).copy(b, 4);
  return b;
}

export interface RtMsg {
  family: number;
  dstLength?: number;
  srcLength?: number;
  tos?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
}

/** struct rtmsg (12 bytes). */
export function rtmsg(m: RtMsg): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.dstLength ?? 0, 1);
  b.writeUInt8(m.srcLength ?? 0, 2);
  b.writeUInt8(m.tos ?? 0, 3);
  b.writeUInt8(m.table ?? RT_TABLE_UNSPEC, 4);
  b.writeUInt8(m.protocol ?? 0, 5);
  b.writeUInt8(m.scope ?? 0, 6);
  b.writeUInt8(m.type ?? 0, 7);
  u32(m.flags ?? 0).copy(b, 8);
  return b;
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

function invalid(path: string, message: string): ConfigError {
  return new ConfigError([{ path, message }]);
}

/** 4 bytes for an IPv4 address, 16 for IPv6; undefined when `s` is neither. */
export function tryIpToBytes(s: string): Buffer | undefined {
  if (isIPv4(s)) return Buffer.from(s.split(".").map((p) => Number(p)));
  if (!isIPv6(s) || s.includes("%")) return undefined;
  let text = s;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 address (::ffff:1.2.3.4): as its two groups.
    const v4 = tryIpToBytes(text.slice(lastColon + 1));
    if (!v4 || v4.length !== 4) return undefined;
    text = `${text.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (h: string | undefined) => (h ? h.split(":").map((g) => parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const groups =
    halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The address's bytes (network order); a ConfigError when `s` is not an IPv4 or IPv6 address. */
export function ipToBytes(s: string, path = "address"): Buffer {
  const b = tryIpToBytes(s);
  if (!b) throw invalid(path, `${JSON.stringify(s)} is not an IPv4 or IPv6 address`);
  return b;
}

/** Dotted IPv4 or RFC 5952 IPv6 text of 4 or 16 bytes. */
export function bytesToIp(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${b.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(i * 2));
  // IPv4-mapped (::ffff:a.b.c.d)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // The longest run of two or more zero groups (the first on a tie) becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

export interface Cidr {
  family: 4 | 6;
  /** Address bytes, network order. */
  address: Buffer;
  prefixLength: number;
}

/** "10.0.0.2/24" or "fd00::2/64" (no prefix: a host address, /32 or /128). */
export function parseCidr(s: string, path = "cidr"): Cidr {
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const address = tryIpToBytes(addr);
  if (!address) throw invalid(path, `${JSON.stringify(s)} is not an IPv4 or IPv6 address with a prefix length`);
  const max = address.length * 8;
  let prefixLength = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw invalid(path, `${JSON.stringify(s)}: the prefix length must be 0 to ${max}`);
    prefixLength = Number(p);
  }
  return { family: address.length === 4 ? 4 : 6, address, prefixLength };
}

/** The address with the host bits cleared (the network of a CIDR). */
export function networkOf(address: Buffer, prefixLength: number): Buffer {
  const out = Buffer.from(address);
  for (let bit = prefixLength; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** The IPv4 broadcast address of a CIDR (host bits set). */
export function broadcastOf(address: Buffer, prefixLength: number): Buffer {
  const out = Buffer.from(address);
  for (let bit = prefixLength; bit < out.length * 8; bit++) out[bit >> 3]! |= 0x80 >> (bit & 7);
  return out;
}

/** 6 bytes of "aa:bb:cc:dd:ee:ff" (also with `-`); a ConfigError otherwise. */
export function macToBytes(s: string, path = "mac"): Buffer {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) throw invalid(path, `${JSON.stringify(s)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return Buffer.from(s.replace(/[:-]/g, ""), "hex");
}

/** Lowercase colon-separated hex of a link-layer address. */
export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** Checks an interface name as the kernel would (dev_valid_name): 1-15 bytes, no `/`, `:` or whitespace, not `.` or `..`. */
export function validLinkName(name: string): boolean {
  const n = Buffer.byteLength(name);
  return n > 0 && n <= IFNAMSIZ_MAX && name !== "." && name !== ".." && !/[/:\s\0]/.test(name);
}

export function checkLinkName(name: string, path = "name"): void {
  if (!validLinkName(name)) throw invalid(path, `${JSON.stringify(name)} is not a valid interface name (1-15 bytes, no "/", ":" or whitespace)`);
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/** What an RTM_NEWLINK/RTM_DELLINK/RTM_GETLINK body says about one link. */
export interface LinkSpec {
  /** ifi_index (0: by name, or a new link). */
  index?: number;
  name?: string;
  mtu?: number;
  /** Link-layer address, "aa:bb:…". */
  mac?: string;
  /** IFLA_LINK: the lower device (macvlan parent). */
  link?: number;
  /** IFLA_MASTER (0 releases the link from its master). */
  master?: number;
  /** IFLA_NET_NS_FD: create or move the link in that network namespace. */
  netnsFd?: number;
  /** IFLA_NET_NS_PID: the same, by a process's pid. */
  netnsPid?: number;
  /** ifi_flags / ifi_change (e.g. IFF_UP). */
  flags?: number;
  change?: number;
  /** IFLA_LINKINFO: IFLA_INFO_KIND and, when given, IFLA_INFO_DATA's children. */
  kind?: string;
  data?: readonly Buffer[];
}

/** ifinfomsg and attributes of a link (also the payload of VETH_INFO_PEER). */
export function linkBody(s: LinkSpec): Buffer[] {
  // Attribute order as `ip link` sends them.
  const parts = [ifinfomsg({ index: s.index ?? 0, flags: s.flags ?? 0, change: s.change ?? 0 })];
  if (s.link !== undefined) parts.push(attrU32(IFLA_LINK, s.link));
  if (s.name !== undefined) parts.push(attrString(IFLA_IFNAME, s.name));
  if (s.mtu !== undefined) parts.push(attrU32(IFLA_MTU, s.mtu));
  if (s.mac !== undefined) parts.push(rtattr(IFLA_ADDRESS, macToBytes(s.mac)));
  if (s.master !== undefined) parts.push(attrU32(IFLA_MASTER, s.master));
  if (s.netnsFd !== undefined) parts.push(attrU32(IFLA_NET_NS_FD, s.netnsFd));
  if (s.netnsPid !== undefined) parts.push(attrU32(IFLA_NET_NS_PID, s.netnsPid));
  if (s.kind !== undefined) {
    // The kind without a NUL, as iproute2 sends it (the kernel takes both).
    const info = [rtattr(IFLA_INFO_KIND, Buffer.from(s.kind, "utf8"))];
    if (s.data !== undefined) info.push(rtattr(IFLA_INFO_DATA, s.data));
    parts.push(rtattr(IFLA_LINKINFO, info));
  }
  return parts;
}

const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const MODIFY = NLM_F_REQUEST | NLM_F_ACK;
const DUMP = NLM_F_REQUEST | NLM_F_DUMP;

/** RTM_NEWLINK that creates a link (fails with EEXIST when the name is taken). */
export function newLinkRequest(seq: number, spec: LinkSpec): Buffer {
  return nlmsg(RTM_NEWLINK, CREATE, seq, linkBody(spec));
}

/** RTM_NEWLINK without NLM_F_CREATE: changes an existing link (what `ip link set` sends). */
export function setLinkRequest(seq: number, spec: LinkSpec): Buffer {
  return nlmsg(RTM_NEWLINK, MODIFY, seq, linkBody(spec));
}

export function deleteLinkRequest(seq: number, index: number): Buffer {
  return nlmsg(RTM_DELLINK, MODIFY, seq, linkBody({ index }));
}

/** RTM_GETLINK of one link, by index or name. */
export function getLinkRequest(seq: number, link: string | number): Buffer {
  return nlmsg(RTM_GETLINK, MODIFY, seq, linkBody(typeof link === "number" ? { index: link } : { name: link }));
}

export function dumpLinksRequest(seq: number): Buffer {
  return nlmsg(RTM_GETLINK, DUMP, seq, [ifinfomsg()]);
}

export function bridgeRequest(seq: number, name: string, opts: { mtu?: number; mac?: string } = {}): Buffer {
  return newLinkRequest(seq, { name, mtu: opts.mtu, mac: opts.mac, kind: "bridge" });
}

export function dummyRequest(seq: number, name: string, opts: { mtu?: number; mac?: string } = {}): Buffer {
  return newLinkRequest(seq, { name, mtu: opts.mtu, mac: opts.mac, kind: "dummy" });
}

export interface VethOptions {
  mtu?: number;
  mac?: string;
  peerMac?: string;
  /** Create the peer directly in this network namespace. */
  peerNetnsFd?: number;
}

/** A veth pair: `name` here, `peerName` here or in `peerNetnsFd`'s namespace. Both ends get `mtu`. */
export function vethRequest(seq: number, name: string, peerName: string, opts: VethOptions = {}): Buffer {
  const peer = Buffer.concat(
    linkBody({ name: peerName, mtu: opts.mtu, mac: opts.peerMac, netnsFd: opts.peerNetnsFd }),
  );
  return newLinkRequest(seq, { name, mtu: opts.mtu, mac: opts.mac, kind: "veth", data: [rtattr(VETH_INFO_PEER, peer)] });
}

export interface MacvlanOptions {
  mac?: string;
  mode?: "bridge" | "private" | "vepa" | "passthru";
  /** Create the macvlan directly in this network namespace. */
  netnsFd?: number;
  mtu?: number;
}

const MACVLAN_MODES = {
  private: MACVLAN_MODE_PRIVATE,
  vepa: MACVLAN_MODE_VEPA,
  bridge: MACVLAN_MODE_BRIDGE,
  passthru: MACVLAN_MODE_PASSTHRU,
} as const;

/** A macvlan on the link with index `parent` (bridge mode unless told otherwise). */
export function macvlanRequest(seq: number, name: string, parent: number, opts: MacvlanOptions = {}): Buffer {
  return newLinkRequest(seq, {
    name,
    link: parent,
    mtu: opts.mtu,
    mac: opts.mac,
    netnsFd: opts.netnsFd,
    kind: "macvlan",
    data: [attrU32(IFLA_MACVLAN_MODE, MACVLAN_MODES[opts.mode ?? "bridge"])],
  });
}

export interface AddressOptions {
  /** IFA_F_NODAD: an IPv6 address usable at once, without duplicate address detection. */
  nodad?: boolean;
}

/**
 * RTM_NEWADDR (create, exclusive) or RTM_DELADDR of `cidr` on link `index`:
 * IFA_LOCAL and IFA_ADDRESS set to the address (as `ip address add`), and for
 * IPv4 shorter than /31 the broadcast address (as `brd +`). 127/8 gets host scope.
 */
export function addressRequest(type: typeof RTM_NEWADDR | typeof RTM_DELADDR, seq: number, index: number, cidr: string, opts: AddressOptions = {}): Buffer {
  const c = parseCidr(cidr);
  const family = c.family === 4 ? AF_INET : AF_INET6;
  const scope = c.family === 4 && c.address[0] === 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  const parts = [
    ifaddrmsg({ family, prefixLength: c.prefixLength, flags: opts.nodad ? IFA_F_NODAD : 0, scope, index }),
    rtattr(IFA_LOCAL, c.address),
    rtattr(IFA_ADDRESS, c.address),
  ];
  if (type === RTM_NEWADDR && c.family === 4 && c.prefixLength < 31) parts.push(rtattr(IFA_BROADCAST, broadcastOf(c.address, c.prefixLength)));
  return nlmsg(type, type === RTM_NEWADDR ? CREATE : MODIFY, seq, parts);
}

export function dumpAddressesRequest(seq: number, family?: 4 | 6): Buffer {
  const f = family === 4 ? AF_INET : family === 6 ? AF_INET6 : AF_UNSPEC;
  return nlmsg(RTM_GETADDR, DUMP, seq, [ifaddrmsg({ family: f, prefixLength: 0, index: 0 })]);
}

export interface RouteSpec {
  /** CIDR; the default route when omitted. */
  dst?: string;
  gateway?: string;
  /** Output interface index. */
  oif?: number;
  family?: 4 | 6;
  /** Routing table (main by default). */
  table?: number;
  /** Route metric (RTA_PRIORITY). */
  priority?: number;
}

/** The family of a route: from `dst`, else `gateway`, else `family`, else IPv4. */
export function routeFamily(r: RouteSpec): 4 | 6 {
  const fromDst = r.dst !== undefined ? parseCidr(r.dst, "dst").family : undefined;
  const fromGw = r.gateway !== undefined ? (ipToBytes(r.gateway, "gateway").length === 4 ? 4 : 6) : undefined;
  if (fromDst && fromGw && fromDst !== fromGw) throw invalid("gateway", `gateway ${r.gateway} is not of the same family as ${r.dst}`);
  const f = fromDst ?? fromGw ?? r.family ?? 4;
  if (r.family !== undefined && f !== r.family) throw invalid("family", `the route is IPv${f}, not IPv${r.family}`);
  return f;
}

/**
 * RTM_NEWROUTE (create, exclusive) or RTM_DELROUTE, as `ip route add|del`
 * sends it: a unicast route of protocol boot in the main table; an IPv4
 * route without a gateway has link scope.
 */
export function routeRequest(type: typeof RTM_NEWROUTE | typeof RTM_DELROUTE, seq: number, r: RouteSpec): Buffer {
  const family = routeFamily(r);
  const dst = r.dst !== undefined ? parseCidr(r.dst, "dst") : undefined;
  const table = r.table ?? RT_TABLE_MAIN;
  const add = type === RTM_NEWROUTE;
  const scope = !add ? RT_SCOPE_NOWHERE : family === 4 && r.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  const parts = [
    rtmsg({
      family: family === 4 ? AF_INET : AF_INET6,
      dstLength: dst?.prefixLength ?? 0,
      table: table < 256 ? table : RT_TABLE_UNSPEC,
      protocol: add ? RTPROT_BOOT : RTPROT_UNSPEC,
      scope,
      type: add ? RTN_UNICAST : RTN_UNSPEC,
    }),
  ];
  if (table >= 256) parts.push(attrU32(RTA_TABLE, table));
  if (dst && dst.prefixLength > 0) parts.push(rtattr(RTA_DST, networkOf(dst.address, dst.prefixLength)));
  if (r.gateway !== undefined) parts.push(rtattr(RTA_GATEWAY, ipToBytes(r.gateway, "gateway")));
  if (r.priority !== undefined) parts.push(attrU32(RTA_PRIORITY, r.priority));
  if (r.oif !== undefined) parts.push(attrU32(RTA_OIF, r.oif));
  return nlmsg(type, add ? CREATE : MODIFY, seq, parts);
}

export function dumpRoutesRequest(seq: number, family?: 4 | 6): Buffer {
  const f = family === 4 ? AF_INET : family === 6 ? AF_INET6 : AF_UNSPEC;
  return nlmsg(RTM_GETROUTE, DUMP, seq, [rtmsg({ family: f })]);
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The body after the nlmsghdr (a view into the input). */
  payload: Buffer;
}

/** Splits a buffer of netlink messages. */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = readU32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new RangeError(`malformed netlink message at offset ${off}`);
    out.push({
      type: readU16(buf, off + 4),
      flags: readU16(buf, off + 6),
      seq: readU32(buf, off + 8),
      pid: readU32(buf, off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** The attributes in `buf` from `offset`, by type (flags masked off; the last of a type wins). Payloads are views. */
export function parseAttrs(buf: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = offset;
  while (off + 4 <= buf.length) {
    const len = readU16(buf, off);
    if (len < 4 || off + len > buf.length) break;
    out.set(readU16(buf, off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** A NUL-terminated string attribute's text. */
export function attrToString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString("utf8");
}

export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
  multicast: number;
  collisions: number;
}

export interface LinkInfo {
  index: number;
  name: string;
  /** ifi_flags (IFF_*). */
  flags: number;
  /** IFF_UP (administratively up). */
  up: boolean;
  /** IFLA_OPERSTATE: "up", "down", "lowerlayerdown", "unknown", … */
  operState: string;
  mtu: number;
  /** Link-layer address, "aa:bb:cc:dd:ee:ff" ("" when the link has none). */
  mac: string;
  /** ARPHRD_* (1: ethernet, 772: loopback). */
  type: number;
  /** IFLA_INFO_KIND: "bridge", "veth", "macvlan", "dummy", … (absent for physical devices and lo). */
  kind?: string;
  /** Index of the master (bridge) of this link. */
  master?: number;
  /** IFLA_LINK: the lower device (macvlan parent) or the veth peer, in `linkNetnsId`'s namespace when that is set. */
  link?: number;
  /** IFLA_LINK_NETNSID: the peer namespace's id, as this namespace knows it. */
  linkNetnsId?: number;
  stats?: LinkStats;
  /** IFLA_PERM_ADDRESS: the hardware's permanent address, when the driver has one. */
  permanentMac?: string;
}

/** struct rtnl_link_stats64: 64-bit counters in this order (only the first ten are kept). */
export function parseStats64(b: Buffer): LinkStats | undefined {
  if (b.length < 80) return undefined;
  const at = (i: number) => readU64(b, i * 8);
  return {
    rxPackets: at(0),
    txPackets: at(1),
    rxBytes: at(2),
    txBytes: at(3),
    rxErrors: at(4),
    txErrors: at(5),
    rxDropped: at(6),
    txDropped: at(7),
    multicast: at(8),
    collisions: at(9),
  };
}

/** One RTM_NEWLINK body (ifinfomsg + attributes). */
export function parseLink(payload: Buffer): LinkInfo | undefined {
  if (payload.length < 16) return undefined;
  const attrs = parseAttrs(payload, 16);
  const flags = readU32(payload, 8);
  const info: LinkInfo = {
    index: readI32(payload, 4),
    name: attrs.has(IFLA_IFNAME) ? attrToString(attrs.get(IFLA_IFNAME)!) : "",
    flags,
    up: (flags & IFF_UP) !== 0,
    operState: OPER_STATES[attrs.get(IFLA_OPERSTATE)?.[0] ?? 0] ?? "unknown",
    mtu: attrs.has(IFLA_MTU) ? readU32(attrs.get(IFLA_MTU)!, 0) : 0,
    mac: attrs.has(IFLA_ADDRESS) ? formatMac(attrs.get(IFLA_ADDRESS)!) : "",
    type: readU16(payload, 2),
  };
  const linkinfo = attrs.get(IFLA_LINKINFO);
  if (linkinfo) {
    const kind = parseAttrs(linkinfo).get(IFLA_INFO_KIND);
    if (kind) info.kind = attrToString(kind);
  }
  const master = attrs.get(IFLA_MASTER);
  if (master && master.length >= 4) info.master = readU32(master, 0);
  const link = attrs.get(IFLA_LINK);
  if (link && link.length >= 4) info.link = readU32(link, 0);
  const netnsid = attrs.get(IFLA_LINK_NETNSID);
  if (netnsid && netnsid.length >= 4) info.linkNetnsId = readI32(netnsid, 0);
  const stats = attrs.get(IFLA_STATS64);
  if (stats) {
    const s = parseStats64(stats);
    if (s) info.stats = s;
  }
  const perm = attrs.get(IFLA_PERM_ADDRESS);
  if (perm && perm.length > 0) info.permanentMac = formatMac(perm);
  return info;
}

/** The links in a buffer of RTM_NEWLINK messages (other messages are skipped). */
export function parseLinks(buf: Buffer): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const m of parseMessages(buf)) {
    if (m.type !== RTM_NEWLINK) continue;
    const l = parseLink(m.payload);
    if (l) out.push(l);
  }
  return out;
}

export interface AddressInfo {
  /** The link's index. */
  index: number;
  family: 4 | 6;
  address: string;
  prefixLength: number;
  /** RT_SCOPE_* (0 global, 253 link, 254 host). */
  scope: number;
  /** IFA_F_* (IFA_FLAGS when present, else ifa_flags). */
  flags: number;
  /** IPv4 label (usually the link's name). */
  label?: string;
  broadcast?: string;
}

/** One RTM_NEWADDR body (ifaddrmsg + attributes). */
export function parseAddress(payload: Buffer): AddressInfo | undefined {
  if (payload.length < 8) return undefined;
  const family = payload[0] === AF_INET ? 4 : payload[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const attrs = parseAttrs(payload, 8);
  const addr = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!addr || addr.length !== (family === 4 ? 4 : 16)) return undefined;
  const flagsAttr = attrs.get(IFA_FLAGS);
  const info: AddressInfo = {
    index: readU32(payload, 4),
    family,
    address: bytesToIp(addr),
    prefixLength: payload[1]!,
    scope: payload[3]!,
    flags: flagsAttr && flagsAttr.length >= 4 ? readU32(flagsAttr, 0) : payload[2]!,
  };
  const label = attrs.get(IFA_LABEL);
  if (label) info.label = attrToString(label);
  const brd = attrs.get(IFA_BROADCAST);
  if (brd && brd.length === 4) info.broadcast = bytesToIp(brd);
  return info;
}

/** The addresses in a buffer of RTM_NEWADDR messages. */
export function parseAddresses(buf: Buffer): AddressInfo[] {
  const out: AddressInfo[] = [];
  for (const m of parseMessages(buf)) {
    if (m.type !== RTM_NEWADDR) continue;
    const a = parseAddress(m.payload);
    if (a) out.push(a);
  }
  return out;
}

export interface RouteInfo {
  family: 4 | 6;
  /** Destination as a CIDR ("10.99.0.0/24"); absent for a default route. */
  dst?: string;
  /** Destination prefix length (0 for a default route). */
  prefixLength: number;
  gateway?: string;
  /** Output interface index. */
  oif?: number;
  /** Preferred source address. */
  prefsrc?: string;
  /** Metric. */
  priority?: number;
  table: number;
  /** RTPROT_* (2 kernel, 3 boot, 4 static). */
  protocol: number;
  /** RT_SCOPE_*. */
  scope: number;
  /** RTN_* (1 unicast, 2 local, …). */
  type: number;
}

/** One RTM_NEWROUTE body (rtmsg + attributes). */
export function parseRoute(payload: Buffer): RouteInfo | undefined {
  if (payload.length < 12) return undefined;
  const family = payload[0] === AF_INET ? 4 : payload[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const size = family === 4 ? 4 : 16;
  const attrs = parseAttrs(payload, 12);
  const ip = (t: number) => {
    const b = attrs.get(t);
    return b && b.length === size ? bytesToIp(b) : undefined;
  };
  const u32attr = (t: number) => {
    const b = attrs.get(t);
    return b && b.length >= 4 ? readU32(b, 0) : undefined;
  };
  const info: RouteInfo = {
    family,
    prefixLength: payload[1]!,
    table: u32attr(RTA_TABLE) ?? payload[4]!,
    protocol: payload[5]!,
    scope: payload[6]!,
    type: payload[7]!,
  };
  const dst = ip(RTA_DST);
  if (info.prefixLength > 0) info.dst = `${dst ?? (family === 4 ? "0.0.0.0" : "::")}/${info.prefixLength}`;
  const gw = ip(RTA_GATEWAY);
  if (gw !== undefined) info.gateway = gw;
  const oif = u32attr(RTA_OIF);
  if (oif !== undefined) info.oif = oif;
  const prefsrc = ip(RTA_PREFSRC);
  if (prefsrc !== undefined) info.prefsrc = prefsrc;
  const prio = u32attr(RTA_PRIORITY);
  if (prio !== undefined) info.priority = prio;
  return info;
}

/** The routes in a buffer of RTM_NEWROUTE messages (every table). */
export function parseRoutes(buf: Buffer): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const m of parseMessages(buf)) {
    if (m.type !== RTM_NEWROUTE) continue;
    const r = parseRoute(m.payload);
    if (r) out.push(r);
  }
  return out;
}

/** True when a dump was interrupted by a concurrent change (NLM_F_DUMP_INTR): its content may be inconsistent. */
export function dumpInterrupted(buf: Buffer): boolean {
  return parseMessages(buf).some((m) => (m.flags & NLM_F_DUMP_INTR) !== 0);
}
