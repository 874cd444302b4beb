/**
 * The device verbs: `addDevice`, `removeDevice`, `devices()`, the devices'
 * part of a start, and hotplug (a device that follows its host node through
 * kernel uevents). A kind resolves a spec to nodes, binds and filesystem
 * mounts (src/devices/); everything here is the same for every kind.
 * @module
 */
import type { DeviceInput, DeviceSpec } from "../config/devices.js";
import { issuesOf } from "../config/issues.js";
import type { NicConfig } from "../config/nic.js";
import type { MountConfig } from "../config/schema.js";
import { deviceKind } from "../devices/kinds.js";
import { makeNode, nodeFile, resetNodeDir } from "../devices/trees.js";
import { HOST, type DeviceFsMount, type ResolvedDevice } from "../devices/types.js";
import { ConfigError } from "../errors.js";
import { withLock } from "../linux/lock.js";
import { nicName } from "../network/manager.js";
import { applyNodeRules, attachResolved, detachMount, nodeRules } from "./device-attach.js";
import { ensureFollower } from "./device-follower.js";
import { followHotplug, isHot } from "./device-hotplug.js";
import type { ContainerHandle } from "./handle.js";
import { addNic, removeNic } from "./network.js";
import { isLive, type DeviceState } from "./state.js";

/** A NIC through the device verbs: `nictype` is the NIC's `type`; its name inside is the device's name unless given. */
export type NicDeviceInput = { type: "nic"; nictype: "bridged" | "macvlan" | "physical" } & Record<string, unknown>;

/** What `devices()` lists. */
export interface DeviceInfo {
  name: string;
  type: string;
  /** The spec as kept in the config (a NIC's as in `nics`). */
  spec: DeviceSpec | NicConfig;
  /** `attached` (running, in place), `waiting` (running, its host node missing), `configured` (stopped). */
  state: "attached" | "waiting" | "configured";
  /** Paths inside the container it holds now. */
  paths: string[];
  waiting?: string;
}

/**
 * The record as on disk: another process may have added or removed a
 * device since this handle read it.
 */
export async function reloadRecord(c: ContainerHandle): Promise<void> {
  c.record = (await c.store.readRecord(c.name)) ?? c.record;
}

function resolveOrThrow(c: ContainerHandle, name: string, spec: DeviceSpec): ResolvedDevice {
  try {
    return deviceKind(spec).resolve(name, spec, HOST);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.issues, { container: c.name });
    throw e;
  }
}

export async function listDevices(c: ContainerHandle): Promise<DeviceInfo[]> {
  await c.refresh();
  await reloadRecord(c);
  const live = isLive(c.status) && c.run !== null;
  const out: DeviceInfo[] = Object.entries(c.config.devices ?? {}).map(([name, spec]) => {
    const st = live ? c.state.devices?.[name] : undefined;
    return {
      name,
      type: spec.type,
      spec,
      state: !live ? "configured" : st?.waiting !== undefined ? "waiting" : "attached",
      paths: st?.mounts.map((m) => m.path) ?? [],
      ...(st?.waiting !== undefined ? { waiting: st.waiting } : {}),
    };
  });
  for (const nic of c.config.nics) out.push({ name: nicName(nic), type: "nic", spec: nic, state: live ? "attached" : "configured", paths: [] });
  return out;
}

async function parseSpec(c: ContainerHandle, name: string, input: unknown): Promise<DeviceSpec> {
  const { devicesSchema } = await import("../config/devices.js"); // zod only where a device is validated
  const parsed = devicesSchema.safeParse({ [name]: input });
  if (!parsed.success) {
    throw new ConfigError(issuesOf(parsed.error).map((i) => ({ ...i, path: `devices.${i.path}` })), { container: c.name });
  }
  const spec = parsed.data[name]!;
  if (spec.type === "disk" && spec.idmap && !c.config.namespaces.user) {
    throw new ConfigError([{ path: `devices.${name}.idmap`, message: "needs a user namespace" }], { container: c.name });
  }
  return spec;
}

export async function addDevice(c: ContainerHandle, name: string, input: DeviceInput | NicDeviceInput): Promise<void> {
  if (input && typeof input === "object" && input.type === "nic") {
    const { type: _t, nictype, ...rest } = input as NicDeviceInput;
    return addNic(c, { name, ...rest, type: nictype });
  }
  const spec = await parseSpec(c, name, input);
  await c.refresh();
  await withLock(c.store.lockPath(c.name), async () => {
    await reloadRecord(c);
    if (c.config.devices?.[name] || c.config.nics.some((n) => nicName(n) === name)) {
      throw new ConfigError([{ path: `devices.${name}`, message: `the container already has a device ${JSON.stringify(name)}` }], { container: c.name });
    }
    let state: DeviceState | undefined;
    if (c.run && isLive(c.status)) {
      const r = resolveOrThrow(c, name, spec);
      const disk = (await c.store.readState(c.name)) ?? c.state;
      const mounts = attachResolved(c, name, r, [], disk.devices ?? {});
      state = { mounts, ...(r.waiting !== undefined ? { waiting: r.waiting } : {}), ...(r.env && Object.keys(r.env).length ? { env: r.env } : {}) };
      c.state = { ...disk, devices: { ...(disk.devices ?? {}), [name]: state } };
    }
    c.record = { ...c.record, config: { ...c.record.config, devices: { ...(c.record.config.devices ?? {}), [name]: spec } } };
    await c.store.writeRecord(c.record);
    if (state) await c.store.writeState(c.name, c.state);
  });
  c.planCache = null;
  if (c.run && isLive(c.status) && isHot(spec) && followHotplug(c)) await ensureFollower(c);
}

export async function removeDevice(c: ContainerHandle, name: string): Promise<void> {
  await c.refresh();
  await reloadRecord(c);
  if (!c.config.devices?.[name]) {
    if (c.config.nics.some((n) => nicName(n) === name)) return removeNic(c, name);
    throw new ConfigError([{ path: `devices.${name}`, message: `the container has no device ${JSON.stringify(name)}` }], { container: c.name });
  }
  await withLock(c.store.lockPath(c.name), async () => {
    const disk = (await c.store.readState(c.name)) ?? c.state;
    const devices = { ...(disk.devices ?? {}) };
    const held = devices[name];
    delete devices[name];
    if (c.run && isLive(c.status) && held) {
      // Unmounted first, then denied: an open fd keeps working (as on any
      // unmounted file), a new open is refused from here on.
      for (const m of [...held.mounts].reverse()) detachMount(c, m);
      applyNodeRules(c, devices);
      c.state = { ...disk, devices };
    }
    const { [name]: _gone, ...rest } = c.record.config.devices;
    c.record = { ...c.record, config: { ...c.record.config, devices: rest } };
    await c.store.writeRecord(c.record);
    if (held) await c.store.writeState(c.name, c.state);
  });
  c.planCache = null;
}

/** The devices' part of a start: host nodes made, bound like the config's mounts; block devices' filesystems passed. */
export interface StartDevices {
  mounts: MountConfig[];
  fsMounts: DeviceFsMount[];
  state: Record<string, DeviceState>;
}

/**
 * What `nesting` passes besides the config's devices: FUSE (fuse-overlayfs,
 * lxcfs) and TUN (slirp4netns, VPNs) for nested runtimes, by their fixed
 * misc numbers, usable by the container's root (the host's own nodes are
 * often root's 0600). Named with a `:` no device name can have.
 */
const NESTING_DEVICES: [string, DeviceSpec][] = [
  ["nesting:fuse", { type: "unix-char", major: 10, minor: 229, path: "/dev/fuse", uid: 0, gid: 0, mode: 0o666, required: true }],
  ["nesting:tun", { type: "unix-char", major: 10, minor: 200, path: "/dev/net/tun", uid: 0, gid: 0, mode: 0o666, required: true }],
];

export function prepareDevices(c: ContainerHandle): StartDevices {
  const out: StartDevices = { mounts: [], fsMounts: [], state: {} };
  const entries = [...Object.entries(c.config.devices ?? {}), ...(c.config.nesting ? NESTING_DEVICES : [])];
  // Nothing to do (nor any file system work on the start path) without devices.
  if (entries.length === 0) return out;
  resetNodeDir(c.stateDir, c.idmap?.hostGid);
  const base = c.idmap ? { uid: c.idmap.hostUid, gid: c.idmap.hostGid } : { uid: 0, gid: 0 };
  for (const [name, spec] of entries) {
    const r = resolveOrThrow(c, name, spec);
    const st: DeviceState = { mounts: [], ...(r.waiting !== undefined ? { waiting: r.waiting } : {}), ...(r.env && Object.keys(r.env).length ? { env: r.env } : {}) };
    r.nodes.forEach((n, i) => {
      const file = nodeFile(c.stateDir, name, i);
      makeNode(file, n, base);
      out.mounts.push({ type: "bind", source: file, target: n.path, readonly: false, recursive: false, optional: false, idmap: false });
      // The plan makes a missing target; below /dev (a fresh tmpfs) it surely did.
      st.mounts.push({ path: n.path, isDir: false, created: n.path.startsWith("/dev/"), node: { file, type: n.type, major: n.major, minor: n.minor } });
    });
    for (const b of r.binds) {
      out.mounts.push({ type: "bind", source: b.source, target: b.target, readonly: b.readonly, recursive: true, optional: false, idmap: b.idmap ?? false });
      st.mounts.push({ path: b.target, isDir: b.isDir, created: false });
    }
    for (const m of r.mounts) {
      out.fsMounts.push(m);
      st.mounts.push({ path: m.target, isDir: true, created: false });
    }
    out.state[name] = st;
  }
  return out;
}

/** Device rules for the nodes a start passes (a container without a user namespace). */
export function startNodeRules(devices: StartDevices) {
  return Object.values(devices.state).flatMap((d) => nodeRules(d.mounts));
}
