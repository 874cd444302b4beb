/**
 * Files in and out of a container, running or stopped, in the container's
 * own view: paths, symlinks and owners as a process inside would see them.
 *
 * Every path is resolved by the kernel inside the container's root
 * (`openat2` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`), relative to an
 * fd of that root: a symlink such as `/x -> /`, `/etc -> /host/etc` or
 * `../../../../etc/shadow` resolves to the container's `/`, never the host's.
 * Creation and removal happen relative to a parent opened that way, the
 * last component is never followed when writing (`O_NOFOLLOW`), and files
 * are opened `O_PATH` first and checked to be regular files before they are
 * opened for real (so a device node or a fifo is never opened).
 *
 * The root:
 * - running: `/proc/<init>/root`, checked against the init's pidfd after it
 *   is opened, so a reused pid is never mistaken for the init;
 * - stopped: a detached mount made for the operation (in no mount table,
 *   gone when its fd closes, so nothing can be left mounted): the overlay of
 *   an image-based container (fsopen/fsmount), a copy of the directory
 *   rootfs (read-only where the container's is), the embedded default's
 *   skeleton with the host's `/usr` attached read-only. With a user namespace
 *   the image (or an idmapped directory) is idmapped through a user namespace
 *   with the container's id map, as at start, so host id = container id +
 *   the range's base everywhere, running or not. The container's lock is
 *   held meanwhile, so it cannot start half-way through.
 *
 * Operations run with the host's root privileges inside the container's
 * view (its bind mounts included): permission bits do not stop them.
 * @module
 */
import { chmodSync, closeSync, constants as fsc, createReadStream, createWriteStream, fchmodSync, fchownSync, fstatSync, openSync, promises as fsp, type Stats } from "node:fs";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";

import type { IdMap } from "../config/schema.js";
import { codeOf, ConfigError, errnoName, HostError, NotFoundError, StateError, WarrenError } from "../errors.js";
import { native } from "../native/binding.js";
import { idMapLine } from "../plan/build-plan.js";
import { encodePlan } from "../plan/encode.js";
import { CLONE } from "../plan/ops.js";
import type { Container } from "./container.js";
import { withLock } from "./lock.js";
import { isLive } from "./state.js";

const O_PATH = 0o10000000; // the same on every Linux architecture; Node has no constant for it
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_DIRECTORY, O_NOCTTY } = fsc;
const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 };
/** A path as a process in the container resolves it, with no way out of its root. */
const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
/** One component below a safely opened directory, never a symlink. */
const ONE = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS;
const AT_FDCWD = -100;
const MOUNT_ATTR_RDONLY = 0x1;
/** What the kernel shows for an id the user namespace does not map (/proc/sys/kernel/overflowuid). */
const OVERFLOW_ID = 65534;

export type FileType = "file" | "directory" | "symlink" | "char-device" | "block-device" | "fifo" | "socket";

/** A file as the container sees it. */
export interface FileStat {
  type: FileType;
  size: number;
  /** Permission bits, with setuid, setgid and sticky (`0o4755`). */
  mode: number;
  /** Owner inside the container (65534 for a host id its user namespace does not map). */
  uid: number;
  gid: number;
  mtime: Date;
  /** A symlink's target, as written. */
  target?: string;
}

export interface DirEntry extends FileStat {
  name: string;
}

export interface PushOptions {
  /** Permission bits (default 0o644 for a new file; an existing file keeps its own unless given). */
  mode?: number;
  /** Owner inside the container (default root for a new file; an existing file keeps its own unless given). */
  uid?: number;
  gid?: number;
  /** Create missing parent directories (owned by the container's root, 0755). */
  mkdirs?: boolean;
}

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  /** The groups a login gets (initgroups(3)): the primary group, then every group of /etc/group listing the user. */
  groups: number[];
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupInfo {
  name: string;
  gid: number;
  members: string[];
}

/** The container's root, open for one operation. */
interface Root {
  fd: number;
  running: boolean;
  /** Changes would be lost or are refused (a stopped overlay-mode container). */
  readonlyWhy?: string;
  map: IdMap | null;
}

interface Ctx {
  c: Container;
  op: string;
  path: string;
}

// ---- errors ---------------------------------------------------------------

function fail(x: Ctx, step: string, e: unknown): never {
  if (e instanceof WarrenError) throw e;
  const n = (e as { errno?: number }).errno;
  const errno = typeof n === "number" && n > 0 ? errnoName(n) : codeOf(e);
  const msg = `container "${x.c.name}": ${x.op} \`${x.path}\`: ${step}`;
  if (errno === "ENOENT") throw new NotFoundError(`${msg}: ENOENT`, { container: x.c.name });
  throw new HostError(msg, errno, { container: x.c.name, path: x.path, syscall: (e as { syscall?: string }).syscall ?? step, cause: e });
}

function errnoOf(e: unknown): string {
  const n = (e as { errno?: number }).errno;
  return typeof n === "number" && n > 0 ? errnoName(n) : codeOf(e);
}

function step<T>(x: Ctx, name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    fail(x, name, e);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** An absolute container path, normalized (`..` cannot climb above `/` anyway: the kernel clamps it). */
function normalize(x: Ctx): { norm: string; parent: string; base: string } {
  const p = x.path;
  if (typeof p !== "string" || !p.startsWith("/") || p.includes("\0")) {
    throw new ConfigError([{ path: "path", message: `${JSON.stringify(p)} is not an absolute path` }], { container: x.c.name });
  }
  const norm = posix.normalize(p).replace(/(.)\/+$/, "$1");
  return { norm, parent: posix.dirname(norm), base: norm === "/" ? "" : posix.basename(norm) };
}

// ---- ids ------------------------------------------------------------------

function checkId(x: Ctx, field: string, id: number | undefined, map: IdMap | null): void {
  if (id === undefined) return;
  const max = map ? map.size - 1 : 0xfffffffe;
  if (!Number.isInteger(id) || id < 0 || id > max) {
    throw new ConfigError([{ path: field, message: `${id} is not an id of the container (0-${max})` }], { container: x.c.name });
  }
}

const hostId = (map: IdMap | null, id: number, kind: "uid" | "gid") => (map ? (kind === "uid" ? map.hostUid : map.hostGid) + id : id);

function containerId(map: IdMap | null, id: number, kind: "uid" | "gid"): number {
  if (!map) return id;
  const base = kind === "uid" ? map.hostUid : map.hostGid;
  return id >= base && id < base + map.size ? id - base : OVERFLOW_ID;
}

function typeOf(st: Stats): FileType {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char-device";
  if (st.isBlockDevice()) return "block-device";
  if (st.isFIFO()) return "fifo";
  return "socket";
}

/** fstat of an O_PATH fd (of a symlink itself when opened O_NOFOLLOW), in the container's view. */
function statFd(x: Ctx, root: Root, fd: number): FileStat {
  const st = step(x, "stat", () => fstatSync(fd));
  const out: FileStat = {
    type: typeOf(st),
    size: st.size,
    mode: st.mode & 0o7777,
    uid: containerId(root.map, st.uid, "uid"),
    gid: containerId(root.map, st.gid, "gid"),
    mtime: st.mtime,
  };
  if (out.type === "symlink") out.target = step(x, "readlink", () => native().filesReadlinkat(fd, ""));
  return out;
}

// ---- the root -------------------------------------------------------------

/** `/proc/<init>/root`, or null when the init is gone (the pidfd says whether the pid is still ours). */
function openRunningRoot(x: Ctx, pid: number, pidfd: number): number | null {
  let fd: number;
  try {
    fd = native().filesOpenat2(AT_FDCWD, `/proc/${pid}/root`, O_PATH | O_DIRECTORY, 0, 0);
  } catch (e) {
    if (["ENOENT", "ESRCH", "EACCES"].includes(errnoOf(e))) return null;
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

/** A user namespace with the container's id map (a paused child's, which then exits), for idmapped mounts. */
async function withUserns<T>(x: Ctx, map: IdMap, f: (usernsFd: number) => T): Promise<T> {
  const paused = await native().spawn(encodePlan([]), {
    cloneFlags: CLONE.NEWUSER,
    uidMap: idMapLine(map, "uid"),
    gidMap: idMapLine(map, "gid"),
    pause: true,
  });
  if ("error" in paused) fail(x, "create a user namespace with the container's id map", { errno: paused.error.errno, syscall: "clone3" });
  let fd = -1;
  try {
    fd = step(x, "open the user namespace", () => openSync(`/proc/${paused.pid}/ns/user`, "r"));
  } finally {
    await native().resume(paused.paused, false);
  }
  try {
    return f(fd);
  } finally {
    closeSync(fd);
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

/** The stopped container's root, as a detached mount (or the plain directory) only this operation holds. */
async function openStoppedRoot(x: Ctx): Promise<Root> {
  const c = x.c;
  const r = c._record.rootfs;
  const map = c.idmap;
  if (r.kind === "image" && r.storage === "btrfs") {
    // The container's own subvolume, stored with the ids the container sees
    // and idmapped at start when it has a user namespace: the same here.
    if (!map) return { fd: step(x, "open the root", () => native().filesOpenat2(AT_FDCWD, r.lower, O_PATH | O_DIRECTORY, 0, 0)), running: false, map };
    const fd = await withUserns(x, map, (userns) => detachedTree(x, r.lower, { userns }));
    return { fd, running: false, map };
  }
  if (r.kind === "image") {
    const mount = (lower: string | number) =>
      step(x, "mount the container's overlay", () => native().filesMountOverlay(lower, r.upper, r.work, map !== null));
    // Without a user namespace, or with a copy of the image already shifted
    // to the container's range, the lower layer is used as it is.
    if (!map || r.shifted) return { fd: mount(r.lower), running: false, map };
    const fd = await withUserns(x, map, (userns) => {
      const lower = detachedTree(x, r.lower, { userns });
      try {
        return mount(lower);
      } finally {
        closeSync(lower);
      }
    });
    return { fd, running: false, map };
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
          if (!["EINVAL", "ENOENT", "ELOOP", "ENOTDIR"].includes(errnoOf(e))) fail(x, `attach \`${dir}\``, e);
        } finally {
          if (tree >= 0) closeSync(tree);
          if (target >= 0) closeSync(target);
        }
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return { fd, running: false, map };
  }
  if (r.mode === "overlay") {
    // Its changes live in a tmpfs that went with the last run: stopped, it
    // is its lower directory, which must not be changed behind its back.
    return {
      fd: detachedTree(x, r.path, { readonly: true }),
      running: false,
      map,
      readonlyWhy: `a container in overlay mode keeps changes only while it runs (stopped, its root is the read-only \`${r.path}\`)`,
    };
  }
  if (r.idmap && map) {
    const fd = await withUserns(x, map, (userns) => detachedTree(x, r.path, { userns, readonly: r.mode === "ro" }));
    return { fd, running: false, map };
  }
  if (r.mode === "ro") return { fd: detachedTree(x, r.path, { readonly: true }), running: false, map };
  return { fd: step(x, "open the root", () => native().filesOpenat2(AT_FDCWD, r.path, O_PATH | O_DIRECTORY, 0, 0)), running: false, map };
}

/**
 * Runs `f` with the container's root open: the running init's, or, under the
 * container's lock so it cannot start meanwhile, the stopped one's. The root
 * (and any mount made for it) is released afterwards, whatever happens; fds
 * `f` opened below it keep what they need alive by themselves.
 */
async function withRoot<T>(x: Ctx, f: (root: Root) => Promise<T>): Promise<T> {
  x.c.assertNotDestroyed(x.op);
  for (let attempt = 0; attempt < 50; attempt++) {
    await x.c.refresh();
    x.c.assertNotDestroyed(x.op);
    const run = x.c._run;
    if (run) {
      const fd = openRunningRoot(x, run.pid, run.pidfd);
      if (fd !== null) {
        try {
          return await f({ fd, running: true, map: x.c.idmap });
        } finally {
          closeQuietly(fd);
        }
      }
    }
    const done = await withLock(x.c._store.lockPath(x.c.name), async () => {
      const disk = await x.c._store.readState(x.c.name);
      if (isLive(disk?.status)) return null; // started meanwhile, or its end is not recorded yet
      const root = await openStoppedRoot(x);
      try {
        return { value: await f(root) };
      } finally {
        closeQuietly(root.fd);
      }
    }).catch(async (e) => {
      await x.c.refresh(); // destroyed meanwhile: say so rather than how the lock failed
      x.c.assertNotDestroyed(x.op);
      throw e;
    });
    if (done) return done.value;
    await sleep(Math.min(2 ** attempt, 20));
  }
  throw new StateError(`container "${x.c.name}": ${x.op} \`${x.path}\`: the container keeps changing state`, x.op, x.c.state, { container: x.c.name });
}

function assertWritable(x: Ctx, root: Root): void {
  if (root.readonlyWhy) throw new StateError(`container "${x.c.name}": ${x.op} \`${x.path}\`: ${root.readonlyWhy}`, x.op, x.c.state, { container: x.c.name });
}

// ---- path helpers ---------------------------------------------------------

function openDir(x: Ctx, root: Root, path: string): number {
  return step(x, "open", () => native().filesOpenat2(root.fd, path, O_PATH | O_DIRECTORY, 0, IN_ROOT));
}

/** The parent directory, created (owned by the container's root, 0755) one component at a time with `mkdirs`. */
function openParent(x: Ctx, root: Root, parent: string, mkdirs: boolean): number {
  try {
    return native().filesOpenat2(root.fd, parent, O_PATH | O_DIRECTORY, 0, IN_ROOT);
  } catch (e) {
    if (!mkdirs || errnoOf(e) !== "ENOENT") fail(x, "open", e);
  }
  const parts = parent.split("/").filter(Boolean);
  let cur = openDir(x, root, "/");
  try {
    for (let i = 0; i < parts.length; i++) {
      let next: number;
      try {
        next = native().filesOpenat2(root.fd, "/" + parts.slice(0, i + 1).join("/"), O_PATH | O_DIRECTORY, 0, IN_ROOT);
      } catch (e) {
        if (errnoOf(e) !== "ENOENT") fail(x, "open", e);
        try {
          native().filesMkdirat(cur, parts[i]!, 0o755, hostId(root.map, 0, "uid"), hostId(root.map, 0, "gid"));
        } catch (e2) {
          if (errnoOf(e2) !== "EEXIST") fail(x, "mkdir", e2);
        }
        next = step(x, "open", () => native().filesOpenat2(cur, parts[i]!, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, ONE));
        step(x, "chmod", () => chmodFd(next, 0o755)); // exactly 0755, whatever the umask
      }
      closeSync(cur);
      cur = next;
    }
    return cur;
  } catch (e) {
    closeQuietly(cur);
    throw e;
  }
}

/** chmod of an O_PATH fd (fchmod refuses those) through its /proc/self/fd link, which names that inode. */
function chmodFd(fd: number, mode: number): void {
  chmodSync(`/proc/self/fd/${fd}`, mode);
}

/** Reopens an O_PATH fd of a regular file for reading or writing (never a device, fifo or symlink). */
function reopenRegular(x: Ctx, root: Root, pathFd: number, flags: number): number {
  const st = statFd(x, root, pathFd);
  if (st.type === "symlink") fail(x, "open", { errno: 40 /* ELOOP */, syscall: "openat2" });
  if (st.type === "directory") fail(x, "open", { errno: 21 /* EISDIR */, syscall: "openat2" });
  if (st.type !== "file") {
    throw new HostError(`container "${x.c.name}": ${x.op} \`${x.path}\`: open: not a regular file (${st.type})`, "EINVAL", { container: x.c.name, path: x.path });
  }
  return step(x, "open", () => openSync(`/proc/self/fd/${pathFd}`, flags | O_NOCTTY));
}

// ---- operations -----------------------------------------------------------

/**
 * Copies a host file, a Buffer or a stream into the container, streamed (a
 * large file is never held in memory). A new file is owned by the
 * container's root with mode 0644 unless told otherwise; an existing one is
 * truncated and rewritten in place. The last component must not be a
 * symlink (ELOOP). Refused on a read-only rootfs (EROFS).
 *
 * @example
 * ```ts
 * await pushFile(c, "/srv/site/index.html", "/var/www/index.html", { uid: 33, gid: 33, mkdirs: true });
 * await pushFile(c, Buffer.from("hello\n"), "/etc/motd");
 * ```
 */
export async function pushFile(c: Container, source: string | Buffer | Readable, containerPath: string, options: PushOptions = {}): Promise<void> {
  const x: Ctx = { c, op: "pushFile", path: containerPath };
  const { parent, base } = normalize(x);
  if (!base) fail(x, "open", { errno: 21, syscall: "openat2" });
  if (options.mode !== undefined && (!Number.isInteger(options.mode) || options.mode < 0 || options.mode > 0o7777)) {
    throw new ConfigError([{ path: "mode", message: `${options.mode} is not a file mode` }], { container: c.name });
  }
  checkId(x, "uid", options.uid, c.idmap);
  checkId(x, "gid", options.gid, c.idmap);
  let input: Readable;
  if (typeof source === "string") {
    // Opened before anything is created, so a missing source changes nothing.
    const fd = await fsp.open(source, "r").catch((e) => {
      throw new HostError(`container "${c.name}": ${x.op} \`${containerPath}\`: open the source \`${source}\``, codeOf(e), { container: c.name, path: source, syscall: "open" });
    });
    input = fd.createReadStream();
  } else input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  try {
    await withRoot(x, async (root) => {
      assertWritable(x, root);
      const dir = openParent(x, root, parent, options.mkdirs === true);
      try {
        const owner = { uid: hostId(root.map, options.uid ?? 0, "uid"), gid: hostId(root.map, options.gid ?? 0, "gid") };
        let fd: number;
        let created = false;
        try {
          fd = native().filesOpenat2(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600, ONE, owner.uid, owner.gid);
          created = true;
        } catch (e) {
          if (errnoOf(e) !== "EEXIST") fail(x, "open", e);
          const p = step(x, "open", () => native().filesOpenat2(dir, base, O_PATH | O_NOFOLLOW, 0, ONE));
          try {
            fd = reopenRegular(x, root, p, O_WRONLY | O_TRUNC);
          } finally {
            closeSync(p);
          }
        }
        try {
          await pipeline(input, createWriteStream("", { fd, autoClose: false })).catch((e) => fail(x, "write", e));
          // Owner, then mode: chown clears setuid and setgid bits.
          if (created || options.uid !== undefined || options.gid !== undefined) {
            const st = fstatSync(fd);
            step(x, "chown", () => fchownSync(fd, options.uid !== undefined || created ? owner.uid : st.uid, options.gid !== undefined || created ? owner.gid : st.gid));
          }
          if (created || options.mode !== undefined) step(x, "chmod", () => fchmodSync(fd, options.mode ?? 0o644));
        } catch (e) {
          if (created) {
            try {
              native().filesUnlinkat(dir, base, false);
            } catch {
              /* leave it: the error below says what happened */
            }
          }
          throw e;
        } finally {
          closeSync(fd);
        }
      } finally {
        closeSync(dir);
      }
    });
  } finally {
    input.destroy();
  }
}

/** Opens a regular file of the container for reading, following symlinks inside its root. */
async function openForRead(x: Ctx): Promise<{ fd: number; stat: FileStat }> {
  const { norm } = normalize(x);
  return withRoot(x, async (root) => {
    const p = step(x, "open", () => native().filesOpenat2(root.fd, norm, O_PATH, 0, IN_ROOT));
    try {
      const stat = statFd(x, root, p);
      return { fd: reopenRegular(x, root, p, O_RDONLY), stat };
    } finally {
      closeSync(p);
    }
  });
}

/**
 * A stream of a file of the container. The file stays open (and a stopped
 * container's root with it) until the stream ends or is destroyed.
 */
export async function openReadStream(c: Container, containerPath: string): Promise<Readable> {
  const { fd } = await openForRead({ c, op: "openReadStream", path: containerPath });
  return createReadStream("", { fd, autoClose: true });
}

/**
 * A file of the container: its contents, or, given a host path, written
 * there (streamed; created with the file's permission bits).
 *
 * @example
 * ```ts
 * const conf = await pullFile(c, "/etc/nginx/nginx.conf");   // Buffer
 * await pullFile(c, "/var/log/syslog", "/tmp/web-syslog");    // to a host file
 * ```
 */
export async function pullFile(c: Container, containerPath: string): Promise<Buffer>;
export async function pullFile(c: Container, containerPath: string, hostPath: string): Promise<void>;
export async function pullFile(c: Container, containerPath: string, hostPath?: string): Promise<Buffer | void> {
  const x: Ctx = { c, op: "pullFile", path: containerPath };
  const { fd, stat } = await openForRead(x);
  const stream = createReadStream("", { fd, autoClose: true });
  if (hostPath === undefined) {
    const chunks: Buffer[] = [];
    try {
      for await (const b of stream) chunks.push(b as Buffer);
    } catch (e) {
      fail(x, "read", e);
    }
    return Buffer.concat(chunks);
  }
  await pipeline(stream, createWriteStream(hostPath, { mode: stat.mode & 0o777 })).catch((e) => {
    if ((e as { path?: string }).path === hostPath) {
      throw new HostError(`container "${c.name}": ${x.op} \`${containerPath}\`: write \`${hostPath}\``, codeOf(e), { container: c.name, path: hostPath, cause: e });
    }
    fail(x, "read", e);
  });
}

/** A file of the container as UTF-8 text. */
export async function readFileText(c: Container, containerPath: string): Promise<string> {
  return (await pullFile(c, containerPath)).toString("utf8");
}

/**
 * What is at a path: the last component is not followed unless `follow`
 * (then a symlink's target is described).
 */
export async function stat(c: Container, containerPath: string, options: { follow?: boolean } = {}): Promise<FileStat> {
  const x: Ctx = { c, op: "stat", path: containerPath };
  const { norm, parent, base } = normalize(x);
  return withRoot(x, async (root) => {
    let fd: number;
    if (options.follow || !base) fd = step(x, "open", () => native().filesOpenat2(root.fd, norm, O_PATH, 0, IN_ROOT));
    else {
      const dir = openDir(x, root, parent);
      try {
        fd = step(x, "open", () => native().filesOpenat2(dir, base, O_PATH | O_NOFOLLOW, 0, ONE));
      } finally {
        closeSync(dir);
      }
    }
    try {
      return statFd(x, root, fd);
    } finally {
      closeSync(fd);
    }
  });
}

/** The entries of a directory (symlinks described, not followed), sorted by name. */
export async function readdir(c: Container, containerPath: string): Promise<DirEntry[]> {
  const x: Ctx = { c, op: "readdir", path: containerPath };
  const { norm } = normalize(x);
  return withRoot(x, async (root) => {
    const dir = step(x, "open", () => native().filesOpenat2(root.fd, norm, O_RDONLY | O_DIRECTORY, 0, IN_ROOT));
    try {
      // /proc/self/fd/N names exactly the directory opened above.
      const names = await fsp.readdir(`/proc/self/fd/${dir}`).catch((e) => fail(x, "readdir", e));
      const out: DirEntry[] = [];
      for (const name of names.sort()) {
        let fd: number;
        try {
          fd = native().filesOpenat2(dir, name, O_PATH | O_NOFOLLOW, 0, ONE);
        } catch (e) {
          if (errnoOf(e) === "ENOENT") continue; // removed meanwhile
          fail(x, "open", e);
        }
        try {
          out.push({ name, ...statFd(x, root, fd) });
        } finally {
          closeSync(fd);
        }
      }
      return out;
    } finally {
      closeSync(dir);
    }
  });
}

/**
 * Creates a directory (owned by the container's root, 0755 unless told
 * otherwise); `recursive` creates missing parents too and accepts an
 * existing directory.
 */
export async function mkdir(c: Container, containerPath: string, options: { mode?: number; uid?: number; gid?: number; recursive?: boolean } = {}): Promise<void> {
  const x: Ctx = { c, op: "mkdir", path: containerPath };
  const { parent, base } = normalize(x);
  checkId(x, "uid", options.uid, c.idmap);
  checkId(x, "gid", options.gid, c.idmap);
  await withRoot(x, async (root) => {
    assertWritable(x, root);
    if (!base) return;
    const dir = openParent(x, root, parent, options.recursive === true);
    try {
      try {
        native().filesMkdirat(dir, base, 0o700, hostId(root.map, options.uid ?? 0, "uid"), hostId(root.map, options.gid ?? 0, "gid"));
      } catch (e) {
        if (errnoOf(e) === "EEXIST" && options.recursive) {
          const p = step(x, "open", () => native().filesOpenat2(dir, base, O_PATH | O_NOFOLLOW, 0, ONE));
          try {
            if (statFd(x, root, p).type === "directory") return;
          } finally {
            closeSync(p);
          }
        }
        fail(x, "mkdir", e);
      }
      const fd = step(x, "open", () => native().filesOpenat2(dir, base, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, ONE));
      try {
        step(x, "chmod", () => chmodFd(fd, options.mode ?? 0o755));
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(dir);
    }
  });
}

/**
 * Removes a file, a symlink (never what it points to) or an empty
 * directory; `recursive` removes a directory with its contents, without
 * following symlinks or crossing into other mounts (EXDEV). `force`: no
 * error when it does not exist.
 */
export async function rm(c: Container, containerPath: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
  const x: Ctx = { c, op: "rm", path: containerPath };
  const { parent, base } = normalize(x);
  if (!base) throw new ConfigError([{ path: "path", message: "refusing to remove the container's root" }], { container: c.name });
  try {
    await withRoot(x, async (root) => {
      assertWritable(x, root);
      const dir = openDir(x, root, parent);
      try {
        await removeAt(x, dir, base, options.recursive === true);
      } finally {
        closeSync(dir);
      }
    });
  } catch (e) {
    if (options.force && e instanceof NotFoundError) return;
    throw e;
  }
}

/** unlinkat, and for a directory (EISDIR) its contents first, each level opened below the last without following anything. */
async function removeAt(x: Ctx, dir: number, name: string, recursive: boolean): Promise<void> {
  try {
    native().filesUnlinkat(dir, name, false);
    return;
  } catch (e) {
    if (errnoOf(e) !== "EISDIR") fail(x, "unlink", e);
  }
  if (recursive) {
    const sub = step(x, "open", () => native().filesOpenat2(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ONE | RESOLVE.NO_XDEV));
    try {
      const names = await fsp.readdir(`/proc/self/fd/${sub}`).catch((e) => fail(x, "readdir", e));
      for (const n of names) await removeAt(x, sub, n, true);
    } finally {
      closeSync(sub);
    }
  }
  step(x, "rmdir", () => native().filesUnlinkat(dir, name, true));
}

// ---- users and groups -----------------------------------------------------

function parseDb(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

const isId = (v: string | number) => typeof v === "number" || /^\d+$/.test(v);

/**
 * A user of the container's /etc/passwd, by name or id (the first entry that
 * matches), with its supplementary groups from /etc/group: what
 * `exec(argv, {user: {uid, gid, groups}})` needs for `--user www-data`.
 * Rejects with NotFoundError when there is none.
 *
 * @example
 * ```ts
 * const u = await lookupUser(c, "www-data");
 * await c.exec(["php-fpm"], { user: { uid: u.uid, gid: u.gid, groups: u.groups }, cwd: u.home });
 * ```
 */
export async function lookupUser(c: Container, nameOrId: string | number): Promise<UserInfo> {
  const passwd = parseDb(await readFileText(c, "/etc/passwd"));
  const byId = isId(nameOrId);
  const e = passwd.find((f) => f.length >= 4 && (byId ? f[2] === String(Number(nameOrId)) : f[0] === nameOrId));
  if (!e) throw new NotFoundError(`container "${c.name}": no user ${JSON.stringify(String(nameOrId))} in /etc/passwd`, { container: c.name });
  const name = e[0]!;
  const gid = Number(e[3]);
  const groupText = await readFileText(c, "/etc/group").catch((err) => {
    if (err instanceof NotFoundError) return "";
    throw err;
  });
  const groups = parseDb(groupText)
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!) && f[3]!.split(",").includes(name))
    .map((f) => Number(f[2]));
  groups.unshift(gid);
  return { name, uid: Number(e[2]), gid, groups: [...new Set(groups)], gecos: e[4] ?? "", home: e[5] ?? "/", shell: e[6] ?? "" };
}

/** A group of the container's /etc/group, by name or id. Rejects with NotFoundError when there is none. */
export async function lookupGroup(c: Container, nameOrId: string | number): Promise<GroupInfo> {
  const byId = isId(nameOrId);
  const e = parseDb(await readFileText(c, "/etc/group")).find((f) => f.length >= 3 && (byId ? f[2] === String(Number(nameOrId)) : f[0] === nameOrId));
  if (!e) throw new NotFoundError(`container "${c.name}": no group ${JSON.stringify(String(nameOrId))} in /etc/group`, { container: c.name });
  return { name: e[0]!, gid: Number(e[2]), members: (e[3] ?? "").split(",").filter(Boolean) };
}
