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
 * How the root is reached, running or stopped: ./files-root.ts.
 *
 * Operations run with the host's root privileges inside the container's
 * view (its bind mounts included): permission bits do not stop them.
 * @module
 */
import { closeSync, constants as fsc, createReadStream, createWriteStream, fstatSync, promises as fsp, statfsSync, type Stats } from "node:fs";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { ConfigError, HostError, NotFoundError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";
import type { ContainerHandle } from "./handle.js";
import { assertWritable, checkId, closeQuietly, containerId, fail, IN_ROOT, O_PATH, ONE, RESOLVE, step, withRoot, type Ctx, type Root } from "./files-root.js";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_DIRECTORY, O_NOCTTY } = fsc;

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

/** An absolute container path, normalized (`..` cannot climb above `/` anyway: the kernel clamps it). */
function normalize(x: Ctx): { norm: string; parent: string; base: string } {
  const p = x.path;
  if (typeof p !== "string" || !p.startsWith("/") || p.includes("\0")) {
    throw new ConfigError([{ path: "path", message: `${JSON.stringify(p)} is not an absolute path` }], { container: x.c.name });
  }
  const norm = posix.normalize(p).replace(/(.)\/+$/, "$1");
  return { norm, parent: posix.dirname(norm), base: norm === "/" ? "" : posix.basename(norm) };
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

// ---- path helpers ---------------------------------------------------------

function openDir(x: Ctx, root: Root, path: string): number {
  return step(x, "open", () => root.ops.openat2(root.fd, path, O_PATH | O_DIRECTORY, 0, IN_ROOT));
}

/** The parent directory, created (owned by the container's root, 0755) one component at a time with `mkdirs`. */
function openParent(x: Ctx, root: Root, parent: string, mkdirs: boolean): number {
  try {
    return root.ops.openat2(root.fd, parent, O_PATH | O_DIRECTORY, 0, IN_ROOT);
  } catch (e) {
    if (!mkdirs || codeOf(e) !== "ENOENT") fail(x, "open", e);
  }
  const parts = parent.split("/").filter(Boolean);
  let cur = openDir(x, root, "/");
  try {
    for (let i = 0; i < parts.length; i++) {
      let next: number;
      try {
        next = root.ops.openat2(root.fd, "/" + parts.slice(0, i + 1).join("/"), O_PATH | O_DIRECTORY, 0, IN_ROOT);
      } catch (e) {
        if (codeOf(e) !== "ENOENT") fail(x, "open", e);
        try {
          root.ops.mkdirat(cur, parts[i]!, 0o755, { uid: 0, gid: 0 });
        } catch (e2) {
          if (codeOf(e2) !== "EEXIST") fail(x, "mkdir", e2);
        }
        next = step(x, "open", () => root.ops.openat2(cur, parts[i]!, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, ONE));
        step(x, "chmod", () => root.ops.chmod(next, 0o755)); // exactly 0755, whatever the umask
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

/** Reopens an O_PATH fd of a regular file for reading or writing (never a device, fifo or symlink). */
function reopenRegular(x: Ctx, root: Root, pathFd: number, flags: number): number {
  const st = statFd(x, root, pathFd);
  if (st.type === "symlink") fail(x, "open", { errno: 40 /* ELOOP */, syscall: "openat2" });
  if (st.type === "directory") fail(x, "open", { errno: 21 /* EISDIR */, syscall: "openat2" });
  if (st.type !== "file") {
    throw new HostError(`container "${x.c.name}": ${x.op} \`${x.path}\`: open: not a regular file (${st.type})`, "EINVAL", { container: x.c.name, path: x.path });
  }
  const fd = step(x, "open", () => root.ops.reopen(pathFd, flags | O_NOCTTY));
  try {
    assertNotKernelFile(x, fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * Filesystems whose regular files are kernel interfaces (a sysctl, a cgroup
 * limit, a debug switch), not data: the container's root can bind one over
 * any path, and neither pullFile nor pushFile may reach it there.
 */
const KERNEL_FS: Record<number, string> = {
  0x9fa0: "proc",
  0x62656572: "sysfs",
  0x63677270: "cgroup2",
  0x27e0eb: "cgroup",
  0x64626720: "debugfs",
  0x74726163: "tracefs",
  0x73636673: "securityfs",
  0xcafe4a11: "bpf",
  0xde5e81e4: "efivarfs",
  0x42494e4d: "binfmt_misc",
  0x6e736673: "nsfs",
};

function assertNotKernelFile(x: Ctx, fd: number): void {
  // /proc/self/fd/N names exactly the file opened (statfs follows it).
  const type = step(x, "statfs", () => statfsSync(`/proc/self/fd/${fd}`).type);
  const fs = KERNEL_FS[type];
  if (fs) {
    throw new HostError(`container "${x.c.name}": ${x.op} \`${x.path}\`: open: a ${fs} file, not a regular file of the container`, "EINVAL", {
      container: x.c.name,
      path: x.path,
    });
  }
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
export async function pushFile(c: ContainerHandle, source: string | Buffer | Readable, containerPath: string, options: PushOptions = {}): Promise<void> {
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
        const owner = { uid: options.uid ?? 0, gid: options.gid ?? 0 };
        let fd: number;
        let created = false;
        try {
          fd = root.ops.openat2(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600, ONE, owner);
          created = true;
        } catch (e) {
          if (codeOf(e) !== "EEXIST") fail(x, "open", e);
          const p = step(x, "open", () => root.ops.openat2(dir, base, O_PATH | O_NOFOLLOW, 0, ONE));
          try {
            fd = reopenRegular(x, root, p, O_WRONLY | O_TRUNC);
          } finally {
            closeSync(p);
          }
        }
        try {
          await pipeline(input, createWriteStream("", { fd, autoClose: false })).catch((e) => fail(x, "write", e));
          // Owner, then mode: chown clears setuid and setgid bits.
          // (-1 keeps an existing file's owner or group.)
          if (created || options.uid !== undefined || options.gid !== undefined) {
            step(x, "chown", () => root.ops.chown(fd, options.uid !== undefined || created ? owner.uid : -1, options.gid !== undefined || created ? owner.gid : -1));
          }
          if (created || options.mode !== undefined) step(x, "chmod", () => root.ops.chmod(fd, options.mode ?? 0o644));
        } catch (e) {
          if (created) {
            try {
              root.ops.unlinkat(dir, base, false);
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
    const p = step(x, "open", () => root.ops.openat2(root.fd, norm, O_PATH, 0, IN_ROOT));
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
export async function openReadStream(c: ContainerHandle, containerPath: string): Promise<Readable> {
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
export async function pullFile(c: ContainerHandle, containerPath: string): Promise<Buffer>;
export async function pullFile(c: ContainerHandle, containerPath: string, hostPath: string): Promise<void>;
export async function pullFile(c: ContainerHandle, containerPath: string, hostPath?: string): Promise<Buffer | void> {
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
export async function readFileText(c: ContainerHandle, containerPath: string): Promise<string> {
  return (await pullFile(c, containerPath)).toString("utf8");
}

/**
 * What is at a path: the last component is not followed unless `follow`
 * (then a symlink's target is described).
 */
export async function stat(c: ContainerHandle, containerPath: string, options: { follow?: boolean } = {}): Promise<FileStat> {
  const x: Ctx = { c, op: "stat", path: containerPath };
  const { norm, parent, base } = normalize(x);
  return withRoot(x, async (root) => {
    let fd: number;
    if (options.follow || !base) fd = step(x, "open", () => root.ops.openat2(root.fd, norm, O_PATH, 0, IN_ROOT));
    else {
      const dir = openDir(x, root, parent);
      try {
        fd = step(x, "open", () => root.ops.openat2(dir, base, O_PATH | O_NOFOLLOW, 0, ONE));
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
export async function readdir(c: ContainerHandle, containerPath: string): Promise<DirEntry[]> {
  const x: Ctx = { c, op: "readdir", path: containerPath };
  const { norm } = normalize(x);
  return withRoot(x, async (root) => {
    const dir = step(x, "open", () => root.ops.openat2(root.fd, norm, O_RDONLY | O_DIRECTORY, 0, IN_ROOT));
    try {
      // /proc/self/fd/N names exactly the directory opened above.
      const names = await fsp.readdir(`/proc/self/fd/${dir}`).catch((e) => fail(x, "readdir", e));
      const out: DirEntry[] = [];
      for (const name of names.sort()) {
        let fd: number;
        try {
          fd = root.ops.openat2(dir, name, O_PATH | O_NOFOLLOW, 0, ONE);
        } catch (e) {
          if (codeOf(e) === "ENOENT") continue; // removed meanwhile
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
export async function mkdir(c: ContainerHandle, containerPath: string, options: { mode?: number; uid?: number; gid?: number; recursive?: boolean } = {}): Promise<void> {
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
        root.ops.mkdirat(dir, base, 0o700, { uid: options.uid ?? 0, gid: options.gid ?? 0 });
      } catch (e) {
        if (codeOf(e) === "EEXIST" && options.recursive) {
          const p = step(x, "open", () => root.ops.openat2(dir, base, O_PATH | O_NOFOLLOW, 0, ONE));
          try {
            if (statFd(x, root, p).type === "directory") return;
          } finally {
            closeSync(p);
          }
        }
        fail(x, "mkdir", e);
      }
      const fd = step(x, "open", () => root.ops.openat2(dir, base, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, ONE));
      try {
        step(x, "chmod", () => root.ops.chmod(fd, options.mode ?? 0o755));
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
export async function rm(c: ContainerHandle, containerPath: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
  const x: Ctx = { c, op: "rm", path: containerPath };
  const { parent, base } = normalize(x);
  if (!base) throw new ConfigError([{ path: "path", message: "refusing to remove the container's root" }], { container: c.name });
  try {
    await withRoot(x, async (root) => {
      assertWritable(x, root);
      const dir = openDir(x, root, parent);
      try {
        await removeAt(x, root, dir, base, options.recursive === true);
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
async function removeAt(x: Ctx, root: Root, dir: number, name: string, recursive: boolean): Promise<void> {
  try {
    root.ops.unlinkat(dir, name, false);
    return;
  } catch (e) {
    if (codeOf(e) !== "EISDIR") fail(x, "unlink", e);
  }
  if (recursive) {
    const sub = step(x, "open", () => root.ops.openat2(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ONE | RESOLVE.NO_XDEV));
    try {
      const names = await fsp.readdir(`/proc/self/fd/${sub}`).catch((e) => fail(x, "readdir", e));
      for (const n of names) await removeAt(x, root, sub, n, true);
    } finally {
      closeSync(sub);
    }
  }
  step(x, "rmdir", () => root.ops.unlinkat(dir, name, true));
}
