/**
 * Links, addresses and routes through rtnetlink, in the host's network
 * namespace or in a container's, with no `ip` binary. Each call is one
 * synchronous request/reply on a NETLINK_ROUTE socket (rtnetlink answers at
 * once); the messages are built and parsed in ./rtnetlink.ts.
 *
 * ```ts
 * using host = Netlink.host();
 * host.createBridge("wrbr0");
 * host.addAddress("wrbr0", "10.88.0.1/24");
 * host.setUp("wrbr0");
 * ```
 * @module
 */
import { HostError, StateError, WarrenError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";
import {
  addressRequest,
  bridgeRequest,
  checkLinkName,
  deleteLinkRequest,
  dummyRequest,
  dumpAddressesRequest,
  dumpInterrupted,
  dumpLinksRequest,
  dumpRoutesRequest,
  getLinkRequest,
  macToBytes,
  macvlanRequest,
  parseAddresses,
  parseLinks,
  parseRoutes,
  routeFamily,
  routeRequest,
  RT_TABLE_MAIN,
  RTM_DELADDR,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWROUTE,
  setLinkRequest,
  validLinkName,
  vethRequest,
  IFF_UP,
  type AddressInfo,
  type LinkInfo,
  type RouteInfo,
} from "./rtnetlink.js";
import { dumpProxyNeighRequest, parseProxyNeighs, proxyNeighRequest, RTM_DELNEIGH, RTM_NEWNEIGH, type ProxyNeigh } from "./neigh.js";

export type { ProxyNeigh } from "./neigh.js";
export type { AddressInfo, LinkInfo, LinkStats, RouteInfo } from "./rtnetlink.js";

/** A link by name or index. */
export type LinkRef = string | number;

export interface RouteOptions {
  /** Destination CIDR; the default route when omitted. */
  dst?: string;
  gateway?: string;
  /** Output link. */
  link?: LinkRef;
  /** Needed only when neither `dst` nor `gateway` says it. */
  family?: 4 | 6;
  /** Metric. */
  priority?: number;
}

const DUMP_RETRIES = 5;

// Sockets dropped without close() are closed when collected.
const leaked = new FinalizationRegistry<number>((fd) => {
  try {
    native().close(fd);
  } catch {
    /* already gone */
  }
});

function describe(link: LinkRef): string {
  return typeof link === "number" ? `#${link}` : `\`${link}\``;
}

/** A warren HostError for a failed netlink operation: `${what}: ${ERRNO}`, with the kernel's message when it gave one. */
function hostError(what: string, e: unknown): WarrenError {
  if (e instanceof WarrenError) return e;
  const code = codeOf(e);
  const extack = (e as { extack?: unknown })?.extack;
  const syscall = (e as { syscall?: unknown })?.syscall;
  return new HostError(typeof extack === "string" && extack ? `${what} (kernel: ${extack})` : what, code, {
    syscall: typeof syscall === "string" ? syscall : "netlink",
    cause: e,
  });
}

function isErrno(e: unknown, ...names: string[]): boolean {
  return names.includes(codeOf(e));
}

/** An rtnetlink socket in one network namespace. Not thread-safe; cheap to create. */
export class Netlink implements Disposable {
  #fd: number;
  #seq = 0;

  private constructor(fd: number) {
    this.#fd = fd;
    leaked.register(this, fd, this);
  }

  /** A socket in this process's network namespace. */
  static host(): Netlink {
    try {
      return new Netlink(native().netlinkSocket(-1));
    } catch (e) {
      throw hostError("open a netlink socket", e);
    }
  }

  /**
   * A socket inside another network namespace, e.g. of
   * `fs.openSync(`/proc/${pid}/ns/net`, "r")`. The socket stays in that
   * namespace; the fd may be closed afterwards.
   */
  static inNamespace(netnsFd: number): Netlink {
    try {
      return new Netlink(native().netlinkSocket(netnsFd));
    } catch (e) {
      throw hostError("open a netlink socket in another network namespace", e);
    }
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    leaked.unregister(this);
    native().close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // -------------------------------------------------------------------------
  // Plumbing

  #next(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }

  #talk(what: string, build: (seq: number) => Buffer): Buffer {
    if (this.#fd < 0) throw new StateError(`${what}: the netlink socket is closed`, what, "closed");
    const req = build(this.#next()); // a ConfigError from the encoders goes through as is
    return native().netlinkTalk(this.#fd, req);
  }

  /** #talk, with HostError wrapping and errno names that mean success. */
  #do(what: string, build: (seq: number) => Buffer, ok: string[] = []): void {
    try {
      this.#talk(what, build);
    } catch (e) {
      if (ok.length && isErrno(e, ...ok)) return;
      throw hostError(what, e);
    }
  }

  /** A dump, repeated when a concurrent change interrupted it. */
  #dump(what: string, build: (seq: number) => Buffer): Buffer {
    let out: Buffer = Buffer.alloc(0);
    for (let i = 0; i < DUMP_RETRIES; i++) {
      try {
        out = this.#talk(what, build);
      } catch (e) {
        throw hostError(what, e);
      }
      if (!dumpInterrupted(out)) return out;
    }
    return out;
  }

  /** The index of a link; a HostError ENODEV naming `what` when there is none. */
  #index(link: LinkRef, what: string): number {
    if (typeof link === "number") return link;
    const l = this.link(link);
    if (!l) throw new HostError(what, "ENODEV", { syscall: "netlink" });
    return l.index;
  }

  /** #index, or undefined when there is no such link (for removals, where a link gone is no error). */
  #indexIfAny(link: LinkRef, what: string): number | undefined {
    try {
      return this.#index(link, what);
    } catch (e) {
      if (e instanceof HostError && e.errno === "ENODEV") return undefined;
      throw e;
    }
  }

  // -------------------------------------------------------------------------
  // Links

  /** Every link of the namespace. */
  links(): LinkInfo[] {
    return parseLinks(this.#dump("list links", dumpLinksRequest));
  }

  /** One link by name or index, or undefined when there is none. */
  link(nameOrIndex: LinkRef): LinkInfo | undefined {
    if (typeof nameOrIndex === "string" && !validLinkName(nameOrIndex)) return undefined;
    if (typeof nameOrIndex === "number" && (!Number.isInteger(nameOrIndex) || nameOrIndex <= 0)) return undefined;
    let buf: Buffer;
    try {
      buf = this.#talk(`get link ${describe(nameOrIndex)}`, (seq) => getLinkRequest(seq, nameOrIndex));
    } catch (e) {
      if (isErrno(e, "ENODEV")) return undefined;
      throw hostError(`get link ${describe(nameOrIndex)}`, e);
    }
    return parseLinks(buf)[0];
  }

  /** Creates a bridge (EEXIST when the name is taken) and returns it. */
  createBridge(name: string, opts: { mtu?: number } = {}): LinkInfo {
    checkLinkName(name);
    const what = `create bridge \`${name}\``;
    this.#do(what, (seq) => bridgeRequest(seq, name, opts));
    const l = this.link(name);
    if (!l) throw new HostError(`${what}: it vanished right after its creation`, "ENODEV", { syscall: "netlink" });
    return l;
  }

  /**
   * Creates a veth pair `name` – `peerName`. With `peerNetnsFd` the peer is
   * created directly in that network namespace (no rename or move needed).
   */
  createVeth(name: string, peerName: string, opts: { mtu?: number; mac?: string; peerNetnsFd?: number; peerMac?: string } = {}): void {
    checkLinkName(name);
    checkLinkName(peerName, "peerName");
    if (opts.mac !== undefined) macToBytes(opts.mac);
    if (opts.peerMac !== undefined) macToBytes(opts.peerMac, "peerMac");
    this.#do(`create veth \`${name}\` (peer \`${peerName}\`)`, (seq) => vethRequest(seq, name, peerName, opts));
  }

  /** Creates a macvlan on `parent` (bridge mode); with `netnsFd` directly in that namespace. */
  createMacvlan(name: string, parent: LinkRef, opts: { mac?: string; mode?: "bridge"; netnsFd?: number; mtu?: number } = {}): void {
    checkLinkName(name);
    if (opts.mac !== undefined) macToBytes(opts.mac);
    const what = `create macvlan \`${name}\` on ${describe(parent)}`;
    const index = this.#index(parent, what);
    this.#do(what, (seq) => macvlanRequest(seq, name, index, opts));
  }

  /** Creates a dummy link (a link for tests and placeholders). */
  createDummy(name: string, opts: { mtu?: number; mac?: string } = {}): void {
    checkLinkName(name);
    this.#do(`create dummy \`${name}\``, (seq) => dummyRequest(seq, name, opts));
  }

  /** Sets the link administratively up (or down). */
  setUp(link: LinkRef, up = true): void {
    const what = `set ${describe(link)} ${up ? "up" : "down"}`;
    const index = this.#index(link, what);
    this.#do(what, (seq) => setLinkRequest(seq, { index, flags: up ? IFF_UP : 0, change: IFF_UP }));
  }

  setMtu(link: LinkRef, mtu: number): void {
    const what = `set mtu ${mtu} on ${describe(link)}`;
    const index = this.#index(link, what);
    this.#do(what, (seq) => setLinkRequest(seq, { index, mtu }));
  }

  setMac(link: LinkRef, mac: string): void {
    macToBytes(mac);
    const what = `set mac ${mac} on ${describe(link)}`;
    const index = this.#index(link, what);
    this.#do(what, (seq) => setLinkRequest(seq, { index, mac }));
  }

  /** Renames a link; the kernel wants it down (EBUSY otherwise). */
  rename(link: LinkRef, newName: string): void {
    checkLinkName(newName, "newName");
    const what = `rename ${describe(link)} to \`${newName}\``;
    const index = this.#index(link, what);
    this.#do(what, (seq) => setLinkRequest(seq, { index, name: newName }));
  }

  /** Enslaves the link to a bridge (or another master); `null` releases it. */
  setMaster(link: LinkRef, master: LinkRef | null): void {
    const what = master === null ? `release ${describe(link)} from its master` : `attach ${describe(link)} to ${describe(master)}`;
    const index = this.#index(link, what);
    const masterIndex = master === null ? 0 : this.#index(master, what);
    this.#do(what, (seq) => setLinkRequest(seq, { index, master: masterIndex }));
  }

  /** Moves the link into another network namespace (IFLA_NET_NS_FD), renamed on the way when `newName` is given. */
  moveToNamespace(link: LinkRef, netnsFd: number, newName?: string): void {
    if (newName !== undefined) checkLinkName(newName, "newName");
    const what = `move ${describe(link)} to another network namespace${newName !== undefined ? ` as \`${newName}\`` : ""}`;
    const index = this.#index(link, what);
    this.#do(what, (seq) => setLinkRequest(seq, { index, netnsFd, ...(newName !== undefined ? { name: newName } : {}) }));
  }

  /** Deletes the link; a link that is already gone is no error. Deleting one end of a veth deletes both. */
  deleteLink(link: LinkRef): void {
    const what = `delete link ${describe(link)}`;
    const index = this.#indexIfAny(link, what);
    if (index === undefined) return;
    this.#do(what, (seq) => deleteLinkRequest(seq, index), ["ENODEV"]);
  }

  // -------------------------------------------------------------------------
  // Addresses

  /**
   * Adds an address ("10.0.0.2/24", "fd00::2/64") to a link; an address that
   * is already there is no error. IPv4 gets its broadcast address; `nodad`
   * makes an IPv6 address usable without duplicate address detection.
   */
  addAddress(link: LinkRef, cidr: string, opts: { nodad?: boolean } = {}): void {
    const what = `add address ${cidr} to ${describe(link)}`;
    const index = this.#index(link, what);
    this.#do(what, (seq) => addressRequest(RTM_NEWADDR, seq, index, cidr, opts), ["EEXIST"]);
  }

  /** Removes an address from a link; an address that is not there is no error. */
  deleteAddress(link: LinkRef, cidr: string): void {
    const what = `delete address ${cidr} from ${describe(link)}`;
    const index = this.#index(link, what);
    this.#do(what, (seq) => addressRequest(RTM_DELADDR, seq, index, cidr), ["EADDRNOTAVAIL"]);
  }

  /** The addresses of the namespace, or of one link. */
  addresses(link?: LinkRef): AddressInfo[] {
    const index = link === undefined ? undefined : this.#index(link, `list addresses of ${describe(link)}`);
    const all = parseAddresses(this.#dump("list addresses", (seq) => dumpAddressesRequest(seq)));
    return index === undefined ? all : all.filter((a) => a.index === index);
  }

  // -------------------------------------------------------------------------
  // Routes

  /** Adds a route to the main table: `{ gateway }` alone is a default route. */
  addRoute(opts: RouteOptions): void {
    const what = `add route ${opts.dst ?? "default"}${opts.gateway ? ` via ${opts.gateway}` : ""}${opts.link !== undefined ? ` dev ${describe(opts.link)}` : ""}`;
    routeFamily(opts);
    const oif = opts.link === undefined ? undefined : this.#index(opts.link, what);
    this.#do(what, (seq) => routeRequest(RTM_NEWROUTE, seq, { ...routeSpec(opts), oif }));
  }

  /** Deletes a route of the main table; a route that is not there is no error. */
  deleteRoute(opts: RouteOptions): void {
    const what = `delete route ${opts.dst ?? "default"}${opts.gateway ? ` via ${opts.gateway}` : ""}`;
    routeFamily(opts);
    const oif = opts.link === undefined ? undefined : this.#index(opts.link, what);
    this.#do(what, (seq) => routeRequest(RTM_DELROUTE, seq, { ...routeSpec(opts), oif }), ["ESRCH"]);
  }

  // -------------------------------------------------------------------------
  // Proxy neighbours

  /** Answers ARP/NDP for `address` on `link` (`ip neigh add proxy`); an entry already there is no error. */
  addProxyNeighbour(link: LinkRef, address: string): void {
    const what = `add proxy neighbour ${address} on ${describe(link)}`;
    const index = this.#index(link, what);
    this.#do(what, (seq) => proxyNeighRequest(RTM_NEWNEIGH, seq, index, address), ["EEXIST"]);
  }

  /** Removes a proxy entry; one that is not there (or a link that is gone) is no error. */
  deleteProxyNeighbour(link: LinkRef, address: string): void {
    const what = `delete proxy neighbour ${address} on ${describe(link)}`;
    const index = this.#indexIfAny(link, what);
    if (index === undefined) return;
    this.#do(what, (seq) => proxyNeighRequest(RTM_DELNEIGH, seq, index, address), ["ENOENT", "ENODEV"]);
  }

  /** The proxy neighbour entries of the namespace. */
  proxyNeighbours(): ProxyNeigh[] {
    return parseProxyNeighs(this.#dump("list proxy neighbours", dumpProxyNeighRequest));
  }

  /** The routes of the main table (both families unless told). */
  routes(family?: 4 | 6): RouteInfo[] {
    return parseRoutes(this.#dump("list routes", (seq) => dumpRoutesRequest(seq, family))).filter(
      (r) => r.table === RT_TABLE_MAIN && (family === undefined || r.family === family),
    );
  }
}

function routeSpec(o: RouteOptions) {
  return {
    ...(o.dst !== undefined ? { dst: o.dst } : {}),
    ...(o.gateway !== undefined ? { gateway: o.gateway } : {}),
    ...(o.family !== undefined ? { family: o.family } : {}),
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
  };
}
