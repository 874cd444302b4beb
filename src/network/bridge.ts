/**
 * The managed bridge of a runtime root and its shards: names, creation on
 * first use (gateway address, NAT, forwarding), and removal by gc.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

import { ConfigError, HostError, StateError } from "../errors.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import { cidrOverlaps, LeaseStore, parseCidr } from "./ipam.js";
import { Netlink } from "./netlink.js";
import { Nft } from "./nft.js";
import { shardIndex, shardsOf } from "./shards.js";

/** The managed network of a runtime root. */
export interface ManagedNetwork {
  /** Bridge name: `warren0` for the default root, `wr<hash>` for any other. */
  bridge: string;
  /** nftables table (family inet). */
  table: string;
  /** Subnet used when the bridge is created without one being asked for. */
  defaultSubnet: string;
  /** Lease files. */
  leaseDir: string;
}

export function managedNetwork(runtime: ResolvedRuntime): ManagedNetwork {
  if (runtime.cgroupParent === "warren") {
    return { bridge: "warren0", table: "warren", defaultSubnet: "10.117.0.0/24", leaseDir: join(runtime.root, ".network") };
  }
  const h = createHash("sha256").update(runtime.root).digest();
  return {
    bridge: `wr${h.subarray(0, 4).toString("hex")}`,
    table: `warren_${h.subarray(0, 4).toString("hex")}`,
    defaultSubnet: `10.${118 + (h[4]! % 100)}.${h[5]!}.0/24`,
    leaseDir: join(runtime.root, ".network"),
  };
}

/**
 * Bridges whose NAT this process has set up, by name and ifindex: nft runs
 * as a child process (tens of ms), so it runs once per bridge and process,
 * not on every start. A bridge re-created (another ifindex) is done again.
 */
const natReady = new Map<string, number>();

/** Creates a shard of the managed bridge (`bridge`) on first use, with its gateway address, NAT and forwarding. */
export async function ensureManagedBridge(host: Netlink, net: ManagedNetwork, store: LeaseStore, bridge: string): Promise<void> {
  const existing = host.link(bridge);
  if (existing && natReady.get(bridge) === existing.index) return;
  const record = await store.leases(bridge);
  if (!record) throw new HostError(`managed network ${bridge} has no lease record`, "ENOENT");
  if (!host.link(bridge)) {
    // A subnet the host already routes elsewhere would make the bridge
    // unreachable or steal traffic: refuse it.
    for (const r of host.routes(4)) {
      if (r.dst && r.oif !== undefined && cidrOverlaps(r.dst, record.subnet)) {
        throw new ConfigError([{ path: "nics.subnet", message: `${record.subnet} overlaps the host's route to ${r.dst}` }]);
      }
    }
    host.createBridge(bridge);
    host.addAddress(bridge, `${record.gateway}/${parseCidr(record.subnet).prefix}`);
    if (record.subnet6 && record.gateway6) host.addAddress(bridge, `${record.gateway6}/${parseCidr(record.subnet6).prefix}`);
    host.setUp(bridge);
  }
  const nft = new Nft({ table: net.table });
  await nft.ensureBridgeNat(bridge, record.subnet);
  if (record.subnet6) await nft.ensureBridgeNat(bridge, record.subnet6);
  await nft.enableForwarding();
  natReady.set(bridge, host.link(bridge)!.index);
}

/** The managed bridge's shards, by lease file or by a link left on the host. */
async function allShards(host: Netlink, net: ManagedNetwork, store: LeaseStore): Promise<string[]> {
  const names = new Set([net.bridge, ...(await shardsOf(store, net.bridge))]);
  for (const l of host.links()) if (shardIndex(net.bridge, l.name) !== undefined) names.add(l.name);
  return [...names];
}

/** Removes the managed bridge and its shards, their NAT table and lease files when no container of the root needs them. */
export async function removeManagedNetwork(runtime: ResolvedRuntime): Promise<void> {
  const net = managedNetwork(runtime);
  const store = new LeaseStore(net.leaseDir);
  const host = Netlink.host();
  let shards: string[];
  try {
    shards = await allShards(host, net, store);
    for (const b of shards) {
      natReady.delete(b);
      host.deleteLink(b);
    }
  } finally {
    host.close();
  }
  await new Nft({ table: net.table }).removeTable().catch(() => undefined);
  // The lease records go too; each refuses while a lease is left.
  for (const b of shards) await store.removeNetwork(b).catch(() => undefined);
}

/**
 * Removes the shards after the first that no lease holds any more (their
 * bridge, NAT and lease file); returns their names. All of it happens under
 * the shard's lease-file lock, and only while the file holds no lease: a
 * NIC leased there afterwards re-creates the shard (its bridge and NAT on
 * first use); one leased before keeps it.
 */
export async function pruneShards(runtime: ResolvedRuntime): Promise<string[]> {
  const net = managedNetwork(runtime);
  const store = new LeaseStore(net.leaseDir);
  const removed: string[] = [];
  for (const shard of await shardsOf(store, net.bridge)) {
    if (shard === net.bridge) continue;
    try {
      await store.removeNetwork(shard, { teardown: () => removeShard(net, shard) });
    } catch (e) {
      if (e instanceof StateError && e.state === "in-use") continue;
      throw e;
    }
    removed.push(shard);
  }
  return removed;
}

/** A shard's bridge and its NAT and forward rules. */
async function removeShard(net: ManagedNetwork, bridge: string): Promise<void> {
  natReady.delete(bridge);
  const host = Netlink.host();
  try {
    host.deleteLink(bridge);
  } finally {
    host.close();
  }
  const nft = new Nft({ table: net.table });
  await nft.removeBridgeNat(bridge);
  await nft.disableRouteLocalnet(bridge);
}
