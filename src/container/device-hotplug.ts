/**
 * Hotplug: a running container's devices that follow their host nodes
 * (`required: false`). Kernel uevents (src/devices/uevent.ts) concerning a
 * device make it resolve again, and the difference is applied: new nodes
 * attached, vanished ones detached. Followed by the process that started
 * the container or added the device, and by the root's follower process
 * (device-follower.ts), while the container runs.
 * @module
 */
import type { DeviceSpec } from "../config/devices.js";
import { deviceKind } from "../devices/kinds.js";
import { onUevent, type Uevent } from "../devices/uevent.js";
import { HOST, type DeviceNode } from "../devices/types.js";
import { withLock } from "../linux/lock.js";
import { applyNodeRules, attachResolved, detachMount } from "./device-attach.js";
import type { ContainerHandle } from "./handle.js";
import { isLive, type AttachedMount, type DeviceState } from "./state.js";

const following = new WeakMap<ContainerHandle, { stop: () => void; done: Promise<void> }>();

const keyOf = (path: string, n: { type: string; major: number; minor: number }) => `${path}|${n.type}:${n.major}:${n.minor}`;

/** Whether a device follows its host node. */
export function isHot(spec: DeviceSpec): boolean {
  const kind = deviceKind(spec);
  return kind.affectedBy !== undefined && (kind.follows?.(spec) ?? ("required" in spec && spec.required === false));
}

/** Names of the devices a uevent concerns (every hot one after lost messages: `null`). */
function concerned(c: ContainerHandle, ev: Uevent | null): string[] {
  return Object.entries(c.config.devices ?? {})
    .filter(([, spec]) => isHot(spec) && (ev === null || deviceKind(spec).affectedBy!(spec, ev)))
    .map(([name]) => name);
}

/**
 * Starts following the container's hotplug devices in this process (once;
 * until it stops). Returns a promise that settles when following ends, or
 * undefined when the container has nothing to follow. With `catchUp`, every
 * hot device is first brought in line with the host (a process that begins
 * following a running container may have missed uevents).
 */
export function followHotplug(c: ContainerHandle, catchUp = false): Promise<void> | undefined {
  const known = following.get(c);
  if (known) return known.done;
  const hot = Object.entries(c.config.devices ?? {}).filter(([, spec]) => isHot(spec));
  if (hot.length === 0) return undefined;
  let queue = Promise.resolve();
  const enqueue = (name: string) => {
    queue = queue.then(() => resync(c, name)).catch((e) => void c.warnings.push(`device ${name}: ${(e as Error).message}`));
  };
  const unsubscribe = onUevent((ev) => {
    for (const name of concerned(c, ev)) enqueue(name);
  });
  let ended!: () => void;
  const done = new Promise<void>((r) => (ended = r));
  const stop = () => {
    unsubscribe();
    following.delete(c);
    c.bus.off("event", onEvent);
    c.bus.off("destroyed", stop);
    ended();
  };
  const onEvent = (e: { type: string }) => {
    if (e.type === "stopped") stop();
  };
  c.bus.on("event", onEvent);
  c.bus.once("destroyed", stop);
  following.set(c, { stop, done });
  if (catchUp) for (const [name] of hot) enqueue(name);
  return done;
}

/** Stops following (the container stopped, or the handle goes). */
export function unfollowHotplug(c: ContainerHandle): void {
  following.get(c)?.stop();
}

/** Brings one device's nodes inside in line with the host's now. */
export async function resync(c: ContainerHandle, name: string): Promise<void> {
  await withLock(c.store.lockPath(c.name), async () => {
    const spec = c.config.devices?.[name];
    if (!spec || !c.run || !isLive(c.status)) return;
    let nodes: DeviceNode[] = [];
    let waiting: string | undefined;
    try {
      const r = deviceKind(spec).resolve(name, spec, HOST);
      nodes = r.nodes;
      waiting = r.waiting;
    } catch (e) {
      waiting = (e as Error).message; // gone again, or not what it should be: nothing inside
    }
    const disk = (await c.store.readState(c.name)) ?? c.state;
    const devices: Record<string, DeviceState> = { ...(disk.devices ?? {}) };
    const held = devices[name]?.mounts ?? [];
    const want = new Set(nodes.map((n) => keyOf(n.path, n)));
    const keep: AttachedMount[] = [];
    for (const m of held) {
      if (!m.node || want.has(keyOf(m.path, m.node))) keep.push(m);
      else detachMount(c, m);
    }
    const have = new Set(keep.flatMap((m) => (m.node ? [keyOf(m.path, m.node)] : [])));
    const { [name]: _self, ...others } = devices;
    const added = attachResolved(c, name, { nodes: nodes.filter((n) => !have.has(keyOf(n.path, n))), binds: [], mounts: [] }, keep, others);
    const mounts = [...keep, ...added];
    devices[name] = { mounts, ...(mounts.length === 0 && waiting !== undefined ? { waiting } : {}) };
    // Detached nodes leave the device program too.
    if (keep.length !== held.length) applyNodeRules(c, devices);
    c.state = { ...disk, devices };
    await c.store.writeState(c.name, c.state);
  });
}
