/**
 * The root of an image-based container, whichever backend holds it: made
 * at create (empty changes, or seeded from another container's tree for
 * clone, create-from-snapshot and import), and removed at destroy.
 *
 * A seed is a tree in the layout of one backend: an overlay upper layer
 * (the changes only), or a whole btrfs root. The two do not convert into
 * each other (an upper layer has no meaning without its image, and a whole
 * root has no whiteouts), so a seeded container gets its seed's backend.
 * @module
 */
import { chownSync, mkdirSync, promises as fsp } from "node:fs";
import { join } from "node:path";

import type { IdMap } from "../config/schema.js";
import { ConfigError, NotFoundError } from "../errors.js";
import { supportsIdmappedMounts } from "./idmap-probe.js";
import type { ImageInfo } from "../image/store.js";
import type { ImageRootfs, RootfsRecord } from "../rootfs/record.js";
import { shiftIds } from "../linux/ids.js";
import { chooseStorage, copyInto, deleteContainerSubvolumes, imageSubvolume, makeRoot, restoreRoot } from "./btrfs.js";

export type StorageKind = "overlay" | "btrfs";

/** The backend of an image-based rootfs record (overlay for records older than the choice). */
export function storageOf(r: ImageRootfs): StorageKind {
  return r.storage === "btrfs" ? "btrfs" : "overlay";
}

/** A tree the new container's changes start from. */
export interface Seed {
  storage: StorageKind;
  /** An upper layer (overlay), or a root (btrfs: a subvolume, snapshotted, or a plain directory, copied). */
  path: string;
  /**
   * First host uid/gid of the id range the tree's owners are in: the source
   * container's range, or `{uid: 0, gid: 0}` for a tree in the container's
   * own view (an export). Overlay trees are shifted from it to the new
   * container's range; btrfs trees are kept in the container's view
   * already (idmapped root) and never shifted.
   */
  base: { uid: number; gid: number };
}

/** The host id base of a container (its view when it has no user namespace). */
export function baseOf(idmap: IdMap | null): { uid: number; gid: number } {
  return idmap ? { uid: idmap.hostUid, gid: idmap.hostGid } : { uid: 0, gid: 0 };
}

/** The tree holding a container's changes now: its upper layer, or its root subvolume. */
export function liveTree(r: ImageRootfs): string {
  return r.storage === "btrfs" ? r.lower : r.upper;
}

/** The tree of snapshot `name` of a container. */
export function snapshotTree(stateDir: string, r: ImageRootfs, name: string): string {
  return join(stateDir, "snapshots", name, r.storage === "btrfs" ? "root" : "upper");
}

/** The backend for a new image-based container: its seed's, else what the config and the root's filesystem say. */
export async function pickStorage(root: string, asked: "auto" | StorageKind, seed: Seed | undefined, container: string): Promise<StorageKind> {
  if (!seed) return chooseStorage(root, asked, container);
  if (asked !== "auto" && asked !== seed.storage) {
    throw new ConfigError([{ path: "storage", message: `the source is kept on ${seed.storage}; a container made from it is too` }], { container });
  }
  if (seed.storage === "btrfs") await chooseStorage(root, "btrfs", container);
  return seed.storage;
}

/**
 * Lays out the root of a new image-based container in its state directory
 * `dir` and returns its record.
 */
export async function makeImageRoot(o: {
  dir: string;
  image: ImageInfo;
  idmap: IdMap | null;
  storage: StorageKind;
  seed?: Seed;
}): Promise<RootfsRecord> {
  const { dir, image, idmap, seed } = o;
  if (o.storage === "btrfs") {
    const lower = await makeRoot(dir, seed?.path ?? (await imageSubvolume(image.rootfs)));
    return { kind: "image", storage: "btrfs", image: image.id, lower };
  }
  const r: RootfsRecord & { kind: "image"; storage: "overlay" } = {
    kind: "image",
    storage: "overlay",
    image: image.id,
    lower: image.rootfs,
    upper: join(dir, "upper"),
    work: join(dir, "work"),
  };
  // Synchronous: four empty directories cost less than four pool trips (a
  // fleet's creates each make them), and never long enough to be felt.
  for (const d of ["upper", "work", "root", "lower"]) {
    mkdirSync(join(dir, d), { mode: 0o755 });
    // The overlay's writable layers belong to the container's root.
    if (idmap && d !== "root" && d !== "lower") chownSync(join(dir, d), idmap.hostUid, idmap.hostGid);
  }
  // Where the image's filesystem cannot be idmapped, the container gets its
  // own copy, shifted once to its range (reflinked where the filesystem can).
  if (idmap && !(await supportsIdmappedMounts(image.rootfs, idmap))) {
    await copyInto(image.rootfs, join(dir, "lower"));
    await shiftIds(join(dir, "lower"), idmap.hostUid, idmap.hostGid);
    r.lower = join(dir, "lower");
    r.shifted = true;
  }
  if (seed) {
    await fsp.access(seed.path).catch(() => {
      throw new NotFoundError(`no tree at \`${seed.path}\` to start from`);
    });
    await copyInto(seed.path, r.upper);
    const to = baseOf(idmap);
    if (to.uid !== seed.base.uid || to.gid !== seed.base.gid) await shiftIds(r.upper, to.uid - seed.base.uid, to.gid - seed.base.gid);
  }
  return r;
}

/** Empties each directory, keeping its owner (an overlay's upper and work layers belong to the container's root). */
export async function emptyDirs(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) {
    const st = await fsp.stat(d);
    await fsp.rm(d, { recursive: true, force: true });
    await fsp.mkdir(d, { mode: 0o755 });
    await fsp.chown(d, st.uid, st.gid);
  }
}

/**
 * Puts an image-based root back as a create made it (rebuild): an empty
 * upper layer (a shifted copy of the image stays: it is the image), or a
 * fresh btrfs root snapshotted from the image's subvolume.
 */
export async function resetImageRoot(r: ImageRootfs, stateDir: string, image: ImageInfo): Promise<void> {
  if (r.storage === "btrfs") await restoreRoot(stateDir, await imageSubvolume(image.rootfs));
  else await emptyDirs([r.upper, r.work]);
}

/** Removes what a container's storage holds beyond plain files (btrfs subvolumes), before its state directory goes. */
export async function removeStorage(r: RootfsRecord, stateDir: string): Promise<void> {
  if (r.kind === "image" && r.storage === "btrfs") await deleteContainerSubvolumes(stateDir);
}
