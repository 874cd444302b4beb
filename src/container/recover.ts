/**
 * Finishing what a dead process left half-done (see intent.ts): a create
 * is rolled back, a destroy rolled forward, a half-made snapshot removed
 * and the container it froze thawed, an init started by a process that
 * died before recording it killed. Everything here is idempotent and runs
 * under the root's lock and then the container's, so two recoverers, or a
 * recoverer and a new create of the same name, never interleave.
 * @module
 */
import { promises as fsp, readFileSync } from "node:fs";
import { join } from "node:path";

import { CgroupTree, detectCgroupHost } from "../cgroup/cgroup2.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import { HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { withLock } from "../linux/lock.js";
import { releaseContainerAddresses } from "../network/manager.js";
import { removeStorage } from "../storage/backend.js";
import { deleteContainerSubvolumes } from "../storage/btrfs.js";
import { releaseIdRange } from "./id-ranges.js";
import { ownerAlive, readIntent, type Owner } from "./intent.js";
import { processInfo } from "./proc.js";
import { moveToTrash, removeTrashEntry } from "./trash.js";
import { isLive, StateStore, type ContainerRecord } from "./state.js";

/** The owner of a snapshot being made, in `<state>/<name>/partial-snapshot.<snapshot>.json`. */
export interface PartialSnapshot {
  owner: Owner;
  /** The snapshot froze the running container (thawed by whoever finds it dead). */
  froze: boolean;
}

/** Where the marker of snapshot `snapshot` being made lives (beside container.json: one readdir finds every marker). */
export function partialSnapshotPath(dir: string, snapshot: string): string {
  return join(dir, `partial-snapshot.${snapshot}.json`);
}
const PARTIAL = /^partial-snapshot\.(.+)\.json$/;
/** The temporary file a marker is written to before it is linked to its name (writeFileExclusive): `<marker>.<pid>.<hex>.tmp`. */
const PARTIAL_TMP = /^partial-snapshot\..+\.json\.(\d+)\.[0-9a-f]+\.tmp$/;

/**
 * Removes everything a container holds on the host: its processes and
 * cgroup, its monitor, its leases, its storage, its directory and its id
 * range. `record` is what create wrote (absent when a create died before
 * writing it: then every lease under its name goes).
 */
export async function removeContainerFiles(runtime: ResolvedRuntime, name: string, record: ContainerRecord | undefined, monitor?: number): Promise<void> {
  const store = new StateStore(runtime.root);
  const dir = store.dir(name);
  const cgroups = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent);
  await cgroups.remove(name);
  if (monitor !== undefined) await killMonitor(monitor);
  await releaseContainerAddresses(runtime, name);
  if (record) await removeStorage(record.rootfs, dir);
  else await deleteContainerSubvolumes(dir).catch(() => undefined);
  // One rename, whatever the size of the tree: the commit point (a crash
  // after it leaves an entry a later gc() removes). The files then go one
  // operation at a time (trash.ts says why), and before destroy resolves:
  // its caller may unmount the filesystem the root is on right after.
  const trashed = await moveToTrash(runtime.root, dir, name);
  if (!trashed) await removeDir(dir);
  // Without a record the range may or may not have been taken: releasing is idempotent.
  if (!record || record.idmap) await releaseIdRange(runtime.root, name);
  if (trashed) await removeTrashEntry(runtime.root, trashed);
}

/**
 * rm -rf that outlasts a writer racing it (a monitor flushing console.log
 * as it ends): ENOTEMPTY is retried for a while, any other failure is a
 * HostError with the errno.
 */
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.rm(dir, { recursive: true, force: true, maxRetries: 0 });
      return;
    } catch (e) {
      const code = codeOf(e);
      if ((code === "ENOTEMPTY" || code === "EBUSY") && attempt < 20) {
        await new Promise((r) => setTimeout(r, 5 * (attempt + 1)));
        continue;
      }
      throw new HostError(`remove \`${dir}\``, code, { path: dir, syscall: "rm", cause: e });
    }
  }
}

/** Ends a container's monitor and waits until it is gone (it may still be writing below the directory). */
async function killMonitor(pid: number): Promise<void> {
  let comm = "";
  try {
    comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return;
  }
  // Only a monitor: the pid may have been reused by anything else.
  if (!comm.startsWith("warren-monitor")) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  for (let i = 0; i < 200; i++) {
    const info = processInfo(pid);
    if (!info || info.state === "Z" || info.state === "X") return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export type Recovery = "none" | "busy" | "removed" | "repaired";

/**
 * Whether the container directory `name` shows signs of an operation that
 * did not finish: an intent, no record, a snapshot marker, or processes in
 * the cgroup of a container the state does not call live. One readdir and,
 * for a container not running, one failed open on a healthy container.
 */
async function needsRecovery(runtime: ResolvedRuntime, store: StateStore, name: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await fsp.readdir(store.dir(name));
  } catch {
    return false; // gone
  }
  if (entries.includes("intent.json") || !entries.includes("container.json")) return true;
  if (entries.some((e) => PARTIAL.test(e) || PARTIAL_TMP.test(e))) return true;
  return orphanInit(runtime, store, name);
}

/**
 * Looks at the container directory `name` and finishes what a dead process
 * left there. `busy`: another live process is in the middle of it;
 * `removed`: it was a dead create or destroy and is gone now; `repaired`:
 * a dead snapshot or start was cleaned and the container is usable.
 */
export async function recoverContainer(runtime: ResolvedRuntime, name: string): Promise<Recovery> {
  const store = new StateStore(runtime.root);
  if (!(await needsRecovery(runtime, store, name))) return "none";
  const dir = store.dir(name);
  const intent = await readIntent(dir);
  if (intent && ownerAlive(intent.owner)) return "busy";

  return withLock(store.globalLock, () =>
    withLock(store.lockPath(name), async (): Promise<Recovery> => {
      const again = await readIntent(dir);
      if (again && ownerAlive(again.owner)) return "busy";
      const exists = await fsp.access(dir).then(() => true, () => false);
      if (!exists) return "removed";
      const record = await store.readRecord(name).catch(() => undefined);
      const state = await store.readState(name).catch(() => undefined);
      if (!record || again?.op === "destroy") {
        // A create that died (before or after its intent), or a destroy: either way, all of it goes.
        await removeContainerFiles(runtime, name, record, state?.monitor);
        return "removed";
      }
      // A create intent beside a record: the record is create's last write, so the create completed.
      if (again) await fsp.unlink(join(dir, "intent.json")).catch(() => undefined);
      let busy = false;
      for (const p of await partialSnapshots(dir)) {
        if (ownerAlive(p.info.owner)) {
          busy = true;
          continue;
        }
        if (p.info.froze) await thaw(runtime, name);
        const snap = join(dir, "snapshots", p.snapshot);
        // snapshot.json is written before the marker goes: then the snapshot is whole.
        if (!(await fsp.access(join(snap, "snapshot.json")).then(() => true, () => false))) {
          await deleteContainerSubvolumes(snap).catch(() => undefined);
          await fsp.rm(snap, { recursive: true, force: true });
        }
        await fsp.rm(p.marker, { force: true });
      }
      if (await orphanInit(runtime, store, name)) {
        await new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent).remove(name);
      }
      return busy ? "busy" : "repaired";
    }),
  );
}

async function partialSnapshots(dir: string): Promise<{ snapshot: string; marker: string; info: PartialSnapshot }[]> {
  const out: { snapshot: string; marker: string; info: PartialSnapshot }[] = [];
  for (const e of await fsp.readdir(dir).catch(() => [] as string[])) {
    // A marker's temporary file whose writer is gone (killed between its write and its link).
    const tmp = PARTIAL_TMP.exec(e);
    if (tmp && !processInfo(Number(tmp[1]))) await fsp.rm(join(dir, e), { force: true });
    const m = PARTIAL.exec(e);
    if (!m) continue;
    const marker = join(dir, e);
    try {
      out.push({ snapshot: m[1]!, marker, info: JSON.parse(await fsp.readFile(marker, "utf8")) as PartialSnapshot });
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

/**
 * A cgroup with processes for a container the state does not call live: a
 * start whose process died after the clone and before recording the init.
 * Checked again under the container's lock, which a start in progress holds.
 */
async function orphanInit(runtime: ResolvedRuntime, store: StateStore, name: string): Promise<boolean> {
  const state = await store.readState(name).catch(() => undefined);
  if (isLive(state?.status)) return false;
  const cg = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent).path(name);
  try {
    return readFileSync(join(cg, "cgroup.events"), "utf8").includes("populated 1");
  } catch {
    return false;
  }
}

async function thaw(runtime: ResolvedRuntime, name: string): Promise<void> {
  const cg = new CgroupTree(detectCgroupHost().mount, runtime.cgroupParent).path(name);
  await fsp.writeFile(join(cg, "cgroup.freeze"), "0").catch(() => undefined);
}
