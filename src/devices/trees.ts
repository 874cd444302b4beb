/**
 * The host side of a device: the nodes warren makes in the container's
 * `devices/` directory, the detached trees made from them (and from disks)
 * on the host, and their injection into a running container's mount
 * namespace (native/child/inject.h).
 * @module
 */
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

import { splitDev } from "../linux/dev.js";
import { native } from "../native/binding.js";
import type { DeviceBind, DeviceFsMount, DeviceNode } from "./types.js";

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const ATTR = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8 } as const;
const INJECT_ATTACH = 1;
const INJECT_DETACH = 2;

/** The container's node directory: `<state>/devices/` (host root's; the container's root may only traverse it). */
export function nodeDir(stateDir: string): string {
  return join(stateDir, "devices");
}

/**
 * Makes the directory if missing: 0710, group the container's root group,
 * so the container's first process can take the nodes at start and nothing
 * else of the container's can list it (0700 without a user namespace).
 */
export function ensureNodeDir(stateDir: string, hostGid: number | undefined): string {
  const dir = nodeDir(stateDir);
  if (existsSync(dir)) return dir;
  mkdirSync(dir, { mode: 0o700 });
  if (hostGid !== undefined) {
    chownSync(dir, 0, hostGid);
    chmodSync(dir, 0o710);
  }
  return dir;
}

/** The directory with nothing in it (a start: what an earlier run left goes). */
export function resetNodeDir(stateDir: string, hostGid: number | undefined): string {
  rmSync(nodeDir(stateDir), { recursive: true, force: true });
  return ensureNodeDir(stateDir, hostGid);
}

/** The host file of node `index` of device `name`. */
export function nodeFile(stateDir: string, name: string, index: number): string {
  return join(nodeDir(stateDir), `${name}.${index}`);
}

/**
 * mknod of `node` at `file`, with its permission bits exactly (not the
 * umask's) and the owner the container sees as node.uid/gid (`base`: the
 * first host id of its range, 0 without a user namespace).
 */
export function makeNode(file: string, node: DeviceNode, base: { uid: number; gid: number }): void {
  rmSync(file, { force: true });
  native().mknod(file, (node.type === "c" ? S_IFCHR : S_IFBLK) | node.mode, node.major, node.minor);
  try {
    chmodSync(file, node.mode);
    chownSync(file, base.uid + node.uid, base.gid + node.gid);
  } catch (e) {
    rmSync(file, { force: true });
    throw e;
  }
}

/**
 * The node to bind for `node`: one made at `file` ({@link makeNode}), or,
 * where this process may not make device nodes (warren running inside a
 * container: a user namespace may not mknod), the node already at its
 * `hostPath`, as it is (its owner and mode are its own). `made` says which:
 * only a made one is deleted with the device.
 */
export function nodeSource(file: string, node: DeviceNode, base: { uid: number; gid: number }): { path: string; made: boolean } {
  try {
    makeNode(file, node, base);
    return { path: file, made: true };
  } catch (e) {
    if ((e as { code?: string }).code !== "EPERM" || node.hostPath === undefined) throw e;
    const st = statSync(node.hostPath, { throwIfNoEntry: false });
    const numbers = st && (node.type === "c" ? st.isCharacterDevice() : st.isBlockDevice()) ? splitDev(st.rdev) : undefined;
    if (!numbers || numbers.major !== node.major || numbers.minor !== node.minor) throw e;
    return { path: node.hostPath, made: false };
  }
}

function withFd(fd: number, fn: (fd: number) => void): number {
  try {
    fn(fd);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * A detached copy of a node's mount, usable as a device wherever its
 * filesystem is mounted `nodev`, and never setuid or executable.
 */
export function nodeTree(file: string): number {
  return withFd(native().openTree(file, false), (fd) => native().filesMountSetattr(fd, ATTR.NOSUID | ATTR.NOEXEC, ATTR.NODEV, false));
}

/** A detached copy of a host file or directory (with its submounts), idmapped through `usernsFd` if asked. */
export function bindTree(bind: DeviceBind, usernsFd: number | undefined): number {
  return withFd(native().openTree(bind.source, true), (fd) => {
    if (bind.idmap && usernsFd !== undefined) native().idmapTree(fd, usernsFd, true);
    if (bind.readonly) native().filesMountSetattr(fd, ATTR.RDONLY, 0, true);
  });
}

/** The filesystem on a block device, mounted detached (read-only superblock when asked). */
export function fsTree(m: DeviceFsMount): number {
  return withFd(native().mountDevice(m.source, m.fstype, m.readonly), (fd) => native().filesMountSetattr(fd, ATTR.NOSUID | ATTR.NODEV, 0, false));
}

/** Where a running container is reached: its init's pidfd, and whether it has a user namespace. */
export interface Target {
  pidfd: number;
  userns: boolean;
}

/**
 * Moves `tree` onto `path` inside the container (created if missing, with
 * the container's credentials, each component resolved below its root
 * following no symlink). `stage` locks a read-only tree (inject.h).
 * Returns whether the target was created.
 */
export function attachTree(t: Target, tree: number, path: string, isDir: boolean, stage?: string): boolean {
  return native().deviceInject(t.pidfd, t.userns, INJECT_ATTACH, tree, path, isDir, false, stage);
}

/** Lazily unmounts what is at `path` inside (open fds keep working), removing the target if warren made it. */
export function detachPath(t: Target, path: string, isDir: boolean, created: boolean): void {
  native().deviceInject(t.pidfd, t.userns, INJECT_DETACH, -1, path, isDir, created);
}
