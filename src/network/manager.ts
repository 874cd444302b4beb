/**
 * A container's network, from create to destroy: addresses leased at
 * create, interfaces made and moved into the container's namespace while
 * its first process waits before "go" (so the init starts with eth0 up,
 * addressed and routed), port forwards while it runs, physical NICs given
 * back to the host when it stops, leases released at destroy. The managed
 * bridge, its NAT and the nftables table belong to the runtime root.
 * @module
 */
import { closeSync, openSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

import { ConfigError, HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import { LeaseStore, parseCidr } from "./ipam.js";
import { Netlink } from "./netlink.js";
import { Nft } from "./nft.js";
import type { NicConfig, PortConfig } from "../config/nic.js";
import { attachRouted, detachRouted, type RoutedHop } from "./routed.js";
import { leaseOnShards, shardsOf } from "./shards.js";
import { ensureManagedBridge, managedNetwork, type ManagedNetwork } from "./bridge.js";

export { managedNetwork, pruneShards, removeManagedNetwork, type ManagedNetwork } from "./bridge.js";

/** What a container holds per NIC (in container.json). */
export interface NicLease {
  /** The NIC's name inside the container. */
  name: string;
  ipv4?: string;
  ipv6?: string;
  prefix?: number;
  prefix6?: number;
  gateway?: string;
  mac?: string;
  /** The managed bridge's shard it is on (`<bridge>-1`, …), when not the first: see ./shards.ts. */
  bridge?: string;
}

/** A physical NIC lent to a running container (in state.json until it is back). */
export interface LentNic {
  parent: string;
  ifindex: number;
  name: string;
}

function leaseKey(container: string, nicName: string): string {
  return `${container}/${nicName}`;
}

/** The in-container name of a NIC. */
export function nicName(nic: NicConfig): string {
  return nic.type === "physical" ? (nic.name ?? nic.parent) : nic.name;
}

/**
 * Host-side name of a container NIC's veth (≤ 15 characters): a stable part
 * naming the container and NIC, and a random part, because the previous
 * run's veth may still be on its way out (a namespace is torn down
 * asynchronously) and deleting it ourselves would wait for that (~15 ms).
 */
export function vethName(runtime: ResolvedRuntime, container: string, nic: string): string {
  const stable = createHash("sha256").update(`${runtime.root}\0${container}\0${nic}`).digest("hex").slice(0, 8);
  return `ve${stable}${randomBytes(2).toString("hex")}`;
}

function isManaged(nic: NicConfig, net: ManagedNetwork): boolean {
  return nic.type === "bridged" && (nic.bridge === undefined || nic.bridge === net.bridge);
}

/** Leases addresses for the managed-bridge NICs (at create; stable across restarts). */
export async function reserveAddresses(
  runtime: ResolvedRuntime,
  container: string,
  nics: readonly NicConfig[],
  fieldBase = 0,
): Promise<NicLease[]> {
  const net = managedNetwork(runtime);
  const store = new LeaseStore(net.leaseDir);
  const out: NicLease[] = [];
  for (const [j, nic] of nics.entries()) {
    const i = fieldBase + j;
    if (nic.type !== "bridged") continue;
    if (!isManaged(nic, net)) {
      out.push({ name: nic.name, ...(nic.mac ? { mac: nic.mac } : {}), ...(nic.gateway ? { gateway: nic.gateway } : {}) });
      continue;
    }
    const subnet = nic.subnet ?? net.defaultSubnet;
    const { network, record, lease } = await leaseOnShards(store, net.bridge, leaseKey(container, nic.name), { subnet, ...(nic.subnet6 ? { subnet6: nic.subnet6 } : {}) }, {
      ...(nic.ipv4 ? { ipv4: nic.ipv4 } : {}),
      ...(nic.mac ? { mac: nic.mac } : {}),
      field: `nics[${i}].ipv4`,
    });
    const p4 = parseCidr(record.subnet);
    const p6 = record.subnet6 ? parseCidr(record.subnet6) : undefined;
    out.push({
      name: nic.name,
      ipv4: lease.ipv4,
      prefix: p4.prefix,
      gateway: nic.gateway ?? record.gateway,
      mac: lease.mac,
      ...(lease.ipv6 && p6 ? { ipv6: lease.ipv6, prefix6: p6.prefix } : {}),
      ...(network !== net.bridge ? { bridge: network } : {}),
    });
  }
  return out;
}

/** Releases a container's leases (at destroy), or only those of the NICs named. */
export async function releaseAddresses(runtime: ResolvedRuntime, container: string, names: readonly string[]): Promise<void> {
  const net = managedNetwork(runtime);
  const store = new LeaseStore(net.leaseDir);
  for (const shard of await shardsOf(store, net.bridge)) {
    for (const n of names) await store.release(shard, leaseKey(container, n)).catch(() => undefined);
  }
}

/** Releases every lease a container holds, whatever its NICs were (a create that died before recording them). */
export async function releaseContainerAddresses(runtime: ResolvedRuntime, container: string): Promise<void> {
  const prefix = `${container}/`;
  await new LeaseStore(managedNetwork(runtime).leaseDir).releaseWhere((key) => key.startsWith(prefix));
}

/** Releases the leases whose container `exists` says is gone; returns their keys (`container/nic`). */
export async function releaseOrphanLeases(runtime: ResolvedRuntime, exists: (container: string) => boolean): Promise<string[]> {
  return new LeaseStore(managedNetwork(runtime).leaseDir).releaseWhere((key) => !exists(key.slice(0, key.lastIndexOf("/"))));
}

/** Moves the leases of the NICs named from container `from` to `to` (rename); addresses and MACs stay. */
export async function renameAddresses(runtime: ResolvedRuntime, from: string, to: string, names: readonly string[]): Promise<void> {
  const net = managedNetwork(runtime);
  const store = new LeaseStore(net.leaseDir);
  for (const shard of await shardsOf(store, net.bridge)) {
    for (const n of names) await store.rekey(shard, leaseKey(from, n), leaseKey(to, n));
  }
}

export interface AttachInput {
  runtime: ResolvedRuntime;
  container: string;
  pid: number;
  /**
   * For a running container's init (not a paused child of ours): called
   * once its namespace is open, throws if `pid` is no longer that process.
   */
  stillSame?: () => void;
  nics: readonly NicConfig[];
  leases: readonly NicLease[];
  ports: readonly PortConfig[];
  /** Index of the first of `nics` in the container's config (for error paths), when hotplugging. */
  fieldBase?: number;
  /** Whether a default route exists already (hotplug). */
  routed?: boolean;
}

/** What attachNics did, to undo it. */
export interface Attached {
  veths: string[];
  lent: LentNic[];
  ports: boolean;
  /** Routed NICs' host routes and proxy entries (absent in records written before routed NICs). */
  routed?: RoutedHop[];
}

/**
 * Builds the container's interfaces in its network namespace (the process
 * `pid` is paused before "go") and its port forwards. On failure, undoes
 * what it did and rethrows.
 */
export async function attachNics(input: AttachInput): Promise<Attached> {
  const net = managedNetwork(input.runtime);
  const done: Attached = { veths: [], lent: [], ports: false, routed: [] };
  const nsfd = openSync(`/proc/${input.pid}/ns/net`, "r");
  try {
    input.stillSame?.();
  } catch (e) {
    closeSync(nsfd);
    throw e;
  }
  const host = Netlink.host();
  const inner = Netlink.inNamespace(nsfd);
  try {
    let routed = input.routed ?? false;
    for (const [j, nic] of input.nics.entries()) {
      const i = (input.fieldBase ?? 0) + j;
      const lease = input.leases.find((l) => l.name === nicName(nic));
      if (nic.type === "bridged") {
        const bridge = (isManaged(nic, net) ? lease?.bridge : undefined) ?? nic.bridge ?? net.bridge;
        if (isManaged(nic, net)) await ensureManagedBridge(host, net, new LeaseStore(net.leaseDir), bridge);
        else if (!host.link(bridge)) throw new ConfigError([{ path: `nics[${i}].bridge`, message: `there is no bridge \`${bridge}\` on the host` }]);
        const hostEnd = vethName(input.runtime, input.container, nic.name);
        host.createVeth(hostEnd, nic.name, { peerNetnsFd: nsfd, ...(lease?.mac ? { peerMac: lease.mac } : {}), ...(nic.mtu ? { mtu: nic.mtu } : {}) });
        done.veths.push(hostEnd);
        // By index from here on: each name would cost a lookup round trip.
        const hostIndex = host.link(hostEnd)!.index;
        host.setMaster(hostIndex, bridge);
        // Hairpin: a container reaching its own forwarded port through the
        // host's address is DNAT'ed back out of the port it came in on.
        if (input.ports.length > 0) writeFileSync(`/sys/class/net/${hostEnd}/brport/hairpin_mode`, "1");
        host.setUp(hostIndex);
        const index = inner.link(nic.name)!.index;
        const addr = lease?.ipv4 ? `${lease.ipv4}/${lease.prefix}` : nic.ipv4;
        if (addr) inner.addAddress(index, addr);
        if (lease?.ipv6) inner.addAddress(index, `${lease.ipv6}/${lease.prefix6}`);
        inner.setUp(index);
        const gw = nic.gateway ?? lease?.gateway;
        if (gw && !routed) {
          inner.addRoute({ gateway: gw, link: index });
          routed = true;
        }
      } else if (nic.type === "routed") {
        const hostEnd = vethName(input.runtime, input.container, nic.name);
        const hop: RoutedHop = { name: nic.name, veth: hostEnd, ipv4: nic.ipv4, ...(nic.ipv6 ? { ipv6: nic.ipv6 } : {}) };
        done.veths.push(hostEnd);
        done.routed!.push(hop);
        // IPv6 forwarding as for the managed bridge: interfaces taking router
        // advertisements keep taking them (accept_ra=2) once it is on.
        if (nic.ipv6) await new Nft({ table: net.table }).enableForwarding({ ipv6: true });
        // The same container's earlier host ends share the name's stable part.
        attachRouted(host, inner, nsfd, nic, { hostEnd, ownPrefix: hostEnd.slice(0, 10), field: `nics[${i}]`, defaultRoute: !routed, hop });
        routed = true;
      } else if (nic.type === "macvlan") {
        if (!host.link(nic.parent)) throw new ConfigError([{ path: `nics[${i}].parent`, message: `there is no interface \`${nic.parent}\` on the host` }]);
        const tmp = vethName(input.runtime, input.container, nic.name).replace(/^ve/, "mv");
        host.createMacvlan(tmp, nic.parent, { mode: "bridge", ...(nic.mac ? { mac: nic.mac } : {}), ...(nic.mtu ? { mtu: nic.mtu } : {}) });
        host.moveToNamespace(tmp, nsfd, nic.name);
        if (nic.ipv4) inner.addAddress(nic.name, nic.ipv4);
        inner.setUp(nic.name);
        if (nic.gateway && !routed) {
          inner.addRoute({ gateway: nic.gateway, link: nic.name });
          routed = true;
        }
      } else {
        const link = host.link(nic.parent);
        if (!link) throw new ConfigError([{ path: `nics[${i}].parent`, message: `there is no interface \`${nic.parent}\` on the host` }]);
        const name = nic.name ?? nic.parent;
        host.setUp(nic.parent, false);
        host.moveToNamespace(nic.parent, nsfd, name);
        done.lent.push({ parent: nic.parent, ifindex: link.index, name });
        if (nic.mtu) inner.setMtu(name, nic.mtu);
        if (nic.ipv4) inner.addAddress(name, nic.ipv4);
        inner.setUp(name);
        if (nic.gateway && !routed) {
          inner.addRoute({ gateway: nic.gateway, link: name });
          routed = true;
        }
      }
    }
    if (input.ports.length > 0) {
      const first = input.leases.find((l) => l.ipv4) ?? undefined;
      const target = first?.ipv4 ?? input.nics.map((n) => (n.type === "bridged" ? n.ipv4?.split("/")[0] : undefined)).find(Boolean);
      if (!target) throw new ConfigError([{ path: "ports", message: "port forwards need an IPv4 address on a bridged NIC" }]);
      const firstBridged = input.nics.find((n) => n.type === "bridged");
      const firstLease = input.leases.find((l) => firstBridged?.type === "bridged" && l.name === firstBridged.name);
      const bridge = firstLease?.bridge ?? (firstBridged?.type === "bridged" ? firstBridged.bridge : undefined) ?? net.bridge;
      const nft = new Nft({ table: net.table });
      const { needsRouteLocalnet } = await nft.addPortForwards(
        input.container,
        input.ports.map((p) => {
          const [addr, port] = p.host.split(":");
          return { hostAddress: addr!, hostPort: Number(port), containerAddress: target, containerPort: p.container, proto: p.proto };
        }),
        bridge,
        { field: "ports" },
      );
      done.ports = true;
      // The host's own connections to 127.0.0.1:PORT are DNAT'ed out of the
      // bridge: the kernel routes them only with route_localnet there.
      if (needsRouteLocalnet) await nft.enableRouteLocalnet(bridge);
    }
    return done;
  } catch (e) {
    inner.close();
    await detachNics(input.runtime, input.container, done, host).catch(() => undefined);
    host.close();
    closeSync(nsfd);
    throw e;
  } finally {
    try {
      inner.close();
      host.close();
      closeSync(nsfd);
    } catch {
      /* closed in the error path */
    }
  }
}

/**
 * After the container stopped (or a start failed): port forwards removed,
 * physical NICs renamed back once the kernel has returned them to the host
 * (that happens when the namespace is torn down, asynchronously). veths and
 * macvlans need nothing: they die with the namespace, and deleting one
 * ourselves would only wait for that teardown.
 */
export async function detachNics(runtime: ResolvedRuntime, container: string, attached: Partial<Attached>, hostIn?: Netlink): Promise<void> {
  const net = managedNetwork(runtime);
  if (attached.ports) await new Nft({ table: net.table }).removePortForwards(container);
  const host = hostIn ?? Netlink.host();
  try {
    for (const hop of attached.routed ?? []) detachRouted(host, hop);
    for (const lent of attached.lent ?? []) await returnLent(host, lent);
  } finally {
    if (!hostIn) host.close();
  }
}

async function returnLent(host: Netlink, lent: LentNic): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 20) {
    const back = host.link(lent.ifindex);
    if (back) {
      if (back.name !== lent.parent) {
        try {
          host.setUp(back.index, false);
          host.rename(back.index, lent.parent);
        } catch (e) {
          throw new HostError(`give \`${lent.parent}\` back to the host (it came back as \`${back.name}\`)`, codeOf(e), { cause: e });
        }
      }
      return;
    }
    await sleep(20);
  }
  throw new HostError(`\`${lent.parent}\` (index ${lent.ifindex}) did not come back to the host`, "ETIMEDOUT");
}

