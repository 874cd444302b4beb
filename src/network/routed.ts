/**
 * Routed NICs (Incus's `nictype=routed`): a veth whose host end is on no
 * bridge. The container holds its address as /32 (/128) with a default
 * route through link-local gateways (169.254.0.1, fe80::1) that the host
 * end carries; the host routes the address to the host end and, given a
 * parent interface, answers ARP/NDP for it there (proxy entries). The
 * routes go with the host end when the namespace dies, but the proxy
 * entries stay on the parent: detachRouted removes both, from the record
 * kept in state.json, also after a crash (recordExit runs it).
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

import { ConfigError, HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import type { NicConfig } from "../config/nic.js";
import type { Netlink } from "./netlink.js";

type RoutedNic = Extract<NicConfig, { type: "routed" }>;

/** What a routed NIC holds on the host, to undo it (in state.json). */
export interface RoutedHop {
  /** The NIC's name in the container. */
  name: string;
  /** The host end of its veth. */
  veth: string;
  ipv4: string;
  ipv6?: string;
  /** Where the proxy entries are. */
  parent?: string;
}

function sysctl(path: string, value: string, what: string): void {
  try {
    if (readFileSync(path, "utf8").trim() !== value) writeFileSync(path, value);
  } catch (e) {
    throw new HostError(`${what}: write ${value} to ${path}`, codeOf(e), { cause: e });
  }
}

/**
 * Adds the host's route to `dst` via the link `index`. A route already there
 * through another veth of the same container (`ownPrefix`: the previous run's
 * host end, torn down asynchronously) is replaced; through anything else the
 * address is someone else's.
 */
function routeTo(host: Netlink, dst: string, index: number, ownPrefix: string, field: string): void {
  try {
    host.addRoute({ dst, link: index });
    return;
  } catch (e) {
    if (!(e instanceof HostError && e.errno === "EEXIST")) throw e;
  }
  const family = dst.includes(":") ? 6 : 4;
  const existing = host.routes(family).find((r) => r.dst === dst);
  const dev = existing?.oif !== undefined ? host.link(existing.oif)?.name : undefined;
  if (!dev?.startsWith(ownPrefix)) {
    throw new ConfigError([{ path: field, message: `the host already routes ${dst}${dev ? ` via \`${dev}\`` : ""}` }]);
  }
  host.deleteRoute({ dst, link: existing!.oif! });
  host.addRoute({ dst, link: index });
}

/**
 * Builds a routed NIC: the veth `hostEnd` – `nic.name` (created straight in
 * the namespace `nsfd`), host and container ends addressed and routed.
 * `hop` is filled as things are made, so that a failure half-way can be undone.
 */
export function attachRouted(
  host: Netlink,
  inner: Netlink,
  nsfd: number,
  nic: RoutedNic,
  opts: { hostEnd: string; ownPrefix: string; field: string; defaultRoute: boolean; hop: RoutedHop },
): void {
  const { hostEnd, field, hop } = opts;
  if (nic.parent && !host.link(nic.parent)) throw new ConfigError([{ path: `${field}.parent`, message: `there is no interface \`${nic.parent}\` on the host` }]);
  host.createVeth(hostEnd, nic.name, { peerNetnsFd: nsfd, ...(nic.mac ? { peerMac: nic.mac } : {}), ...(nic.mtu ? { mtu: nic.mtu } : {}) });
  const hostIndex = host.link(hostEnd)!.index;
  // The gateways are the host end's own addresses: the container's ARP/NDP
  // for them is answered there (as /32 and /128 they add no route).
  host.addAddress(hostIndex, `${nic.gateway}/32`);
  if (nic.ipv6) host.addAddress(hostIndex, `${nic.gateway6}/128`, { nodad: true });
  // A container must not route the host: no router advertisements taken
  // on its veth (the kernel's default takes them while forwarding is off).
  if (existsSync(`/proc/sys/net/ipv6/conf/${hostEnd}`)) sysctl(`/proc/sys/net/ipv6/conf/${hostEnd}/accept_ra`, "0", `${field}: refuse router advertisements`);
  host.setUp(hostIndex);
  // Between two routed containers, and from one to the host's other
  // networks, the host forwards (IPv6: the caller, see attachNics).
  sysctl("/proc/sys/net/ipv4/ip_forward", "1", `${field}: enable IPv4 forwarding`);
  routeTo(host, `${nic.ipv4}/32`, hostIndex, opts.ownPrefix, `${field}.ipv4`);
  if (nic.ipv6) routeTo(host, `${nic.ipv6}/128`, hostIndex, opts.ownPrefix, `${field}.ipv6`);
  if (nic.parent) {
    hop.parent = nic.parent;
    host.addProxyNeighbour(nic.parent, nic.ipv4);
    if (nic.ipv6) {
      // The kernel answers solicitations from its proxy entries only with proxy_ndp on.
      sysctl(`/proc/sys/net/ipv6/conf/${nic.parent}/proxy_ndp`, "1", `${field}.parent: enable proxy NDP`);
      host.addProxyNeighbour(nic.parent, nic.ipv6);
    }
  }
  const index = inner.link(nic.name)!.index;
  inner.addAddress(index, `${nic.ipv4}/32`);
  if (nic.ipv6) inner.addAddress(index, `${nic.ipv6}/128`, { nodad: true });
  inner.setUp(index);
  if (opts.defaultRoute) {
    // A /32 has no connected route: the gateway gets a link route of its
    // own (one per container: a second routed NIC's would clash with it,
    // and its replies leave by the default route anyway).
    inner.addRoute({ dst: `${nic.gateway}/32`, link: index });
    inner.addRoute({ gateway: nic.gateway, link: index });
    if (nic.ipv6) inner.addRoute({ gateway: nic.gateway6, link: index });
  }
}

/** Removes a routed NIC's host routes (when its host end is still there) and proxy entries. */
export function detachRouted(host: Netlink, hop: RoutedHop): void {
  const end = host.link(hop.veth);
  try {
    if (end) {
      host.deleteRoute({ dst: `${hop.ipv4}/32`, link: end.index });
      if (hop.ipv6) host.deleteRoute({ dst: `${hop.ipv6}/128`, link: end.index });
    }
  } catch (e) {
    // The host end went (with the namespace) meanwhile, and its routes with it.
    if (!(e instanceof HostError && e.errno === "ENODEV")) throw e;
  }
  if (hop.parent) {
    host.deleteProxyNeighbour(hop.parent, hop.ipv4);
    if (hop.ipv6) host.deleteProxyNeighbour(hop.parent, hop.ipv6);
  }
}
