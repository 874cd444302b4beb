/**
 * Addresses for containers on a warren-managed bridge: pure IPv4/IPv6 CIDR
 * helpers, and {@link LeaseStore}, which keeps one lease file per network
 *
 *     <dir>/<network>.json        a journal (src/linux/journal.ts): `network` → { version, subnet,
 *                                 subnet6?, gateway, gateway6? }, `lease:<container>` → { ipv4, ipv6?, mac }
 *     <dir>/<network>.json.lock   flock held for every read-modify-write
 *
 * so a container keeps its addresses across restarts and two Node processes
 * allocating at the same time never hand out the same one. A change appends
 * the lines of what changed (a lease taken or given back: one line), not the
 * whole record, so it costs the same with a thousand leases on the network
 * as with one; a reader without the lock reads only what was appended since
 * it last looked. (The whole-file JSON of earlier versions is read and
 * continued as a journal.)
 *
 * Layout of a subnet: the network address (index 0) is never leased; the
 * gateway (the bridge's own address) is the first host address (index 1);
 * IPv4 leases go to the lowest free index from 2, never the broadcast
 * address. IPv6 leases are derived from a hash of the container's name (so
 * they are stable and spread out), conflict-checked; in a /64 or shorter the
 * highest 128 addresses (RFC 2526 anycast) are skipped.
 * @module
 */
import { createHash } from "node:crypto";
import { promises as fsp, rmSync } from "node:fs";
import { join } from "node:path";

import { ConfigError, HostError, NotFoundError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { Journal } from "../linux/journal.js";

// ---------------------------------------------------------------------------
// Addresses

export type IpFamily = 4 | 6;

/** A parsed address. */
export interface Ip {
  family: IpFamily;
  value: bigint;
}

const V4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!V4_OCTET.test(p)) return undefined; // no leading zeros: `010` would be octal to some tools
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined; // no zone ids (`%eth0`)
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (const [i, p] of parts.entries()) {
      if (p.includes(".")) {
        // An embedded IPv4 address (`::ffff:10.0.0.1`), only as the last group.
        if (i !== parts.length - 1) return undefined;
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 address may only end the whole address.
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  let all: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    all = head;
  }
  return all.reduce((v, g) => (v << 16n) | BigInt(g), 0n);
}

/** Parses an IPv4 or IPv6 address (no prefix), or returns undefined. */
export function tryParseIp(text: string): Ip | undefined {
  if (typeof text !== "string") return undefined;
  const v4 = parseV4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!text.includes(":")) return undefined;
  const v6 = parseV6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** Parses an IPv4 or IPv6 address; a {@link ConfigError} naming `field` if it is not one. */
export function parseIp(text: string, field = "address"): Ip {
  const ip = tryParseIp(text);
  if (!ip) throw new ConfigError([{ path: field, message: `${JSON.stringify(text)} is not an IPv4 or IPv6 address` }]);
  return ip;
}

/** An address as text: dotted quad, or RFC 5952 IPv6 (lowercase, the longest run of zero groups as `::`). */
export function formatIp(value: bigint, family: IpFamily): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join(".");
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1; // a single zero group is not compressed (RFC 5952 4.2.2)
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** The canonical text of an address (`fd42:0001::0002` → `fd42:1::2`). */
export function normalizeIp(text: string, field = "address"): string {
  const ip = parseIp(text, field);
  return formatIp(ip.value, ip.family);
}

// ---------------------------------------------------------------------------
// Prefixes

/** A parsed `address/prefix`. */
export interface Cidr {
  family: IpFamily;
  /** 32 or 128. */
  bits: number;
  /** The address as written (may have host bits set, like `10.0.0.1/24`). */
  address: bigint;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
  /** Number of addresses (2^(bits - prefix)). */
  size: bigint;
  /** The last address (the IPv4 broadcast address). */
  last: bigint;
  /** Canonical `network/prefix`. */
  text: string;
}

/** Parses `10.117.0.0/24` or `fd42:1:2::/64` (host bits are allowed and cleared in `network`); a {@link ConfigError} naming `field`. */
export function parseCidr(text: string, field = "subnet"): Cidr {
  const bad = (why: string) => new ConfigError([{ path: field, message: `${JSON.stringify(text)} ${why}` }]);
  if (typeof text !== "string") throw bad("is not a prefix like 10.117.0.0/24 or fd42:1::/64");
  const slash = text.indexOf("/");
  if (slash < 0) throw bad("has no prefix length (like 10.117.0.0/24 or fd42:1::/64)");
  const ip = tryParseIp(text.slice(0, slash));
  const p = text.slice(slash + 1);
  if (!ip) throw bad("is not a prefix like 10.117.0.0/24 or fd42:1::/64");
  const bits = ip.family === 4 ? 32 : 128;
  if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > bits) throw bad(`has an invalid prefix length (0 to ${bits})`);
  const prefix = Number(p);
  const size = 1n << BigInt(bits - prefix);
  const network = ip.value & ~(size - 1n) & ((1n << BigInt(bits)) - 1n);
  return {
    family: ip.family,
    bits,
    address: ip.value,
    network,
    prefix,
    size,
    last: network + size - 1n,
    text: `${formatIp(network, ip.family)}/${prefix}`,
  };
}

const asCidr = (c: string | Cidr): Cidr => (typeof c === "string" ? parseCidr(c) : c);

/** Whether `ip` (an address, or a parsed one) is inside `cidr`. Different families never contain each other. */
export function cidrContains(cidr: string | Cidr, ip: string | Ip): boolean {
  const c = asCidr(cidr);
  const a = typeof ip === "string" ? tryParseIp(ip) : ip;
  if (!a || a.family !== c.family) return false;
  return a.value >= c.network && a.value <= c.last;
}

/** Whether two prefixes share an address. Different families never overlap. */
export function cidrOverlaps(a: string | Cidr, b: string | Cidr): boolean {
  const x = asCidr(a);
  const y = asCidr(b);
  return x.family === y.family && x.network <= y.last && y.network <= x.last;
}

/** The `n`-th address of `cidr` (0 is the network address, 1 the first host address); a RangeError outside it. */
export function hostAddress(cidr: string | Cidr, n: number | bigint): string {
  const c = asCidr(cidr);
  const i = BigInt(n);
  if (i < 0n || i >= c.size) throw new RangeError(`${c.text} has no address number ${i} (it has ${c.size})`);
  return formatIp(c.network + i, c.family);
}

/**
 * Checks a prefix for use as a bridge's subnet and returns it parsed: the
 * network address itself (no host bits), room for the gateway and at least
 * one container (so IPv4 /31 and /32, IPv6 /127 and /128 are refused), not
 * loopback, link-local, multicast or unspecified space.
 */
export function bridgeSubnet(text: string, field = "subnet", family?: IpFamily): Cidr {
  const c = parseCidr(text, field);
  const bad = (why: string) => new ConfigError([{ path: field, message: `${text} ${why}` }]);
  if (family !== undefined && c.family !== family) throw bad(`is not an IPv${family} prefix`);
  if (c.address !== c.network) throw bad(`has host bits set (the network is ${c.text})`);
  const max = c.family === 4 ? 30 : 126;
  if (c.prefix > max) throw bad(`is too small for a bridge: /${max} or larger is needed for the gateway and a container`);
  const reserved: string[] =
    c.family === 4 ? ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"] : ["::/127", "fe80::/10", "ff00::/8", "::ffff:0:0/96"];
  for (const r of reserved) {
    if (cidrOverlaps(c, r)) throw bad(`overlaps reserved address space ${r}`);
  }
  return c;
}

// ---------------------------------------------------------------------------
// MAC addresses

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** A MAC address in canonical lowercase form; a {@link ConfigError} unless it is a valid unicast address. */
export function normalizeMac(text: string, field = "mac"): string {
  const m = typeof text === "string" ? text.toLowerCase() : "";
  if (!MAC.test(m)) throw new ConfigError([{ path: field, message: `${JSON.stringify(text)} is not a MAC address like 02:16:3e:00:00:01` }]);
  if (parseInt(m.slice(0, 2), 16) & 1) throw new ConfigError([{ path: field, message: `${text} is a multicast MAC address` }]);
  if (m === "00:00:00:00:00:00") throw new ConfigError([{ path: field, message: `${text} is not a usable MAC address` }]);
  return m;
}

/** A stable, locally administered unicast MAC (`02:xx:xx:xx:xx:xx`) for `container` on `network`. */
export function generatedMac(network: string, container: string, attempt = 0): string {
  const h = createHash("sha256").update(`${network}\0${container}\0${attempt}`).digest();
  return ["02", ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

// ---------------------------------------------------------------------------
// Lease files

/** A container's addresses on one network. */
export interface Lease {
  ipv4: string;
  ipv6?: string;
  mac: string;
}

/** The content of one network's lease file. */
export interface NetworkRecord {
  version: 1;
  /** IPv4 subnet, canonical (`10.117.0.0/24`). */
  subnet: string;
  /** IPv6 subnet, canonical (`fd42:1:2::/64`). */
  subnet6?: string;
  /** The bridge's IPv4 address: the subnet's first host address. */
  gateway: string;
  /** The bridge's IPv6 address: the subnet6's first host address. */
  gateway6?: string;
  /** Leases by container (any string key: callers may use `name#1` for a second NIC). */
  leases: Record<string, Lease>;
}

export interface NetworkSpec {
  subnet: string;
  subnet6?: string;
}

export interface AllocateOptions {
  /** A static IPv4 address (no prefix). */
  ipv4?: string;
  /** A static IPv6 address (no prefix). */
  ipv6?: string;
  /** A fixed MAC address. */
  mac?: string;
  /** Path named by a ConfigError about `ipv4` (and the subnet's exhaustion), e.g. `nics[0].ipv4`. Default `ipv4`. */
  field?: string;
  /** Path named by a ConfigError about `ipv6`. Default: `field` with `ipv4` replaced by `ipv6`, else `ipv6`. */
  field6?: string;
  /** Path named by a ConfigError about `mac`. Default: `field`'s parent + `.mac`, else `mac`. */
  fieldMac?: string;
  /**
   * The most leases the network may hold (a bridge's port cap): a container
   * with no lease yet on a network holding as many gets a StateError whose
   * state is "full". Checked under the file's lock, so two processes cannot
   * both take the last place.
   */
  limit?: number;
}

const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function checkNetworkName(name: string): void {
  if (typeof name !== "string" || !NETWORK_NAME.test(name)) {
    throw new ConfigError([{ path: "network", message: `${JSON.stringify(name)} is not a valid network name (letters, digits, \`_\`, \`.\`, \`-\`; up to 63)` }]);
  }
}

function checkContainerKey(container: string): void {
  if (typeof container !== "string" || container.length === 0 || container.length > 255 || container.includes("\0") || container === "__proto__") {
    throw new ConfigError([{ path: "container", message: `${JSON.stringify(container)} is not a valid lease name` }]);
  }
}

/** IPv4: index 2 (after the gateway) up to the one before broadcast. IPv6: 2 up to the end, minus RFC 2526's 128 in a /64 or shorter. */
function usableRange(c: Cidr): { first: bigint; last: bigint } {
  if (c.family === 4) return { first: 2n, last: c.size - 2n };
  return { first: 2n, last: c.size - 1n - (c.prefix <= 64 ? 128n : 0n) };
}

function ownerOf(record: NetworkRecord, pick: (l: Lease) => string | undefined, value: string, except: string): string | undefined {
  for (const [name, lease] of Object.entries(record.leases)) {
    if (name !== except && pick(lease) === value) return name;
  }
  return undefined;
}

/**
 * Leases of the networks warren manages, one journal per network under
 * `dir` (typically `<root>/.network`). Every change happens under an flock on
 * `<file>.lock`, so it is safe across Node processes; reads need no lock.
 */
/** What a change under a lease file's lock returns: its result, and the record to write, if any. */
interface Updated<T> {
  result: T;
  write?: NetworkRecord;
}

export class LeaseStore {
  constructor(readonly dir: string) {}

  /** The lease file of `network`. */
  path(network: string): string {
    checkNetworkName(network);
    return join(this.dir, `${network}.json`);
  }

  /**
   * Creates the network's record (gateway = the first host address) if it
   * does not exist and returns it. An existing network with another subnet is
   * a {@link ConfigError} naming `network.subnet` (or `network.subnet6`).
   */
  async ensureNetwork(name: string, spec: NetworkSpec): Promise<NetworkRecord> {
    const v4 = bridgeSubnet(spec.subnet, "network.subnet", 4);
    const v6 = spec.subnet6 === undefined ? undefined : bridgeSubnet(spec.subnet6, "network.subnet6", 6);
    return this.update(name, true, (rec) => {
      if (rec) {
        if (rec.subnet !== v4.text) {
          throw new ConfigError([{ path: "network.subnet", message: `network ${name} already exists with subnet ${rec.subnet}, not ${v4.text}` }]);
        }
        if ((rec.subnet6 ?? undefined) !== v6?.text) {
          throw new ConfigError([
            { path: "network.subnet6", message: `network ${name} already exists with ${rec.subnet6 ? `IPv6 subnet ${rec.subnet6}` : "no IPv6 subnet"}, not ${v6?.text ?? "none"}` },
          ]);
        }
        return { result: rec };
      }
      const created: NetworkRecord = {
        version: 1,
        subnet: v4.text,
        ...(v6 ? { subnet6: v6.text } : {}),
        gateway: hostAddress(v4, 1),
        ...(v6 ? { gateway6: hostAddress(v6, 1) } : {}),
        leases: {},
      };
      return { result: created, write: created };
    });
  }

  /** The network's record (subnets, gateways, leases), or undefined if there is none. Reads without the lock. */
  async network(name: string): Promise<NetworkRecord | undefined> {
    return this.read(this.path(name));
  }

  /** Same as {@link network}: the whole lease file (its `leases` maps container to lease). */
  async leases(name: string): Promise<NetworkRecord | undefined> {
    return this.network(name);
  }

  /** Names of every network with a lease file, sorted. */
  async networks(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await fsp.readdir(this.dir);
    } catch (e) {
      if (codeOf(e) === "ENOENT") return [];
      throw new HostError(`read \`${this.dir}\``, codeOf(e), { path: this.dir, syscall: "readdir", cause: e });
    }
    return entries
      .filter((e) => e.endsWith(".json"))
      .map((e) => e.slice(0, -".json".length))
      .filter((n) => NETWORK_NAME.test(n))
      .sort();
  }

  /**
   * The container's lease on `network`: its existing one (stable across
   * restarts) or a new one. A static `ipv4`/`ipv6`/`mac` different from the
   * existing lease replaces it, after the same checks as a new one: inside
   * the subnet, not the network, broadcast or gateway address, not leased to
   * another container. Without a static address, IPv4 is the lowest free
   * host address after the gateway; IPv6 (when the network has a subnet6) a
   * free address derived from a hash of the name; the MAC a locally
   * administered `02:…` one derived from the network and container names.
   */
  async allocate(network: string, container: string, opts: AllocateOptions = {}): Promise<Lease> {
    checkContainerKey(container);
    const field = opts.field ?? "ipv4";
    const field6 = opts.field6 ?? (/ipv4$/.test(field) ? field.replace(/ipv4$/, "ipv6") : "ipv6");
    const fieldMac = opts.fieldMac ?? (/\.ipv4$/.test(field) ? field.replace(/\.ipv4$/, ".mac") : "mac");
    return this.update(network, false, (rec) => {
      if (!rec) throw new NotFoundError(`network ${network} has no lease record (create it with ensureNetwork first)`);
      const old = Object.hasOwn(rec.leases, container) ? rec.leases[container] : undefined;
      if (!old && opts.limit !== undefined && Object.keys(rec.leases).length >= opts.limit) {
        throw new StateError(`network ${network} holds its most leases (${opts.limit})`, "allocate", "full");
      }
      const v4 = parseCidr(rec.subnet);
      const v6 = rec.subnet6 ? parseCidr(rec.subnet6) : undefined;

      const ipv4 = opts.ipv4 !== undefined
        ? this.staticAddress(rec, container, v4, opts.ipv4, field, (l) => l.ipv4, rec.gateway)
        : old?.ipv4 ?? this.lowestFree(rec, v4, field);

      let ipv6: string | undefined;
      if (opts.ipv6 !== undefined) {
        if (!v6) throw new ConfigError([{ path: field6, message: `network ${network} has no IPv6 subnet` }]);
        ipv6 = this.staticAddress(rec, container, v6, opts.ipv6, field6, (l) => l.ipv6, rec.gateway6);
      } else if (v6) {
        ipv6 = old?.ipv6 ?? this.hashedFree(rec, network, container, v6, field6);
      }

      let mac: string;
      if (opts.mac !== undefined) {
        mac = normalizeMac(opts.mac, fieldMac);
        const other = ownerOf(rec, (l) => l.mac, mac, container);
        if (other !== undefined) throw new ConfigError([{ path: fieldMac, message: `${mac} is already used by container ${other}` }]);
      } else if (old?.mac) {
        mac = old.mac;
      } else {
        mac = "";
        for (let attempt = 0; ; attempt++) {
          mac = generatedMac(network, container, attempt);
          if (ownerOf(rec, (l) => l.mac, mac, container) === undefined) break;
        }
      }

      const lease: Lease = { ipv4, ...(ipv6 !== undefined ? { ipv6 } : {}), mac };
      if (old && old.ipv4 === lease.ipv4 && old.ipv6 === lease.ipv6 && old.mac === lease.mac) return { result: { ...old } };
      rec.leases[container] = lease;
      return { result: { ...lease }, write: rec };
    });
  }

  /** Drops the container's lease on `network` (nothing if it has none). */
  async release(network: string, container: string): Promise<void> {
    checkContainerKey(container);
    await this.update(network, false, (rec) => {
      if (!rec || !Object.hasOwn(rec.leases, container)) return { result: undefined };
      delete rec.leases[container];
      return { result: undefined, write: rec };
    });
  }

  /**
   * Moves the lease of `from` on `network` to the key `to` (a container
   * renamed): same addresses and MAC. Nothing if `from` has none; a lease
   * already under `to` is a {@link StateError}.
   */
  async rekey(network: string, from: string, to: string): Promise<void> {
    checkContainerKey(from);
    checkContainerKey(to);
    await this.update(network, false, (rec) => {
      if (!rec || !Object.hasOwn(rec.leases, from)) return { result: undefined };
      if (Object.hasOwn(rec.leases, to)) {
        throw new StateError(`network ${network} already has a lease for ${JSON.stringify(to)}`, "rename", "exists");
      }
      rec.leases[to] = rec.leases[from]!;
      delete rec.leases[from];
      return { result: undefined, write: rec };
    });
  }

  /**
   * Drops every lease whose key `pick` selects, on every network (a
   * container's NICs: keys `<container>/<nic>`; or leases whose container is
   * gone). Returns the keys dropped.
   */
  async releaseWhere(pick: (key: string) => boolean): Promise<string[]> {
    const dropped: string[] = [];
    for (const network of await this.networks()) {
      const rec = await this.network(network);
      if (!rec || !Object.keys(rec.leases).some(pick)) continue;
      await this.update(network, false, (r) => {
        const keys = r ? Object.keys(r.leases).filter(pick) : [];
        if (!r || keys.length === 0) return { result: undefined };
        for (const k of keys) delete r.leases[k];
        dropped.push(...keys);
        return { result: undefined, write: r };
      });
    }
    return dropped;
  }

  /** Drops the container's leases on every network; returns the networks it had one on. */
  async releaseAll(container: string): Promise<string[]> {
    checkContainerKey(container);
    const released: string[] = [];
    for (const network of await this.networks()) {
      const rec = await this.network(network);
      if (!rec || !Object.hasOwn(rec.leases, container)) continue;
      await this.release(network, container);
      released.push(network);
    }
    return released;
  }

  /**
   * Deletes the network's lease file (nothing if there is none). With leases
   * left, a {@link StateError} unless `force`. The lock file stays: removing
   * it could let two processes lock different files of the same name.
   * `teardown` runs first, under the file's lock: what is built for the
   * network (its bridge, NAT) goes before another process can lease on it
   * again and find it half removed.
   */
  async removeNetwork(name: string, opts: { force?: boolean; teardown?: () => Promise<void> } = {}): Promise<void> {
    const path = this.path(name);
    await this.update(name, false, async (rec) => {
      if (!rec) return { result: undefined };
      const left = Object.keys(rec.leases);
      if (left.length > 0 && !opts.force) {
        throw new StateError(`network ${name} still has leases (${left.join(", ")})`, "remove-network", "in-use");
      }
      await opts.teardown?.();
      rmSync(path, { force: true });
      return { result: undefined };
    });
  }

  private staticAddress(
    rec: NetworkRecord,
    container: string,
    subnet: Cidr,
    text: string,
    field: string,
    pick: (l: Lease) => string | undefined,
    gateway: string | undefined,
  ): string {
    if (typeof text === "string" && text.includes("/")) {
      throw new ConfigError([{ path: field, message: `${JSON.stringify(text)}: give the address without a prefix length (the network's subnet is ${subnet.text})` }]);
    }
    const ip = parseIp(text, field);
    const addr = formatIp(ip.value, ip.family);
    const bad = (why: string) => new ConfigError([{ path: field, message: `${addr} ${why}` }]);
    if (ip.family !== subnet.family || !cidrContains(subnet, ip)) throw bad(`is not in the network's subnet ${subnet.text}`);
    if (ip.value === subnet.network) throw bad(`is the network address of ${subnet.text}`);
    if (subnet.family === 4 && ip.value === subnet.last) throw bad(`is the broadcast address of ${subnet.text}`);
    if (addr === gateway) throw bad(`is the gateway (the bridge's own address)`);
    const other = ownerOf(rec, pick, addr, container);
    if (other !== undefined) throw bad(`is already used by container ${other}`);
    return addr;
  }

  private lowestFree(rec: NetworkRecord, subnet: Cidr, field: string): string {
    const used = new Set<string>(Object.values(rec.leases).map((l) => l.ipv4));
    const { first, last } = usableRange(subnet);
    for (let i = first; i <= last; i++) {
      const a = formatIp(subnet.network + i, 4);
      if (!used.has(a)) return a;
    }
    throw new ConfigError([
      { path: field, message: `no free IPv4 address left in ${subnet.text} (${used.size} leased): use a larger subnet or release a container` },
    ]);
  }

  private hashedFree(rec: NetworkRecord, network: string, container: string, subnet: Cidr, field: string): string {
    const used = new Set<string>(Object.values(rec.leases).flatMap((l) => (l.ipv6 ? [l.ipv6] : [])));
    const { first, last } = usableRange(subnet);
    const count = last - first + 1n;
    const h = createHash("sha256").update(`${network}\0${container}`).digest();
    const start = BigInt(`0x${h.subarray(0, 16).toString("hex")}`) % count;
    // Linear probing from the hashed index: in a /64 the first try is all but certainly free.
    const tries = count < 1_000_000n ? count : 1_000_000n;
    for (let k = 0n; k < tries; k++) {
      const a = formatIp(subnet.network + first + ((start + k) % count), 6);
      if (!used.has(a)) return a;
    }
    throw new ConfigError([{ path: field, message: `no free IPv6 address left in ${subnet.text} (${used.size} leased)` }]);
  }

  /**
   * Read-modify-write of one network's record under its journal's lock:
   * `fn` gets the record (its own copy) and returns what to write; only
   * what changed is appended (one line per lease), so a change costs the
   * same with ten leases or a thousand.
   */
  private async update<T>(
    network: string,
    create: boolean,
    fn: (rec: NetworkRecord | undefined) => Updated<T> | Promise<Updated<T>>,
  ): Promise<T> {
    const path = this.path(network);
    if (create) {
      try {
        await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new HostError(`create \`${this.dir}\``, codeOf(e), { path: this.dir, syscall: "mkdir", cause: e });
      }
    } else {
      try {
        await fsp.access(this.dir);
      } catch {
        return (await fn(undefined)).result; // no directory, no record: nothing to lock
      }
    }
    return leaseJournal(path).update(async (entries, change) => {
      const rec = recordOf(entries, path);
      const before = rec?.leases ?? {};
      const { result, write } = await fn(rec && { ...rec, leases: { ...rec.leases } });
      if (write) {
        const { leases, ...meta } = write;
        if (!rec || JSON.stringify(metaOf(rec)) !== JSON.stringify(meta)) change.set(META_KEY, meta);
        for (const k of Object.keys(before)) if (!Object.hasOwn(leases, k)) change.delete(LEASE_PREFIX + k);
        for (const [k, l] of Object.entries(leases)) {
          const old = before[k];
          if (!old || old.ipv4 !== l.ipv4 || old.ipv6 !== l.ipv6 || old.mac !== l.mac) change.set(LEASE_PREFIX + k, { ...l });
        }
      }
      return result;
    });
  }

  private async read(path: string): Promise<NetworkRecord | undefined> {
    return recordOf(await leaseJournal(path).read(), path);
  }
}

// One network's record as a journal (src/linux/journal.ts): the key
// `network` holds the subnets and gateways, `lease:<key>` each lease.
const META_KEY = "network";
const LEASE_PREFIX = "lease:";
type LeaseEntry = Omit<NetworkRecord, "leases"> | Lease;

const journals = new Map<string, Journal<LeaseEntry>>();

/** The journal of a lease file (one per path and process: it keeps what it has read). */
function leaseJournal(path: string): Journal<LeaseEntry> {
  let j = journals.get(path);
  if (!j) {
    j = new Journal<LeaseEntry>(path, fromWholeFile);
    journals.set(path, j);
  }
  return j;
}

/** A lease file of earlier versions (the whole record as one JSON object), as journal entries. */
function fromWholeFile(old: unknown): Iterable<[string, LeaseEntry]> | undefined {
  const o = old as Partial<NetworkRecord> | null;
  if (!o || typeof o.subnet !== "string" || typeof o.leases !== "object" || o.leases === null) return undefined;
  const { leases, ...meta } = o as NetworkRecord;
  return [[META_KEY, meta], ...Object.entries(leases).map(([k, l]): [string, LeaseEntry] => [LEASE_PREFIX + k, l])];
}

function metaOf(rec: NetworkRecord): Omit<NetworkRecord, "leases"> {
  const { leases: _l, ...meta } = rec;
  return meta;
}

/** The record the entries describe (leases copied: callers may change them). */
function recordOf(entries: ReadonlyMap<string, LeaseEntry>, path: string): NetworkRecord | undefined {
  const meta = entries.get(META_KEY) as Omit<NetworkRecord, "leases"> | undefined;
  if (meta === undefined) {
    if (entries.size > 0) throw new HostError(`parse \`${path}\` (a lease file without its network)`, "EINVAL", { path });
    return undefined;
  }
  if (typeof meta.subnet !== "string") throw new HostError(`parse \`${path}\` (not a lease file)`, "EINVAL", { path });
  const leases: Record<string, Lease> = {};
  for (const [k, v] of entries) if (k.startsWith(LEASE_PREFIX)) leases[k.slice(LEASE_PREFIX.length)] = { ...(v as Lease) };
  return { ...meta, leases };
}
