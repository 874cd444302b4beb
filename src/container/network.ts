/**
 * A running container's interfaces: what it has (addresses, MACs,
 * counters, read from its own network namespace) and NICs plugged in or
 * out while it runs.
 * @module
 */
import { closeSync, openSync } from "node:fs";

import { issuesOf } from "../config/issues.js";
import { ConfigError, StateError } from "../errors.js";
import { attachNics, nicName, releaseAddresses, reserveAddresses, type Attached } from "../network/manager.js";
import { detachRouted } from "../network/routed.js";
import { Netlink } from "../network/netlink.js";
import type { NicConfig } from "../config/nic.js";
import type { ContainerHandle } from "./handle.js";
import { withLock } from "../linux/lock.js";
import { isLive } from "./state.js";
import { assertStill, unplugNic, withNamespace } from "./pod-nics.js";

export interface InterfaceInfo {
  name: string;
  index: number;
  mac?: string;
  mtu: number;
  up: boolean;
  /** `address/prefix`, IPv4 and IPv6. */
  addresses: string[];
  stats?: { rxBytes: number; txBytes: number; rxPackets: number; txPackets: number };
}

/** The running init, as a process that can be checked to be still that one after an await (pod-nics.ts openNamespaceOf). */
function requireLive(c: ContainerHandle, op: string): { pid: number; expect: { startTime: number; op: string; container: string } } {
  if (!c.run || !isLive(c.status)) throw new StateError(`container "${c.name}" is not running`, op, c.status, { container: c.name });
  return { pid: c.run.pid, expect: { startTime: c.run.startTime, op, container: c.name } };
}

export async function containerNetwork(c: ContainerHandle): Promise<InterfaceInfo[]> {
  const { pid } = requireLive(c, "network");
  return withNamespace(pid, (inner) => {
    const addrs = inner.addresses();
    return inner.links().map((l) => ({
      name: l.name,
      index: l.index,
      ...(l.mac ? { mac: l.mac } : {}),
      mtu: l.mtu,
      up: l.up,
      addresses: addrs.filter((a) => a.index === l.index).map((a) => `${a.address}/${a.prefixLength}`),
      ...(l.stats ? { stats: { rxBytes: l.stats.rxBytes, txBytes: l.stats.txBytes, rxPackets: l.stats.rxPackets, txPackets: l.stats.txPackets } } : {}),
    }));
  });
}

function mergeAttached(a: Attached | undefined, b: Attached): Attached {
  return {
    veths: [...(a?.veths ?? []), ...b.veths],
    lent: [...(a?.lent ?? []), ...b.lent],
    ports: (a?.ports ?? false) || b.ports,
    routed: [...(a?.routed ?? []), ...(b.routed ?? [])],
  };
}

/** Plugs a NIC into the running container (and keeps it in its config). */
export async function addNic(c: ContainerHandle, spec: unknown): Promise<void> {
  const { nicSchema } = await import("../config/nic.js"); // zod only where a NIC is validated
  const parsed = nicSchema.safeParse(spec);
  if (!parsed.success) {
    throw new ConfigError(issuesOf(parsed.error).map((i) => ({ ...i, path: i.path ? `nic.${i.path}` : "nic" })), { container: c.name });
  }
  const nic: NicConfig = parsed.data;
  const name = nicName(nic);
  if (c.config.nics.some((n) => nicName(n) === name)) {
    throw new ConfigError([{ path: "nic.name", message: `the container already has an interface ${name}` }], { container: c.name });
  }
  const net = c.config.namespaces.net;
  if (net !== true) {
    const whose = net === false ? "the host's network" : "another network namespace (namespaces.net)";
    throw new ConfigError([{ path: "nic", message: `the container shares ${whose}` }], { container: c.name });
  }
  await c.refresh();
  const { pid, expect } = requireLive(c, "addNic");
  await withLock(c.store.lockPath(c.name), async () => {
    const index = c.config.nics.length;
    const leases = await reserveAddresses(c.runtime, c.name, [nic], index);
    let attached: Attached;
    try {
      attached = await attachNics({
        runtime: c.runtime,
        container: c.name,
        pid,
        stillSame: () => assertStill(pid, expect),
        nics: [nic],
        leases,
        ports: [],
        fieldBase: index,
        routed: c.config.nics.length > 0,
      });
    } catch (e) {
      await releaseAddresses(c.runtime, c.name, [name]);
      throw e;
    }
    c.record = {
      ...c.record,
      config: { ...c.record.config, nics: [...c.record.config.nics, nic] },
      leases: [...(c.record.leases ?? []), ...leases],
    };
    await c.store.writeRecord(c.record);
    const disk = (await c.store.readState(c.name)) ?? c.state;
    c.state = { ...disk, network: mergeAttached(disk.network, attached) };
    await c.store.writeState(c.name, c.state);
  });
}

/** Moves every NIC lent to the running container back to the host under its own name (before a stop). */
export async function returnLentNics(c: ContainerHandle): Promise<void> {
  const lent = c.state.network?.lent ?? [];
  if (!lent.length || !c.run) return;
  const { pid, expect } = requireLive(c, "stop");
  await withLock(c.store.lockPath(c.name), async () => {
    const disk = (await c.store.readState(c.name)) ?? c.state;
    const network = disk.network;
    if (!network?.lent.length) return;
    const hostNs = openSync("/proc/self/ns/net", "r");
    try {
      withNamespace(pid, (inner) => {
        for (const l of network.lent) {
          if (!inner.link(l.name)) continue;
          inner.setUp(l.name, false);
          inner.moveToNamespace(l.name, hostNs, l.parent);
        }
      }, expect);
    } catch (e) {
      // Ended meanwhile: the kernel gives a physical NIC back when its namespace goes.
      if (!(e instanceof StateError)) throw e;
    } finally {
      closeSync(hostNs);
    }
    network.lent = [];
    c.state = { ...disk, network };
    await c.store.writeState(c.name, c.state);
  });
}

/** Unplugs a NIC from the running container: a veth or macvlan is deleted, a physical NIC goes back to the host. */
export async function removeNic(c: ContainerHandle, name: string): Promise<void> {
  const nic = c.config.nics.find((n) => nicName(n) === name);
  if (!nic) throw new ConfigError([{ path: "name", message: `the container has no NIC ${JSON.stringify(name)}` }], { container: c.name });
  await c.refresh();
  const { pid, expect } = requireLive(c, "removeNic");
  await withLock(c.store.lockPath(c.name), async () => {
    const disk = (await c.store.readState(c.name)) ?? c.state;
    const network: Attached = disk.network ?? { veths: [], lent: [], ports: false };
    const hostNs = openSync("/proc/self/ns/net", "r");
    try {
      withNamespace(pid, (inner) => unplugNic(inner, hostNs, nic), expect);
    } finally {
      closeSync(hostNs);
    }
    if (nic.type === "physical") {
      network.lent = network.lent.filter((l) => l.name !== name);
    } else {
      const host = Netlink.host();
      try {
        // The host's routes and proxy entries of a routed NIC stay behind it.
        for (const hop of network.routed ?? []) if (hop.name === name) detachRouted(host, hop);
        network.routed = network.routed?.filter((h) => h.name !== name);
        network.veths = network.veths.filter((v) => host.link(v) !== undefined);
      } finally {
        host.close();
      }
    }
    await releaseAddresses(c.runtime, c.name, [name]);
    c.record = {
      ...c.record,
      config: { ...c.record.config, nics: c.record.config.nics.filter((n) => n !== nic) },
      leases: (c.record.leases ?? []).filter((l) => l.name !== name),
    };
    await c.store.writeRecord(c.record);
    c.state = { ...disk, network };
    await c.store.writeState(c.name, c.state);
  });
}
