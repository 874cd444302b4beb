/**
 * Renaming a stopped container and rebuilding one from its image. Both
 * keep what the container is (config, id range, NICs' addresses and MACs)
 * and change what it is called or what it holds.
 * @module
 */
import { promises as fsp } from "node:fs";
import { sep } from "node:path";

import { validateName } from "../config/constants.js";
import { HostError, StateError } from "../errors.js";
import { ImageStore } from "../image/store.js";
import { codeOf } from "../linux/errno.js";
import { withLock } from "../linux/lock.js";
import { renameAddresses } from "../network/manager.js";
import type { RootfsRecord } from "../rootfs/record.js";
import { resetImageRoot } from "../storage/backend.js";
import type { ContainerHandle } from "./handle.js";
import { renameIdRange } from "./id-ranges.js";
import { isLive } from "./state.js";

/** `r` with every path under the state directory `from` moved under `to`. */
export function movedRootfs(r: RootfsRecord, from: string, to: string): RootfsRecord {
  const move = (p: string) => (p === from ? to : p.startsWith(from + sep) ? to + p.slice(from.length) : p);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[k] = typeof v === "string" ? move(v) : Array.isArray(v) ? v.map((x) => (typeof x === "string" ? move(x) : x)) : v;
  return out as RootfsRecord;
}

/** Refuses a running container: its mounts, cgroup and monitor hold its name and paths. */
async function assertStopped(h: ContainerHandle, op: string): Promise<void> {
  await h.refresh();
  if (isLive(h.status)) {
    throw new StateError(`container "${h.name}" is ${h.status}: stop it before ${op === "rename" ? "renaming" : "rebuilding"} it`, op, h.status, { container: h.name });
  }
}

/**
 * Renames the stopped container of `h` to `to`: its state directory (with
 * its snapshots and storage), its record, its host id range entry and its
 * address leases, under the root's lock (so no create or destroy races it)
 * and its own (so no start does). Undone step by step if a step fails.
 */
export async function renameContainer(h: ContainerHandle, to: string): Promise<void> {
  validateName(to);
  const from = h.name;
  if (to === from) return;
  await withLock(h.store.globalLock, () =>
    withLock(h.store.lockPath(from), async () => {
      await assertStopped(h, "rename");
      if (await fsp.lstat(h.store.dir(to)).catch(() => undefined)) {
        throw new StateError(`cannot rename container "${from}" to "${to}": "${to}" exists already`, "rename", "exists", { container: from });
      }
      const fromDir = h.store.dir(from);
      const toDir = h.store.dir(to);
      const nics = (h.record.leases ?? []).map((l) => l.name);
      const undo: (() => Promise<unknown>)[] = [];
      try {
        await renameAddresses(h.runtime, from, to, nics);
        undo.push(() => renameAddresses(h.runtime, to, from, nics));
        if (h.record.idmap) {
          await renameIdRange(h.runtime.root, from, to);
          undo.push(() => renameIdRange(h.runtime.root, to, from));
        }
        await fsp.rename(fromDir, toDir).catch((e) => {
          throw new HostError(`rename \`${fromDir}\` to \`${toDir}\``, codeOf(e), { container: from, path: fromDir, syscall: "rename" });
        });
        undo.push(() => fsp.rename(toDir, fromDir));
        const record = { ...h.record, name: to, rootfs: movedRootfs(h.record.rootfs, fromDir, toDir) };
        await h.store.writeRecord(record);
        h.record = record;
        h.planCache = null;
      } catch (e) {
        for (const step of undo.reverse()) await step().catch(() => undefined);
        throw e;
      }
    }),
  );
}

/**
 * Drops the stopped container's own files and starts it again from its
 * image as it was at create: an empty overlay upper layer, or a fresh
 * btrfs root snapshotted from the image. Config, id range, NICs and
 * snapshots stay.
 */
export async function rebuildContainer(h: ContainerHandle): Promise<void> {
  const r = h.record.rootfs;
  if (r.kind !== "image") {
    throw new StateError(`container "${h.name}" is not made from an image: rebuild works on image-based containers`, "rebuild", r.kind, { container: h.name });
  }
  const image = await new ImageStore(h.runtime.root).get(r.image);
  await withLock(h.store.lockPath(h.name), async () => {
    await assertStopped(h, "rebuild");
    await resetImageRoot(r, h.stateDir, image);
  });
  // The init found in the old tree may be gone from the image's.
  h.initKind = undefined;
  h.planCache = null;
}

