/**
 * Snapshots of containers made from an image. Their state is the overlay's
 * upper layer or, on btrfs, their root subvolume: an overlay snapshot is a
 * copy of the upper layer (reflinked where the filesystem can) and a
 * restore copies it back; a btrfs snapshot is a read-only subvolume
 * snapshot and a restore swaps the root for a writable snapshot of it.
 * @module
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";

import { NAME_PATTERN } from "../config/constants.js";
import { ConfigError, HostError, NotFoundError, StateError, WarrenError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { writeFileExclusive } from "../linux/json-file.js";
import type { ImageRootfs } from "../rootfs/record.js";
import { emptyDirs } from "../storage/backend.js";
import { copyInto, deleteSubvolume, restoreRoot, snapshotSubvolume } from "../storage/btrfs.js";
import type { ContainerHandle } from "./handle.js";
import { selfOwner } from "./intent.js";
import { partialSnapshotPath, recoverContainer, type PartialSnapshot } from "./recover.js";
import { FREEZE_TIMEOUT_MS, setFrozen } from "./resources.js";
import { withLock } from "../linux/lock.js";
import { isLive } from "./state.js";

export interface SnapshotInfo {
  name: string;
  createdAt: string;
}

function imageRootfsOf(c: ContainerHandle, op: string): ImageRootfs {
  const r = c.record.rootfs;
  if (r.kind !== "image") {
    throw new StateError(`container "${c.name}" is not made from an image: ${op} works on image-based containers`, op, r.kind, { container: c.name });
  }
  return r;
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw new ConfigError([{ path: "snapshot", message: `bad snapshot name ${JSON.stringify(name)}` }]);
}

const snapshotsDir = (c: ContainerHandle) => join(c.stateDir, "snapshots");

/**
 * Runs `fn`, which copies the container's live tree, with a running
 * container frozen meanwhile so the copy is one moment of it. A btrfs tree
 * is taken by an atomic snapshot and needs no freeze; an overlay's upper
 * layer is copied file by file.
 */
export async function withLiveTreeStill<T>(c: ContainerHandle, fn: () => Promise<T>): Promise<T> {
  await c.refresh();
  const freeze = freezesFor(c);
  if (freeze) await setFrozen(c, true, FREEZE_TIMEOUT_MS);
  try {
    return await fn();
  } finally {
    if (freeze) await setFrozen(c, false, FREEZE_TIMEOUT_MS).catch(() => undefined);
  }
}

/** Whether copying the live tree freezes the container (a running one not on btrfs). */
function freezesFor(c: ContainerHandle): boolean {
  const r = c.record.rootfs;
  return c.status === "running" && !(r.kind === "image" && r.storage === "btrfs");
}

/**
 * Copies the live tree to snapshots/<name>. Until it is whole, a marker
 * beside container.json names this process and whether it froze the
 * container: if this process dies, the next one to look at the container
 * thaws it and removes the half-made copy (recover.ts), so neither the
 * freeze nor the name outlives it.
 */
export async function snapshot(c: ContainerHandle, name: string): Promise<SnapshotInfo> {
  checkName(name);
  const r = imageRootfsOf(c, "snapshot");
  const dir = join(snapshotsDir(c), name);
  const partial = partialSnapshotPath(c.stateDir, name);
  await c.refresh();
  const marker: PartialSnapshot = { owner: selfOwner(), froze: freezesFor(c) };
  // The marker first (exclusively: one maker per name), then the directory.
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileExclusive(partial, JSON.stringify(marker) + "\n");
      break;
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw new HostError(`write \`${partial}\``, codeOf(e), { container: c.name, path: partial, cause: e });
      // A marker left by a dead process is cleaned up and the name taken; a live one's is not.
      if (attempt > 0 || (await recoverContainer(c.runtime, c.name)) === "busy") {
        throw new StateError(`snapshot ${JSON.stringify(name)} is being made by another process`, "snapshot", "busy", { container: c.name });
      }
    }
  }
  await fsp.mkdir(snapshotsDir(c), { recursive: true, mode: 0o700 });
  try {
    await fsp.mkdir(dir);
  } catch (e) {
    await fsp.rm(partial, { force: true });
    throw new StateError(`snapshot ${JSON.stringify(name)} exists already`, "snapshot", codeOf(e), { container: c.name });
  }
  try {
    const info = await withLiveTreeStill(c, async () => {
      if (r.storage === "btrfs") {
        await snapshotSubvolume(r.lower, join(dir, "root"), true);
      } else {
        await fsp.mkdir(join(dir, "upper"));
        await copyInto(r.upper, join(dir, "upper"));
      }
      const made = { name, createdAt: new Date().toISOString() };
      await fsp.writeFile(join(dir, "snapshot.json"), JSON.stringify(made) + "\n");
      return made;
    });
    await fsp.unlink(partial);
    return info;
  } catch (e) {
    await removeSnapshotDir(dir).catch(() => undefined);
    await fsp.rm(partial, { force: true }).catch(() => undefined);
    throw e instanceof WarrenError ? e : new HostError(`snapshot "${c.name}" as ${JSON.stringify(name)}: ${(e as Error).message}`, codeOf(e), { container: c.name, cause: e });
  }
}

export async function listSnapshots(c: ContainerHandle): Promise<SnapshotInfo[]> {
  imageRootfsOf(c, "listSnapshots");
  let names: string[] = [];
  try {
    names = await fsp.readdir(snapshotsDir(c));
  } catch {
    return [];
  }
  const out: SnapshotInfo[] = [];
  for (const n of names.sort()) {
    try {
      out.push(JSON.parse(await fsp.readFile(join(snapshotsDir(c), n, "snapshot.json"), "utf8")));
    } catch {
      /* being made or removed */
    }
  }
  return out;
}

export async function restoreSnapshot(c: ContainerHandle, name: string): Promise<void> {
  checkName(name);
  const r = imageRootfsOf(c, "restore");
  const dir = join(snapshotsDir(c), name, r.storage === "btrfs" ? "root" : "upper");
  await fsp.access(join(snapshotsDir(c), name, "snapshot.json")).catch(() => {
    throw new NotFoundError(`container "${c.name}" has no snapshot ${JSON.stringify(name)}`, { container: c.name });
  });
  await c.refresh();
  if (isLive(c.status)) throw new StateError(`stop container "${c.name}" before restoring a snapshot`, "restore", c.status, { container: c.name });
  await withLock(c.store.lockPath(c.name), async () => {
    if (r.storage === "btrfs") {
      await restoreRoot(c.stateDir, dir);
      return;
    }
    await emptyDirs([r.upper, r.work]);
    await copyInto(dir, r.upper);
  });
}

/** A snapshot's directory with its tree, whichever backend made it. */
async function removeSnapshotDir(dir: string): Promise<void> {
  await deleteSubvolume(join(dir, "root"));
  await fsp.rm(dir, { recursive: true, force: true });
}

export async function deleteSnapshot(c: ContainerHandle, name: string): Promise<void> {
  checkName(name);
  imageRootfsOf(c, "deleteSnapshot");
  await removeSnapshotDir(join(snapshotsDir(c), name));
}

/** Kept here for the callers that import it from this module. */
export { shiftIds } from "../linux/ids.js";
