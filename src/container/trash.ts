/**
 * The trash: where a destroyed container's directory waits to be removed.
 *
 * Removing a directory tree costs the host filesystem a write per entry,
 * and on some disks far more: on ext4 mounted `discard` each freed block is
 * a synchronous discard, ~0.5 ms on the project's VM whatever the
 * parallelism. A container whose processes made 50,000 mount points in its
 * writable layer took 12–18 s to destroy, all of it `rmdir`, with the
 * container's lock (and, in a recovery, the root's) held throughout and
 * every thread of libuv's pool blocked in it.
 *
 * So destroy renames the directory into `<root>/.trash/` (one `rename`,
 * atomic: the container is gone at that instant and its name free), and
 * this process removes the tree afterwards, one operation at a time so
 * the pool stays free for everything else. An entry's name carries its
 * owner (pid and start time): a later process finishes the entries of a
 * dead one (after every destroy, and in `Container.gc()`), never those
 * of a live one. The trash is 0700 root, so nothing in it is reachable by
 * the id range the container gave back.
 * @module
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { join } from "node:path";

import { codeOf } from "../linux/errno.js";
import { ownerAlive, selfOwner, type Owner } from "./intent.js";

/** The trash directory of a runtime root (a name no container can have: names start with a letter or digit). */
export function trashDir(root: string): string {
  return join(root, ".trash");
}

const ENTRY = /\.(\d+)-(\d+)\.[0-9a-f]+$/;

function entryName(base: string, owner: Owner): string {
  return `${base}.${owner.pid}-${owner.startTime}.${randomBytes(4).toString("hex")}`;
}

function ownerOf(entry: string): Owner | undefined {
  const m = ENTRY.exec(entry);
  return m ? { pid: Number(m[1]), startTime: Number(m[2]) } : undefined;
}

/**
 * Moves `dir` (a container's directory directly under `root`) into the
 * trash. Undefined when it cannot be moved (gone already, or a mount
 * point, or another filesystem): the caller removes it in place.
 */
export async function moveToTrash(root: string, dir: string, name: string): Promise<string | undefined> {
  const trash = trashDir(root);
  try {
    await fsp.mkdir(trash, { mode: 0o700 });
  } catch (e) {
    if (codeOf(e) !== "EEXIST") return undefined;
  }
  const to = join(trash, entryName(name, selfOwner()));
  try {
    await fsp.rename(dir, to);
    return to;
  } catch {
    return undefined;
  }
}

const purges = new Map<string, { run: Promise<void>; again: boolean }>();

/**
 * Removes what is in `root`'s trash: this process's entries and those of
 * dead processes. Joins a purge already running here (which then looks
 * once more). Never rejects: what cannot be removed stays for a later
 * purge.
 */
export function purgeTrash(root: string): Promise<void> {
  const running = purges.get(root);
  if (running) {
    running.again = true;
    return running.run;
  }
  const state = { run: Promise.resolve(), again: false };
  state.run = (async () => {
    do {
      state.again = false;
      await purgeOnce(root).catch(() => undefined);
    } while (state.again);
  })().finally(() => purges.delete(root));
  purges.set(root, state);
  return state.run;
}

/** Resolves when every purge this process has running is done (the CLI waits for it before exiting). */
export async function purgesDone(): Promise<void> {
  while (purges.size > 0) await Promise.all([...purges.values()].map((p) => p.run));
}

/**
 * Removes one entry this process just moved into the trash (what destroy
 * waits for: its caller may unmount the filesystem next), one operation
 * at a time. What it cannot remove stays for a later purge.
 */
export async function removeTrashEntry(root: string, entry: string): Promise<void> {
  try {
    const { dev } = await fsp.lstat(trashDir(root));
    await removeTree(entry, dev);
  } catch {
    // Left in the trash: gc() (this process's, or a later one's) finishes it.
  }
}

async function purgeOnce(root: string): Promise<void> {
  const trash = trashDir(root);
  let entries: string[];
  try {
    entries = await fsp.readdir(trash);
  } catch {
    return;
  }
  const self = selfOwner();
  const { dev } = await fsp.lstat(trash);
  for (const entry of entries) {
    const owner = ownerOf(entry);
    let path = join(trash, entry);
    const mine = owner?.pid === self.pid && owner.startTime === self.startTime;
    if (!mine) {
      if (owner && ownerAlive(owner)) continue;
      // A dead process's entry (or a stray): claimed by renaming it, so two
      // processes that both found it never remove the same tree.
      const claimed = join(trash, entryName("claimed", self));
      try {
        await fsp.rename(path, claimed);
      } catch {
        continue; // taken by another process meanwhile
      }
      path = claimed;
    }
    await removeTree(path, dev).catch(() => undefined);
  }
}

/**
 * rm -rf of `path`, one operation at a time: an empty directory costs one
 * `rmdir`, a file one `unlink`. Never descends into another filesystem (a
 * mount point fails `rmdir` with EBUSY and stays).
 */
async function removeTree(path: string, dev: number): Promise<void> {
  // A writer that outlived the rename (a monitor flushing its console log)
  // may add an entry after the listing: look again a few times.
  for (let pass = 0; pass < 5; pass++) {
    let dir: import("node:fs").Dir;
    try {
      // In batches: a listing of 50,000 entries at once costs the event
      // loop ~80 ms. Removing what was listed does not disturb the listing.
      dir = await fsp.opendir(path, { bufferSize: 256 });
    } catch (e) {
      if (codeOf(e) === "ENOENT") return;
      throw e;
    }
    for await (const e of dir) {
      const p = join(path, e.name);
      if (e.isDirectory()) await removeDirectory(p, dev);
      else await fsp.unlink(p).catch(ignoreGone);
    }
    if (await rmdirIfEmpty(path)) return;
  }
}

/** rmdir: true when the directory is gone, false when it is not empty. */
async function rmdirIfEmpty(p: string): Promise<boolean> {
  try {
    await fsp.rmdir(p);
    return true;
  } catch (e) {
    const code = codeOf(e);
    if (code === "ENOENT") return true;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
    return false;
  }
}

async function removeDirectory(p: string, dev: number): Promise<void> {
  if (await rmdirIfEmpty(p)) return;
  const st = await fsp.lstat(p);
  if (st.dev !== dev) throw Object.assign(new Error(`\`${p}\` is on another filesystem`), { code: "EXDEV" });
  await removeTree(p, dev);
}

function ignoreGone(e: unknown): void {
  if (codeOf(e) !== "ENOENT") throw e;
}
