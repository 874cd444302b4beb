/**
 * How an operation on a container's files reaches the container's root: an
 * fd of it, open for the one operation, with the id map that turns the ids
 * the container sees into the host's. ./files.ts resolves every path below it.
 *
 * The root:
 * - running: `/proc/<init>/root`, checked against the init's pidfd after it
 *   is opened, so a reused pid is never mistaken for the init;
 * - stopped: a detached mount made for the operation (in no mount table,
 *   gone when its fd closes, so nothing can be left mounted): the overlay of
 *   an image-based container (fsopen/fsmount), a copy of the directory
 *   rootfs (read-only where the container's is), the embedded default's
 *   skeleton with the host's `/usr` attached read-only. With a user namespace
 *   a user namespace with the container's id map is made for the operation:
 *   the image (or an idmapped directory) is idmapped through it, as at
 *   start, so host id = container id + the range's base everywhere, running
 *   or not; and the calls below the root are made as its root, as for a
 *   running container (./files-ops.ts), so a hostile rootfs's host-root
 *   files are as out of reach as they are inside. The container's lock is
 *   held meanwhile, so it cannot start half-way through.
 * @module
 */
import { closeSync, constants as fsc, openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import type { IdMap } from "../config/schema.js";
import { ConfigError, HostError, NotFoundError, StateError, WarrenError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";
import { idMapLine } from "../linux/ids.js";
import { encodePlan } from "../plan/encode.js";
import { CLONE, HOLD_USERNS } from "../plan/ops.js";
import type { ContainerHandle } from "./handle.js";
import { withLock } from "../linux/lock.js";
import { isLive } from "./state.js";

import { containerOps, hostOps, IN_ROOT, O_PATH, RESOLVE, type FileOps } from "./files-ops.js";


export { IN_ROOT, O_PATH, ONE, RESOLVE } from "./files-ops.js";
const { O_NOFOLLOW, O_DIRECTORY } = fsc;
const AT_FDCWD = -100;
const MOUNT_ATTR_RDONLY = 0x1;
/** What the kernel shows for an id the user namespace does not map (/proc/sys/kernel/overflowuid). */
const OVERFLOW_ID = 65534;

/** The container's root, open for one operation. */
export interface Root {
  fd: number;
  running: boolean;
  /** Changes would be lost or are refused (a stopped overlay-mode container). */
  readonlyWhy?: string;
  map: IdMap | null;
  /** The calls below the root, with the credentials they must have (./files-ops.ts). */
  ops: FileOps;
  /** The user namespace made for a stopped container's operation (closed with the root). */
  userns?: number;
}

/** One operation on one path of one container: what its errors name. */
export interface Ctx {
  c: ContainerHandle;
  op: string;
  path: string;
}

// ---- errors ---------------------------------------------------------------

export function fail(x: Ctx, step: string, e: unknown): never {
  if (e instanceof WarrenError) throw e;
  const errno = codeOf(e);
  const msg = `container "${x.c.name}": ${x.op} \`${x.path}\`: ${step}`;
  if (errno === "ENOENT") throw new NotFoundError(`${msg}: ENOENT`, { container: x.c.name });
  throw new HostError(msg, errno, { container: x.c.name, path: x.path, syscall: (e as { syscall?: string }).syscall ?? step, cause: e });
}

export function step<T>(x: Ctx, name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    fail(x, name, e);
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

// ---- ids ------------------------------------------------------------------

export function checkId(x: Ctx, field: string, id: number | undefined, map: IdMap | null): void {
  if (id === undefined) return;
  const max = map ? map.size - 1 : 0xfffffffe;
  if (!Number.isInteger(id) || id < 0 || id > max) {
    throw new ConfigError([{ path: field, message: `${id} is not an id of the container (0-${max})` }], { container: x.c.name });
  }
}


export function containerId(map: IdMap | null, id: number, kind: "uid" | "gid"): number {
  if (!map) return id;
  const base = kind === "uid" ? map.hostUid : map.hostGid;
  return id >= base && id < base + map.size ? id - base : OVERFLOW_ID;
}

// ---- the root -------------------------------------------------------------

/** `/proc/<init>/root`, or null when the init is gone (the pidfd says whether the pid is still ours). */
function openRunningRoot(x: Ctx, pid: number, pidfd: number): number | null {
  let fd: number;
  try {
    fd = native().filesOpenat2(AT_FDCWD, `/proc/${pid}/root`, O_PATH | O_DIRECTORY, 0, 0);
  } catch (e) {
    if (["ENOENT", "ESRCH", "EACCES"].includes(codeOf(e))) return null;
    fail(x, "open the root", e);
  }
  try {
    native().pidfdSendSignal(pidfd, 0);
  } catch {
    closeQuietly(fd);
    return null;
  }
  return fd;
}

/** A user namespace with the container's id map (a paused child's, which then exits): an fd of it. */
async function mappedUserns(x: Ctx, map: IdMap): Promise<number> {
  const paused = await native().spawn(encodePlan(HOLD_USERNS), {
    cloneFlags: CLONE.NEWUSER,
    uidMap: idMapLine(map, "uid"),
    gidMap: idMapLine(map, "gid"),
    pause: true,
  });
  if ("error" in paused) fail(x, "create a user namespace with the container's id map", { errno: paused.error.errno, syscall: "clone3" });
  try {
    return step(x, "open the user namespace", () => openSync(`/proc/${paused.pid}/ns/user`, "r"));
  } finally {
    await native().resume(paused.paused, false);
  }
}

/** A detached copy of `path` (recursive), idmapped through `userns` and/or read-only. */
function detachedTree(x: Ctx, path: string, opts: { userns?: number; readonly?: boolean }): number {
  const fd = step(x, `take \`${path}\``, () => native().openTree(path, true));
  try {
    if (opts.userns !== undefined) step(x, `idmap \`${path}\``, () => native().idmapTree(fd, opts.userns!, true));
    if (opts.readonly) step(x, `make \`${path}\` read-only`, () => native().filesMountSetattr(fd, MOUNT_ATTR_RDONLY, 0, true));
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * The stopped container's root, and the calls to make below it: as the root
 * of a user namespace with its id map when it has one, else as host root
 * (which its root is).
 */
async function openStoppedRoot(x: Ctx): Promise<Root> {
  const map = x.c.idmap;
  if (!map) return { ...stoppedRootFd(x, undefined), running: false, map, ops: hostOps() };
  const userns = await mappedUserns(x, map);
  try {
    return { ...stoppedRootFd(x, userns), running: false, map, ops: containerOps(userns), userns };
  } catch (e) {
    closeSync(userns);
    throw e;
  }
}

/** The stopped container's root as a detached mount (or the plain directory) only this operation holds. */
function stoppedRootFd(x: Ctx, userns: number | undefined): { fd: number; readonlyWhy?: string } {
  const r = x.c.record.rootfs;
  if (r.kind === "image" && r.storage === "btrfs") {
    // The container's own subvolume, stored with the ids the container sees
    // and idmapped at start when it has a user namespace: the same here.
    if (userns === undefined) return { fd: step(x, "open the root", () => native().filesOpenat2(AT_FDCWD, r.lower, O_PATH | O_DIRECTORY, 0, 0)) };
    return { fd: detachedTree(x, r.lower, { userns }) };
  }
  if (r.kind === "image") {
    const mount = (lower: string | number) =>
      step(x, "mount the container's overlay", () => native().filesMountOverlay(lower, r.upper, r.work, userns !== undefined));
    // Without a user namespace, or with a copy of the image already shifted
    // to the container's range, the lower layer is used as it is.
    if (userns === undefined || r.shifted) return { fd: mount(r.lower) };
    const lower = detachedTree(x, r.lower, { userns });
    try {
      return { fd: mount(lower) };
    } finally {
      closeSync(lower);
    }
  }
  if (r.kind === "embedded") {
    const fd = detachedTree(x, r.path, {});
    try {
      // The host directories the container gets read-only (/usr …), where
      // the kernel lets a detached tree be built (Linux 6.15); elsewhere the
      // stopped view is the skeleton alone.
      for (const dir of r.binds) {
        let target = -1;
        let tree = -1;
        try {
          target = native().filesOpenat2(fd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, IN_ROOT | RESOLVE.NO_SYMLINKS);
          tree = detachedTree(x, dir, { readonly: true });
          native().filesAttachMount(tree, target);
        } catch (e) {
          if (e instanceof WarrenError) throw e;
          if (!["EINVAL", "ENOENT", "ELOOP", "ENOTDIR"].includes(codeOf(e))) fail(x, `attach \`${dir}\``, e);
        } finally {
          if (tree >= 0) closeSync(tree);
          if (target >= 0) closeSync(target);
        }
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return { fd };
  }
  if (r.mode === "overlay") {
    // Its changes live in a tmpfs that went with the last run: stopped, it
    // is its lower directory, which must not be changed behind its back.
    return {
      fd: detachedTree(x, r.path, { readonly: true }),
      readonlyWhy: `a container in overlay mode keeps changes only while it runs (stopped, its root is the read-only \`${r.path}\`)`,
    };
  }
  if (r.idmap && userns !== undefined) return { fd: detachedTree(x, r.path, { userns, readonly: r.mode === "ro" }) };
  if (r.mode === "ro") return { fd: detachedTree(x, r.path, { readonly: true }) };
  return { fd: step(x, "open the root", () => native().filesOpenat2(AT_FDCWD, r.path, O_PATH | O_DIRECTORY, 0, 0)) };
}

/**
 * Runs `f` with the container's root open: the running init's, or, under the
 * container's lock so it cannot start meanwhile, the stopped one's. The root
 * (and any mount made for it) is released afterwards, whatever happens; fds
 * `f` opened below it keep what they need alive by themselves.
 */
export async function withRoot<T>(x: Ctx, f: (root: Root) => Promise<T>): Promise<T> {
  x.c.assertNotDestroyed(x.op);
  for (let attempt = 0; attempt < 50; attempt++) {
    await x.c.refresh();
    x.c.assertNotDestroyed(x.op);
    const run = x.c.run;
    if (run) {
      const fd = openRunningRoot(x, run.pid, run.pidfd);
      if (fd !== null) {
        // The operation's own pidfd: the handle's is closed when the init
        // ends, and its number may then name another container's init.
        let pidfd = -1;
        try {
          // With a user namespace, as the container's root: it controls
          // this mount table.
          if (x.c.idmap) {
            try {
              pidfd = native().dupParked(run.pidfd);
            } catch (e) {
              throw new HostError(`container "${x.c.name}": ${x.op} \`${x.path}\`: duplicate the init's pidfd`, codeOf(e), { container: x.c.name, syscall: "fcntl" });
            }
          }
          const ops = x.c.idmap ? containerOps(pidfd) : hostOps();
          return await f({ fd, running: true, map: x.c.idmap, ops });
        } finally {
          closeQuietly(fd);
          if (pidfd >= 0) closeQuietly(pidfd);
        }
      }
    }
    const done = await withLock(x.c.store.lockPath(x.c.name), async () => {
      const disk = await x.c.store.readState(x.c.name);
      if (isLive(disk?.status)) return null; // started meanwhile, or its end is not recorded yet
      const root = await openStoppedRoot(x);
      try {
        return { value: await f(root) };
      } finally {
        closeQuietly(root.fd);
        if (root.userns !== undefined) closeQuietly(root.userns);
      }
    }).catch(async (e) => {
      await x.c.refresh(); // destroyed meanwhile: say so rather than how the lock failed
      x.c.assertNotDestroyed(x.op);
      throw e;
    });
    if (done) return done.value;
    await sleep(Math.min(2 ** attempt, 20));
  }
  throw new StateError(`container "${x.c.name}": ${x.op} \`${x.path}\`: the container keeps changing state`, x.op, x.c.status, { container: x.c.name });
}

export function assertWritable(x: Ctx, root: Root): void {
  if (root.readonlyWhy) throw new StateError(`container "${x.c.name}": ${x.op} \`${x.path}\`: ${root.readonlyWhy}`, x.op, x.c.status, { container: x.c.name });
}
