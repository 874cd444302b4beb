/**
 * Managed bridges that shard when full. A Linux bridge takes at most 1024
 * ports, so the managed bridge holds at most a cap of leases (each lease is
 * at most one port while its container runs): `WARREN_BRIDGE_PORT_CAP`,
 * default 1000. The next NIC goes to `<bridge>-1`, then `<bridge>-2`, …,
 * each with a subnet of the first's size carved right after it and its own
 * lease file, NAT and forward rules. A lease records its shard
 * (NicLease.bridge); gc removes the shards (never the first) left empty.
 * @module
 */
import { ConfigError, NotFoundError, StateError } from "../errors.js";
import { formatIp, parseCidr, type AllocateOptions, type Lease, type LeaseStore, type NetworkRecord, type NetworkSpec } from "./ipam.js";

export const DEFAULT_PORT_CAP = 1000;

/** The most leases one managed bridge takes (WARREN_BRIDGE_PORT_CAP; tests lower it). */
export function bridgePortCap(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.WARREN_BRIDGE_PORT_CAP;
  if (text === undefined || text === "") return DEFAULT_PORT_CAP;
  const n = Number(text);
  // 1023: one port of a bridge's 1024 is left for whoever adds one by hand.
  if (!Number.isInteger(n) || n < 1 || n > 1023) {
    throw new ConfigError([{ path: "WARREN_BRIDGE_PORT_CAP", message: `must be a whole number from 1 to 1023, not ${JSON.stringify(text)}` }]);
  }
  return n;
}

/** The name of shard `k`: the bridge itself for 0, `<bridge>-k` after it. */
export function shardName(bridge: string, k: number): string {
  return k === 0 ? bridge : `${bridge}-${k}`;
}

/** Which shard of `bridge` the network `name` is, or undefined when it is none. */
export function shardIndex(bridge: string, name: string): number | undefined {
  if (name === bridge) return 0;
  if (!name.startsWith(`${bridge}-`)) return undefined;
  const k = name.slice(bridge.length + 1);
  return /^[1-9]\d*$/.test(k) ? Number(k) : undefined;
}

/** Shard `k`'s subnet: the `k`-th block of the first's size after it (10.117.0.0/24 → 10.117.k.0/24). */
export function shardSubnet(subnet: string, k: number, field = "subnet"): string {
  const c = parseCidr(subnet, field);
  const network = c.network + BigInt(k) * c.size;
  const top = c.family === 4 ? 1n << 32n : 1n << 128n;
  if (network + c.size > top) throw new ConfigError([{ path: field, message: `no room after ${c.text} for shard ${k} of the managed bridge` }]);
  return `${formatIp(network, c.family)}/${c.prefix}`;
}

/** The shards of `bridge` that have a lease file, first one first. */
export async function shardsOf(store: LeaseStore, bridge: string): Promise<string[]> {
  const found = (await store.networks()).flatMap((n) => {
    const k = shardIndex(bridge, n);
    return k === undefined ? [] : [{ n, k }];
  });
  return found.sort((a, b) => a.k - b.k).map((x) => x.n);
}

export interface ShardLease {
  /** The shard (bridge and network name). */
  network: string;
  record: NetworkRecord;
  lease: Lease;
}

/**
 * Leases `key` an address on the first shard of `bridge` with room (created
 * on the way; `spec` is the first shard's). A key that already has a lease
 * keeps it where it is; a static address is on the first shard.
 */
export async function leaseOnShards(store: LeaseStore, bridge: string, key: string, spec: NetworkSpec, opts: AllocateOptions): Promise<ShardLease> {
  const first = await store.ensureNetwork(bridge, spec);
  if (opts.ipv4 !== undefined) return { network: bridge, record: first, lease: await store.allocate(bridge, key, opts) };
  for (const name of await shardsOf(store, bridge)) {
    const record = await store.network(name);
    if (record && Object.hasOwn(record.leases, key)) return { network: name, record, lease: await store.allocate(name, key, opts) };
  }
  const cap = bridgePortCap();
  // A shard is full at the cap or when its subnet is (network, gateway and broadcast addresses aside).
  const limit = Math.min(cap, Number(parseCidr(first.subnet).size) - 3);
  const field = opts.field ?? "ipv4";
  for (let k = 0; ; k++) {
    const name = shardName(bridge, k);
    // gc may remove an empty shard's lease file between ensuring it and
    // leasing on it: it is made again (a lease then keeps it).
    for (let attempt = 0; ; attempt++) {
      const record =
        k === 0
          ? first
          : await store.ensureNetwork(name, {
              subnet: shardSubnet(first.subnet, k, field.replace(/ipv4$/, "subnet")),
              ...(first.subnet6 ? { subnet6: shardSubnet(first.subnet6, k, field.replace(/ipv4$/, "subnet6")) } : {}),
            });
      try {
        return { network: name, record, lease: await store.allocate(name, key, { ...opts, limit }) };
      } catch (e) {
        if (e instanceof NotFoundError && k > 0 && attempt < 3) continue;
        if (!(e instanceof StateError && e.state === "full")) throw e;
        break;
      }
    }
  }
}
