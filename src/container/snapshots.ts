/**
 * Snapshots and clones of containers made from an image: their state is
 * the overlay's upper layer, so a snapshot is a copy of it (reflinked where
 * the filesystem can), a restore puts one back, and a clone is a new
 * container on the same image with a copy of the upper layer shifted to the
 * clone's own id range.
 * @module
 */
import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { NAME_PATTERN } from "../config/schema.js";
import { ConfigError, HostError, NotFoundError, StateError } from "../errors.js";
import type { Container } from "./container.js";
import { withLock } from "./lock.js";
import { isLive } from "./state.js";

const run = promisify(execFile);

export interface SnapshotInfo {
  name: string;
  createdAt: string;
}

function upperOf(c: Container, op: string): { upper: string; work: string } {
  const r = c._record.rootfs;
  if (r.kind !== "image") {
    throw new StateError(`container "${c.name}" is not made from an image: ${op} works on image-based containers`, op, r.kind, { container: c.name });
  }
  return { upper: r.upper, work: r.work };
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw new ConfigError([{ path: "snapshot", message: `bad snapshot name ${JSON.stringify(name)}` }]);
}

async function copyTree(from: string, to: string): Promise<void> {
  try {
    await run("cp", ["-a", "--reflink=auto", `${from}/.`, to]);
  } catch (e) {
    throw new HostError(`copy \`${from}\` to \`${to}\``, "EIO", { cause: e });
  }
}

const snapshotsDir = (c: Container) => join(c.stateDir, "snapshots");

export async function snapshot(c: Container, name: string): Promise<SnapshotInfo> {
  checkName(name);
  const { upper } = upperOf(c, "snapshot");
  const dir = join(snapshotsDir(c), name);
  await c.refresh();
  // A running container is frozen while its upper layer is copied, so the
  // copy is one moment of it.
  const wasRunning = c.state === "running";
  if (wasRunning) await c.freeze();
  try {
    await fsp.mkdir(snapshotsDir(c), { recursive: true, mode: 0o700 });
    await fsp.mkdir(dir).catch((e) => {
      throw new StateError(`snapshot ${JSON.stringify(name)} exists already`, "snapshot", String((e as { code?: string }).code), { container: c.name });
    });
    await fsp.mkdir(join(dir, "upper"));
    await copyTree(upper, join(dir, "upper"));
    const info = { name, createdAt: new Date().toISOString() };
    await fsp.writeFile(join(dir, "snapshot.json"), JSON.stringify(info) + "\n");
    return info;
  } finally {
    if (wasRunning) await c.unfreeze();
  }
}

export async function listSnapshots(c: Container): Promise<SnapshotInfo[]> {
  upperOf(c, "listSnapshots");
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

export async function restoreSnapshot(c: Container, name: string): Promise<void> {
  checkName(name);
  const { upper, work } = upperOf(c, "restore");
  const dir = join(snapshotsDir(c), name, "upper");
  await fsp.access(dir).catch(() => {
    throw new NotFoundError(`container "${c.name}" has no snapshot ${JSON.stringify(name)}`, { container: c.name });
  });
  await c.refresh();
  if (isLive(c.state)) throw new StateError(`stop container "${c.name}" before restoring a snapshot`, "restore", c.state, { container: c.name });
  await withLock(c._store.lockPath(c.name), async () => {
    for (const d of [upper, work]) {
      const st = await fsp.stat(d);
      await fsp.rm(d, { recursive: true, force: true });
      await fsp.mkdir(d, { mode: 0o755 });
      await fsp.chown(d, st.uid, st.gid);
    }
    await copyTree(dir, upper);
  });
}

export async function deleteSnapshot(c: Container, name: string): Promise<void> {
  checkName(name);
  upperOf(c, "deleteSnapshot");
  await fsp.rm(join(snapshotsDir(c), name), { recursive: true, force: true });
}

/** Moves every owner under `dir` by `du`/`dg` (a copy from one container's id range to another's). */
export async function shiftIds(dir: string, du: number, dg: number): Promise<void> {
  const st = await fsp.lstat(dir);
  await fsp.lchown(dir, st.uid + du, st.gid + dg);
  if (!st.isDirectory()) return;
  for (const e of await fsp.readdir(dir)) await shiftIds(join(dir, e), du, dg);
}
