/**
 * The btrfs backend of image-based containers, through the `btrfs` CLI.
 *
 *     <root>/.images/<id>/subvol     the image as a subvolume (made once, on first use)
 *     <state>/fs/root                the container's root: a writable snapshot of it
 *     <state>/root                   empty; where the child attaches <state>/fs/root
 *     <state>/snapshots/<n>/root     read-only snapshots of <state>/fs/root
 *
 * A snapshot is O(1) and shares every extent, so create, snapshot, restore
 * and clone cost the same whatever the container's size, and no overlay is
 * mounted. `<state>/fs` is 0700: with a user namespace the root is idmapped
 * (the ids on disk are the ones the container sees), so its files must not
 * be reachable by host users.
 * @module
 */
import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

import { ConfigError, HostError } from "../errors.js";
import { codeOf, errnoFromToolMessage } from "../linux/errno.js";
import { withLock } from "../linux/lock.js";

const run = promisify(execFile);

/** `f_type` of btrfs (linux/magic.h BTRFS_SUPER_MAGIC). */
export const BTRFS_SUPER_MAGIC = 0x9123683e;
/** Inode number of every subvolume's top directory (BTRFS_FIRST_FREE_OBJECTID). */
const SUBVOL_INO = 256;

/** Whether `path` is on btrfs. */
export async function onBtrfs(path: string): Promise<boolean> {
  try {
    return (await fsp.statfs(path)).type === BTRFS_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** Which backend an image-based container under `root` gets for `asked`. */
export async function chooseStorage(root: string, asked: "auto" | "overlay" | "btrfs", container?: string): Promise<"overlay" | "btrfs"> {
  if (asked === "overlay") return "overlay";
  const btrfs = await onBtrfs(root);
  if (asked === "btrfs" && !btrfs) {
    throw new ConfigError([{ path: "storage", message: `the runtime root \`${root}\` is not on btrfs` }], container ? { container } : undefined);
  }
  return btrfs ? "btrfs" : "overlay";
}

async function btrfs(args: string[], what: string, path: string): Promise<void> {
  try {
    await run("btrfs", args);
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? "").trim();
    const code = codeOf(e) === "ENOENT" ? "ENOENT" : /exists/i.test(stderr) ? "EEXIST" : /not empty/i.test(stderr) ? "ENOTEMPTY" : "EIO";
    throw new HostError(`${what} \`${path}\`${stderr ? ` (${stderr.split("\n").pop()})` : ""}`, code, { path, cause: e });
  }
}

/** Whether `path` is the top of a subvolume. */
export async function isSubvolume(path: string): Promise<boolean> {
  try {
    const st = await fsp.lstat(path);
    return st.isDirectory() && st.ino === SUBVOL_INO && (await onBtrfs(path));
  } catch {
    return false;
  }
}

export async function createSubvolume(path: string): Promise<void> {
  await btrfs(["subvolume", "create", path], "create subvolume", path);
}

/** A snapshot of subvolume `from` at `to` (read-only with `readonly`). */
export async function snapshotSubvolume(from: string, to: string, readonly = false): Promise<void> {
  await btrfs(["subvolume", "snapshot", ...(readonly ? ["-r"] : []), from, to], "snapshot subvolume", from);
}

/**
 * Deletes the subvolume at `path` (a no-op when it does not exist). A
 * container may have made subvolumes inside its own (creating one needs
 * no privilege), which `btrfs subvolume delete` refuses: those trees are
 * made writable and removed file by file (rmdir deletes an empty
 * subvolume since Linux 4.18).
 */
export async function deleteSubvolume(path: string): Promise<void> {
  if (!(await isSubvolume(path))) {
    await fsp.rm(path, { recursive: true, force: true });
    return;
  }
  try {
    await btrfs(["subvolume", "delete", path], "delete subvolume", path);
  } catch {
    await btrfs(["property", "set", "-ts", path, "ro", "false"], "make writable", path).catch(() => undefined);
    await fsp.rm(path, { recursive: true, force: true });
  }
}

/** Copies a tree into an existing directory, sharing extents (`cp -a --reflink=auto`). */
export async function copyInto(from: string, to: string): Promise<void> {
  try {
    await run("cp", ["-a", "--reflink=auto", `${from}/.`, to]);
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? "");
    throw new HostError(`copy \`${from}\` to \`${to}\`${stderr ? `: ${stderr.trim().split("\n")[0]}` : ""}`, errnoFromToolMessage(stderr), { cause: e });
  }
}

/**
 * The image's subvolume, made on first use: a subvolume filled with a
 * reflinked copy of the unpacked image (the store unpacks into a plain
 * directory), renamed into place under the store's lock so concurrent
 * creates make it once. It stays writable so the store's `remove` (a
 * recursive rm) can delete it; nothing writes to it.
 */
export async function imageSubvolume(imageRootfs: string): Promise<string> {
  const dir = dirname(imageRootfs);
  const subvol = join(dir, "subvol");
  if (await isSubvolume(subvol)) return subvol;
  return withLock(join(dirname(dir), ".lock"), async () => {
    if (await isSubvolume(subvol)) return subvol;
    await deleteSubvolume(subvol); // a half-made one
    const tmp = join(dir, `.subvol-${randomBytes(6).toString("hex")}`);
    await createSubvolume(tmp);
    try {
      await copyInto(imageRootfs, tmp);
      await fsp.rename(tmp, subvol);
    } catch (e) {
      await deleteSubvolume(tmp).catch(() => undefined);
      throw e;
    }
    return subvol;
  });
}

/** `<state>/fs`, the private parent of the container's subvolume. */
export const fsDir = (stateDir: string) => join(stateDir, "fs");
export const rootSubvolume = (stateDir: string) => join(stateDir, "fs", "root");

/**
 * Makes the container's root at `<state>/fs/root`: a snapshot of `seed`
 * (a subvolume: the image's, another container's, a snapshot), or a new
 * subvolume filled with a copy of `seed` when it is a plain directory.
 */
export async function makeRoot(stateDir: string, seed: string): Promise<string> {
  await fsp.mkdir(fsDir(stateDir), { mode: 0o700 });
  await fsp.mkdir(join(stateDir, "root"), { mode: 0o755 });
  const root = rootSubvolume(stateDir);
  if (await isSubvolume(seed)) {
    await snapshotSubvolume(seed, root);
  } else {
    await createSubvolume(root);
    await copyInto(seed, root);
  }
  return root;
}

/** Swaps the container's root for a writable snapshot of `snapshot`. */
export async function restoreRoot(stateDir: string, snapshot: string): Promise<void> {
  const root = rootSubvolume(stateDir);
  const next = `${root}.new`;
  const old = `${root}.old`;
  await deleteSubvolume(next);
  await deleteSubvolume(old);
  await snapshotSubvolume(snapshot, next);
  await fsp.rename(root, old);
  await fsp.rename(next, root);
  await deleteSubvolume(old);
}

/**
 * Deletes every subvolume under a container's state directory (its root,
 * snapshots, and leftovers of an interrupted restore or export), so the
 * directory can then be removed like any other.
 */
export async function deleteContainerSubvolumes(stateDir: string): Promise<void> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (codeOf(e) === "ENOENT" || codeOf(e) === "ENOTDIR") return;
      throw e;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (await isSubvolume(p)) found.push(p);
      else if (depth > 0) await walk(p, depth - 1);
    }
  };
  // fs/root*, snapshots/<n>/root, snapshots/.export-*: nothing deeper.
  await walk(stateDir, 2);
  for (const p of found) await deleteSubvolume(p);
}
