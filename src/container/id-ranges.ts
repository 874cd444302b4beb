/**
 * The host-wide record of which host id range belongs to which container.
 *
 * Ranges used to be found by scanning one state root's containers, so two
 * roots handed out the same range (both started at 1,000,000) and a
 * container of one could signal or own the files of the other's. A host
 * has one id space, so it has one record: `/var/lib/warren-ids/ranges.jsonl`
 * (kept across reboots, as containers are), a journal (src/linux/journal.ts)
 * changed under a flock on `ranges.jsonl.lock` beside it, whatever root the
 * container lives in. An allocation appends one line and reads only what
 * other processes appended since this one last looked: O(1) on disk, with
 * thousands of containers; in memory, the pool slots in use are indexed
 * as entries are replayed, so finding the lowest free one is O(1) too.
 * (`ranges.json`, the whole-file record of earlier versions, is carried
 * over on first use.)
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
import { copyFileSync, existsSync, mkdirSync, promises as fsp } from "node:fs";
import { dirname, join, resolve } from "node:path";

import type { IdMap } from "../config/schema.js";
import { Journal } from "../linux/journal.js";
import { allocateIdRange, ID_RANGE_SIZE, IdSlotIndex, ownIdPool } from "./idmap.js";
import { StateStore } from "./state.js";

export const DEFAULT_ID_RANGES = "/var/lib/warren-ids/ranges.jsonl";
/** The whole-file JSON record of earlier versions, read once and carried over. */
const LEGACY_ID_RANGES = "/var/lib/warren-ids/ranges.json";

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

/** A root whose pre-existing containers have been recorded. */
interface AdoptedRoot {
  adopted: string;
}
type Entry = IdRangeEntry | AdoptedRoot;

const rangeKey = (root: string, container: string) => `range:${root}\0${container}`;
const rootKey = (root: string) => `root:${root}`;
const isRange = (e: Entry): e is IdRangeEntry => "container" in e;

/** The earlier format: `{version: 1, ranges: [...], roots: [...]}`. */
function fromLegacy(old: unknown): Iterable<[string, Entry]> | undefined {
  const o = old as { ranges?: IdRangeEntry[]; roots?: string[] } | null;
  if (!o || !Array.isArray(o.ranges)) return undefined;
  return [
    ...o.ranges.map((e): [string, Entry] => [rangeKey(e.root, e.container), e]),
    ...(o.roots ?? []).map((r): [string, Entry] => [rootKey(r), { adopted: r }]),
  ];
}

/**
 * The record's entries, with the pool slots their ranges hold indexed as
 * they are replayed or changed: an allocation asks the index, not every
 * range in use (O(1), not O(n), with thousands of containers).
 */
class RangeMap extends Map<string, Entry> {
  readonly slots = new IdSlotIndex(ownIdPool());

  override set(key: string, value: Entry): this {
    const old = super.get(key);
    if (old && isRange(old)) this.slots.remove(old);
    if (isRange(value)) this.slots.add(value);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    const old = super.get(key);
    if (old && isRange(old)) this.slots.remove(old);
    return super.delete(key);
  }

  override clear(): void {
    for (const key of [...this.keys()]) this.delete(key);
  }
}

/** The lowest free range of `size` ids among `entries` (the journal's map, and so indexed). */
function lowestFree(entries: ReadonlyMap<string, Entry>, size: number): IdMap {
  return entries instanceof RangeMap ? entries.slots.lowestFree(size) : allocateIdRange(ranges(entries), size, ownIdPool());
}

const journals = new Map<string, Journal<Entry>>();

function journal(): Journal<Entry> {
  const path = idRangesPath();
  let j = journals.get(path);
  if (!j) {
    // The default path takes over the legacy file's entries the first time it is used.
    if (path === DEFAULT_ID_RANGES && !existsSync(path) && existsSync(LEGACY_ID_RANGES)) {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        copyFileSync(LEGACY_ID_RANGES, path);
      } catch {
        /* read as empty */
      }
    }
    j = new Journal<Entry>(path, fromLegacy, () => new RangeMap());
    journals.set(path, j);
  }
  return j;
}

/** Roots resolved in this process (a realpath is a pool trip per path component's worth of lstat). */
const canonicalRoots = new Map<string, string>();

async function canonicalRoot(root: string): Promise<string> {
  const known = canonicalRoots.get(root);
  if (known !== undefined) return known;
  try {
    const real = await fsp.realpath(root);
    canonicalRoots.set(root, real);
    return real;
  } catch {
    return resolve(root); // not made yet: resolved again next time
  }
}

/** Records the ranges the containers of `root` held before the host-wide record knew the root. */
async function adoptRoot(entries: ReadonlyMap<string, Entry>, change: { set(k: string, v: Entry): void; delete(k: string): void }, root: string): Promise<void> {
  if (entries.has(rootKey(root))) return;
  // A root removed since is forgotten (re-adopted if it comes back): the list stays as short as the host's roots.
  for (const [k, e] of entries) if (!isRange(e) && !existsSync(e.adopted)) change.delete(k);
  const store = new StateStore(root);
  for (const name of await store.names()) {
    if (entries.has(rangeKey(root, name))) continue;
    const rec = await store.readRecord(name).catch(() => undefined);
    if (rec?.idmap) change.set(rangeKey(root, name), { ...rec.idmap, root, container: name });
  }
  change.set(rootKey(root), { adopted: root });
}

function isStale(e: IdRangeEntry): boolean {
  return !existsSync(join(e.root, e.container));
}

/** The ranges among `entries` (a listing, or a full pool's search for stale ones: O(n)). */
function ranges(entries: ReadonlyMap<string, Entry>): IdRangeEntry[] {
  const out: IdRangeEntry[] = [];
  for (const e of entries.values()) if (isRange(e)) out.push(e);
  return out;
}

/**
 * The host id range for container `container` of `root`: the one the
 * configuration names (recorded so the allocator avoids it), else the
 * lowest range of `wanted.size` ids (65536 by default) no container on the
 * host holds, taken from the ids this process's user namespace has
 * ({@link ownIdPool}: inside a container, its own). Call once the name is
 * the caller's (its directory claimed): any entry under it is then a
 * leftover and is replaced.
 */
export async function reserveIdRange(root: string, container: string, wanted?: IdMap | { size: number } | null): Promise<IdMap> {
  const explicit = wanted && "hostUid" in wanted ? wanted : undefined;
  const size = wanted?.size ?? ID_RANGE_SIZE;
  const canonical = await canonicalRoot(root);
  return journal().update(async (entries, change) => {
    await adoptRoot(entries, change, canonical);
    // An entry already under this name is a leftover: it goes first, so the
    // allocation below may reuse its range.
    if (entries.has(rangeKey(canonical, container))) change.delete(rangeKey(canonical, container));
    let map: IdMap;
    if (explicit) map = explicit;
    else {
      try {
        map = lowestFree(entries, size);
      } catch (e) {
        const stale = ranges(entries).filter(isStale);
        if (stale.length === 0) throw e;
        for (const s of stale) change.delete(rangeKey(s.root, s.container));
        map = lowestFree(entries, size);
      }
    }
    change.set(rangeKey(canonical, container), { hostUid: map.hostUid, hostGid: map.hostGid, size: map.size, root: canonical, container, ...(explicit ? { explicit: true as const } : {}) });
    return map;
  });
}

/** Gives back the range of `container` of `root` (destroy, or a create that failed). Idempotent. */
export async function releaseIdRange(root: string, container: string): Promise<void> {
  const canonical = await canonicalRoot(root);
  await journal().update((entries, change) => {
    if (entries.has(rangeKey(canonical, container))) change.delete(rangeKey(canonical, container));
  });
}

/**
 * Moves the range of `from` of `root` to the name `to` (rename). Call under
 * the root's lock, with `to` free: an entry already under `to` is a leftover
 * and is dropped.
 */
export async function renameIdRange(root: string, from: string, to: string): Promise<void> {
  const canonical = await canonicalRoot(root);
  await journal().update((entries, change) => {
    const e = entries.get(rangeKey(canonical, from));
    if (!e || !isRange(e)) {
      if (entries.has(rangeKey(canonical, to))) change.delete(rangeKey(canonical, to));
      return;
    }
    change.delete(rangeKey(canonical, from));
    change.set(rangeKey(canonical, to), { ...e, container: to });
  });
}

/** Drops every entry whose container directory is gone; returns them. */
export async function reclaimStaleIdRanges(): Promise<IdRangeEntry[]> {
  return journal().update((entries, change) => {
    const stale = ranges(entries).filter(isStale);
    for (const e of stale) change.delete(rangeKey(e.root, e.container));
    return stale;
  });
}

/** The entries of the record as they are now (read without the lock). */
export async function listIdRanges(): Promise<IdRangeEntry[]> {
  return ranges(await journal().read());
}
