/**
 * Devices in and out of a running container: host nodes made, detached
 * trees injected at their paths (src/devices/trees.ts), the device program
 * of a container without a user namespace updated, and every step undone
 * when a later one fails, so a failed add leaves nothing behind.
 * @module
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { applyDeviceRules, type DeviceRule } from "../cgroup/devices.js";
import { ConfigError, HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { attachTree, bindTree, detachPath, ensureNodeDir, fsTree, nodeFile, nodeSource, nodeTree, type Target } from "../devices/trees.js";
import type { DeviceNode, ResolvedDevice } from "../devices/types.js";
import type { ContainerHandle } from "./handle.js";
import { deviceRulesOf } from "./resources.js";
import type { AttachedMount, DeviceState } from "./state.js";

export function targetOf(c: ContainerHandle): Target {
  return { pidfd: c.run!.pidfd, userns: c.config.namespaces.user };
}

/** The device program's rules for these nodes: read and write, no mknod. */
export function nodeRules(mounts: readonly AttachedMount[]): DeviceRule[] {
  return mounts.flatMap((m) => (m.node ? [{ type: m.node.type, major: m.node.major, minor: m.node.minor, access: "rw", allow: true }] : []));
}

/** Replaces a privileged container's device program: its rules plus exactly the nodes passed. */
export function applyNodeRules(c: ContainerHandle, devices: Record<string, DeviceState>): void {
  if (c.config.namespaces.user) return;
  const nodes = Object.values(devices).flatMap((d) => nodeRules(d.mounts));
  applyDeviceRules(c.cgroupPath, deviceRulesOf([...c.config.deviceRules, ...nodes]));
}

/** A host file or directory a read-only tree is locked on (native/child/inject.h's `stage`). */
function stageFor(c: ContainerHandle, isDir: boolean): string {
  const path = join(ensureNodeDir(c.stateDir, c.idmap?.hostGid), isDir ? ".stage-dir" : ".stage-file");
  if (!existsSync(path)) {
    if (isDir) mkdirSync(path, { mode: 0o700 });
    else writeFileSync(path, "", { mode: 0o600 });
  }
  return path;
}

function injectError(c: ContainerHandle, name: string, path: string, e: unknown): Error {
  const code = codeOf(e);
  const syscall = (e as { syscall?: string }).syscall;
  // ELOOP: a symlink on the way (RESOLVE_NO_SYMLINKS); EXDEV: a `..` or magic link out of it.
  if ((code === "ELOOP" || code === "EXDEV") && syscall === "openat2") {
    return new ConfigError([{ path: `devices.${name}.path`, message: `\`${path}\` goes through a symbolic link in the container: a device is placed only at a path without one` }], { container: c.name });
  }
  if (code === "EACCES" && syscall === "openat2") {
    return new ConfigError([{ path: `devices.${name}.path`, message: `the container's root may not create \`${path}\` (EACCES)` }], { container: c.name });
  }
  if (code === "ENOTDIR" || (code === "EEXIST" && syscall === "openat2")) {
    return new ConfigError([{ path: `devices.${name}.path`, message: `\`${path}\` inside the container is in the way (${code})` }], { container: c.name });
  }
  return new HostError(`place device "${name}" at \`${path}\` in the container`, code, { container: c.name, path, ...(syscall ? { syscall } : {}) });
}

/** Unmounts one mount inside (gone already is fine: the container's root may have unmounted it) and deletes its host node. */
export function detachMount(c: ContainerHandle, m: AttachedMount): void {
  if (c.run) {
    try {
      detachPath(targetOf(c), m.path, m.isDir, m.created);
    } catch (e) {
      const code = codeOf(e);
      if (code !== "EINVAL" && code !== "ENOENT") throw new HostError(`unmount \`${m.path}\` in the container`, code, { container: c.name, path: m.path });
    }
  }
  if (m.node?.file) rmSync(m.node.file, { force: true });
}

function nextIndex(c: ContainerHandle, name: string, taken: readonly AttachedMount[]): () => number {
  let i = 0;
  return () => {
    while (taken.some((m) => m.node?.file === nodeFile(c.stateDir, name, i)) || existsSync(nodeFile(c.stateDir, name, i))) i++;
    return i++;
  };
}

/**
 * Puts what a device resolved to into the running container. `others`:
 * every other device's state (for the device program). On failure what was
 * done is undone, the error is thrown.
 */
export function attachResolved(
  c: ContainerHandle,
  name: string,
  r: Pick<ResolvedDevice, "nodes" | "binds" | "mounts">,
  held: readonly AttachedMount[],
  others: Record<string, DeviceState>,
): AttachedMount[] {
  const t = targetOf(c);
  const done: AttachedMount[] = [];
  const base = c.idmap ? { uid: c.idmap.hostUid, gid: c.idmap.hostGid } : { uid: 0, gid: 0 };
  const index = nextIndex(c, name, held);
  const inject = (tree: number, path: string, isDir: boolean, stage?: string): boolean => {
    try {
      return attachTree(t, tree, path, isDir, stage);
    } catch (e) {
      throw injectError(c, name, path, e);
    } finally {
      closeSync(tree);
    }
  };
  const withRules = (extra: AttachedMount[]) => applyNodeRules(c, { ...others, [name]: { mounts: [...held, ...extra] } });
  if (r.nodes.length) ensureNodeDir(c.stateDir, c.idmap?.hostGid);
  try {
    if (!t.userns && r.nodes.length) withRules(r.nodes.map((n) => nodeMount(n, undefined)));
    for (const n of r.nodes) {
      const source = nodeSource(nodeFile(c.stateDir, name, index()), n, base);
      const m = nodeMount(n, source.made ? source.path : undefined);
      try {
        m.created = inject(nodeTree(source.path), n.path, false);
      } catch (e) {
        if (source.made) rmSync(source.path, { force: true });
        throw e;
      }
      done.push(m);
    }
    let userns: number | undefined;
    try {
      for (const b of r.binds) {
        if (b.idmap && userns === undefined) userns = openSync(`/proc/${c.run!.pid}/ns/user`, "r");
        const stage = b.readonly && t.userns ? stageFor(c, b.isDir) : undefined;
        done.push({ path: b.target, isDir: b.isDir, created: inject(bindTree(b, userns), b.target, b.isDir, stage) });
      }
    } finally {
      if (userns !== undefined) closeSync(userns);
    }
    for (const m of r.mounts) done.push({ path: m.target, isDir: true, created: inject(fsTree(m), m.target, true) });
    return done;
  } catch (e) {
    for (const m of done.reverse()) {
      try {
        detachMount(c, m);
      } catch {
        /* the first error is the one to report */
      }
    }
    if (!t.userns) withRules([]);
    throw e;
  }
}

function nodeMount(n: DeviceNode, file: string | undefined): AttachedMount {
  return { path: n.path, isDir: false, created: false, node: { ...(file ? { file } : {}), type: n.type, major: n.major, minor: n.minor } };
}
