/**
 * The host-wide record of which host id range belongs to which container.
 *
 * Ranges used to be found by scanning one state root's containers, so two
 * roots handed out the same range (both started at 1,000,000) and a
 * container of one could signal or own the files of the other's. A host
 * has one id space, so it has one record: `/var/lib/warren-ids/ranges.json`
 * (kept across reboots, as containers are), changed under a flock on
 * `ranges.json.lock` beside it, whatever root the container lives in. An allocation is
 * one read and one write of that file, not a read per container.
 *
 * Entries are keyed by (state root, container name) and released by
 * destroy. One whose container directory is gone (a root removed by hand, a
 * process killed half-way through create) is stale: a create of the same
 * name replaces it, and when the pool is full every stale entry is
 * reclaimed before giving up. The first allocation in a root records the
 * ranges its existing containers already hold (made before this record
 * existed), once.
 *
 * `WARREN_ID_RANGES` names another file (tests, or a host that keeps
 * state elsewhere); every warren process on a host must agree on it.
 * @module
 */
import { existsSync, mkdirSync, promises as fsp } from "node:fs";
import { dirname, join, resolve } from "node:path";

import type { IdMap } from "../config/schema.js";
import { readJsonFile, writeJsonAtomic } from "../linux/json-file.js";
import { withLock } from "../linux/lock.js";
import { allocateIdRange } from "./idmap.js";
import { StateStore } from "./state.js";

export const DEFAULT_ID_RANGES = "/var/lib/warren-ids/ranges.json";

/** The record file in use (`WARREN_ID_RANGES` or the default). */
export function idRangesPath(): string {
  return process.env.WARREN_ID_RANGES || DEFAULT_ID_RANGES;
}

export interface IdRangeEntry extends IdMap {
  /** The state root (absolute, symlinks resolved). */
  root: string;
  container: string;
  /** Chosen by the configuration (`idmap`), not by the allocator: other containers avoid it all the same. */
  explicit?: true;
}

interface RangesFile {
  version: 1;
  ranges: IdRangeEntry[];
  /** Roots whose pre-existing containers have been recorded. */
  roots: string[];
}

async function canonicalRoot(root: string): Promise<string> {
  return fsp.realpath(root).catch(() => resolve(root));
}

/** Reads, changes and writes the record under its lock. */
async function update<T>(fn: (file: RangesFile) => Promise<T>): Promise<T> {
  const path = idRangesPath();
  // 0700: which ids a container runs as is nobody else's business.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return withLock(`${path}.lock`, async () => {
    const file = (await readJsonFile<RangesFile>(path)) ?? { version: 1, ranges: [], roots: [] };
    const out = await fn(file);
    writeJsonAtomic(path, file);
    return out;
  });
}

/** Records the ranges the containers of `root` held before the host-wide record knew the root. */
async function adoptRoot(file: RangesFile, root: string): Promise<void> {
  // A root removed since is forgotten (re-adopted if it comes back): the list stays as short as the host's roots.
  file.roots = file.roots.filter((r) => r === root || existsSync(r));
  if (file.roots.includes(root)) return;
  const store = new StateStore(root);
  for (const name of await store.names()) {
    if (file.ranges.some((e) => e.root === root && e.container === name)) continue;
    const rec = await store.readRecord(name).catch(() => undefined);
    if (rec?.idmap) file.ranges.push({ ...rec.idmap, root, container: name });
  }
  file.roots.push(root);
}

function isStale(e: IdRangeEntry): boolean {
  return !existsSync(join(e.root, e.container));
}

/**
 * The host id range for container `container` of `root`: `explicit` when
 * the configuration names one (recorded so the allocator avoids it), else
 * the lowest range no container on the host holds. Call under the root's
 * create lock, after checking the container does not exist: any entry
 * under its name is then a leftover and is replaced.
 */
export async function reserveIdRange(root: string, container: string, explicit?: IdMap | null): Promise<IdMap> {
  const canonical = await canonicalRoot(root);
  return update(async (file) => {
    await adoptRoot(file, canonical);
    file.ranges = file.ranges.filter((e) => !(e.root === canonical && e.container === container));
    let map: IdMap;
    if (explicit) map = explicit;
    else {
      try {
        map = allocateIdRange(file.ranges);
      } catch (e) {
        const live = file.ranges.filter((r) => !isStale(r));
        if (live.length === file.ranges.length) throw e;
        file.ranges = live;
        map = allocateIdRange(file.ranges);
      }
    }
    file.ranges.push({ hostUid: map.hostUid, hostGid: map.hostGid, size: map.size, root: canonical, container, ...(explicit ? { explicit: true as const } : {}) });
    return map;
  });
}

/** Gives back the range of `container` of `root` (destroy, or a create that failed). Idempotent. */
export async function releaseIdRange(root: string, container: string): Promise<void> {
  const canonical = await canonicalRoot(root);
  await update(async (file) => {
    file.ranges = file.ranges.filter((e) => !(e.root === canonical && e.container === container));
  });
}

/**
 * Moves the range of `from` of `root` to the name `to` (rename). Call under
 * the root's lock, with `to` free: an entry already under `to` is a leftover
 * and is dropped.
 */
export async function renameIdRange(root: string, from: string, to: string): Promise<void> {
  const canonical = await canonicalRoot(root);
  await update(async (file) => {
    file.ranges = file.ranges.filter((e) => !(e.root === canonical && e.container === to));
    for (const e of file.ranges) if (e.root === canonical && e.container === from) e.container = to;
  });
}

/** Drops every entry whose container directory is gone; returns them. */
export async function reclaimStaleIdRanges(): Promise<IdRangeEntry[]> {
  return update(async (file) => {
    const stale = file.ranges.filter(isStale);
    file.ranges = file.ranges.filter((e) => !isStale(e));
    return stale;
  });
}

/** The entries of the record as they are now (read without the lock). */
export async function listIdRanges(): Promise<IdRangeEntry[]> {
  return (await readJsonFile<RangesFile>(idRangesPath()))?.ranges ?? [];
}
