/**
 * Applies one OCI image layer (a tar changeset) on top of a directory,
 * following the image-spec "Applying Changesets" rules, without ever writing
 * outside that directory.
 *
 * Containment: entry paths are normalized ("/" stripped, `..` resolved; a
 * path that climbs above the root is refused). Each parent directory is
 * resolved component by component with lstat; a symlink met on the way is
 * resolved as if the target directory were `/` (chroot semantics, at most 40
 * links), so it can never lead out. The entry's own name is never followed:
 * whatever is there is unlinked first and files are created with
 * `O_CREAT | O_EXCL | O_NOFOLLOW`; fifos with mknod (which never follows
 * either); xattrs with lsetxattr (on the entry itself). Device nodes are
 * never made on the host (see devices.ts).
 *
 * Order per entry: content, owner, mode, then xattrs: chown(2) and write(2)
 * drop `security.capability` (capabilities(7), "File capability
 * extended attribute versioning"), so file capabilities are set last.
 * @module
 */
import { constants, promises as fsp } from "node:fs";
import type { Stats } from "node:fs";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";

import { codeOf } from "../linux/errno.js";
import { native, type NativeBinding } from "../native/binding.js";
import { ImageError } from "../errors.js";
import { deviceWarning, PLACEHOLDER_MODE, type DeviceNode } from "./devices.js";
import { readTar, type TarEntry } from "./tar.js";

export interface ApplyLayerOptions {
  /**
   * Called for each entry before it is applied; may consume its body (then
   * return the entry's `rename` null, or the file is applied empty).
   */
  onEntry?: (entry: TarEntry) => unknown;
  /**
   * Maps an archive path (of an entry, or of a hard link's target) to the
   * path to apply it at, or null to skip the entry (a hard link to a skipped
   * path is an error). E.g. LXC's unified tarball keeps the tree under `rootfs/`.
   * The result is normalized and contained like any archive path.
   */
  rename?: (archivePath: string) => string | null;
  /** Apply OCI whiteouts (`.wh.*`). Default true; false treats such names as plain files. */
  whiteouts?: boolean;
  /** Named in errors (a path, `layer sha256:…`). */
  source?: string;
  /** Set on errors. */
  blob?: string;
}

export interface ApplyLayerResult {
  /** Number of tar entries read. */
  entries: number;
  /** What was skipped: device nodes, xattrs that could not be set, ownership that could not be set. */
  warnings: string[];
  /**
   * Device nodes the layer carries, not made on the host: each has a
   * placeholder at its path until {@link settleDevices} (devices.ts).
   */
  devices: DeviceNode[];
}

/** File type bit of a fifo for mknod (stat(2)). */
const S_IFIFO = 0o010000;

/** Errors of mknod/lsetxattr that mean "not here" (unprivileged, filesystem without support), not "broken". */
const SKIPPABLE = new Set(["EPERM", "EACCES", "ENOTSUP", "EOPNOTSUPP", "EINVAL", "ENOSPC", "E2BIG", "ERANGE"]);

const MAX_LINKS = 40;
const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

/**
 * Normalizes an archive path into components below the root: leading "/"
 * dropped, "." and empty components removed, ".." resolved. Throws when the
 * path climbs above the root.
 */
export function normalizeEntryPath(p: string): string[] {
  const out: string[] = [];
  for (const c of p.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (out.length === 0) throw new ImageError(`layer: entry ${JSON.stringify(p)} escapes the target directory`, { entry: p });
      out.pop();
    } else {
      out.push(c);
    }
  }
  return out;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * Resolves directory components below `root` the way a chroot at `root`
 * would, without following anything out of it. Returns the resolved
 * components (a real directory path below root, no symlinks), or null when a
 * component is missing and `create` is false. Missing directories are created
 * (0755) when `create` is true.
 */
async function resolveDir(root: string, components: string[], entry: string, create: boolean): Promise<string[] | null> {
  const resolved: string[] = [];
  const queue = [...components];
  let links = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      resolved.pop(); // clamps at the root, as in a chroot
      continue;
    }
    const here = join(root, ...resolved, c);
    const st = await lstatOrNull(here);
    if (st === null) {
      if (!create) return null;
      await fsp.mkdir(here, { mode: 0o755 });
      resolved.push(c);
    } else if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) {
        throw new ImageError(`layer: too many levels of symbolic links resolving ${JSON.stringify(entry)}`, { entry });
      }
      const target = await fsp.readlink(here);
      if (target.startsWith("/")) resolved.length = 0;
      queue.unshift(...target.split("/"));
    } else if (st.isDirectory()) {
      resolved.push(c);
    } else {
      throw new ImageError(`layer: a parent of ${JSON.stringify(entry)} is not a directory`, { entry });
    }
  }
  return resolved;
}

/** Removes whatever is at `p` (never following a symlink). */
async function removeAt(p: string, st: Stats | null): Promise<void> {
  if (st === null) return;
  if (st.isDirectory()) await fsp.rm(p, { recursive: true, force: true });
  else await fsp.unlink(p);
}

/**
 * Applies one layer (plain or gzip tar) on top of `targetDir`. Layers are
 * applied one after the other into the same directory, so whiteouts delete
 * from what is already there.
 */
export async function applyLayer(
  tarStream: Readable,
  targetDir: string,
  opts: ApplyLayerOptions = {},
): Promise<ApplyLayerResult> {
  const root = await fsp.realpath(targetDir);
  if (!(await fsp.stat(root)).isDirectory()) throw new ImageError(`layer: ${targetDir} is not a directory`);
  const warnings: string[] = [];
  const devices: DeviceNode[] = [];
  const whiteouts = opts.whiteouts ?? true;
  let entries = 0;
  let addon: NativeBinding | null | undefined;
  /** The addon, or null (and a warning) when it cannot be loaded: devices and xattrs are then skipped. */
  const getNative = (): NativeBinding | null => {
    if (addon !== undefined) return addon;
    try {
      addon = native();
    } catch (err) {
      warnings.push(`native addon not loaded, device nodes and xattrs skipped: ${(err as Error).message}`);
      addon = null;
    }
    return addon;
  };
  const setXattrs = (p: string, e: TarEntry) => {
    const names = Object.keys(e.xattrs);
    if (!names.length) return;
    const b = getNative();
    if (!b) return;
    for (const name of names) {
      try {
        b.lsetxattr(p, name, e.xattrs[name]!);
      } catch (err) {
        const code = codeOf(err);
        if (!SKIPPABLE.has(code)) {
          throw new ImageError(`layer: lsetxattr \`${e.path}\` ${name}: ${code}`, { entry: e.path, blob: opts.blob, cause: err });
        }
        warnings.push(`${e.path}: xattr ${name} not set (${code})`);
      }
    }
  };
  let chownFailures = 0;
  let chownError = "";
  /** Paths (relative to root, resolved) this layer wrote, with their ancestors. */
  const touched = new Set<string>();
  /** Directory metadata, set at the end (children change a directory's mtime). */
  const dirs = new Map<string, { mode: number; mtime: Date }>(); // keyed by resolved relative path

  const touch = (rel: string) => {
    for (let p = rel; p !== "" && !touched.has(p); p = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "") {
      touched.add(p);
    }
  };
  const chown = async (p: string, e: TarEntry) => {
    try {
      await fsp.lchown(p, e.uid, e.gid);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EPERM" && code !== "EINVAL") throw err;
      chownFailures++;
      chownError = code;
    }
  };
  /** Opaque directory: remove what lower layers left in it, keep what this layer wrote. */
  const clearLower = async (relDir: string): Promise<void> => {
    const abs = join(root, relDir);
    for (const name of await fsp.readdir(abs)) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const st = await fsp.lstat(join(abs, name));
      if (!touched.has(rel)) await removeAt(join(abs, name), st);
      else if (st.isDirectory()) await clearLower(rel);
    }
  };

  for await (const e of readTar(tarStream, { source: opts.source, blob: opts.blob })) {
    entries++;
    await opts.onEntry?.(e);
    const mapped = opts.rename ? opts.rename(e.path) : e.path;
    if (mapped === null) continue;
    const comps = normalizeEntryPath(mapped);
    if (comps.length === 0) {
      // The root itself ("./"): only directory metadata applies.
      if (e.type === "dir") {
        await chown(root, e);
        setXattrs(root, e);
        dirs.set("", { mode: e.mode, mtime: e.mtime });
        continue;
      }
      throw new ImageError(`layer: entry ${JSON.stringify(e.path)} would replace the target directory`, { entry: e.path });
    }
    const name = comps[comps.length - 1]!;

    if (whiteouts && name.startsWith(WHITEOUT)) {
      const parent = await resolveDir(root, comps.slice(0, -1), e.path, false);
      if (parent === null) continue;
      const relParent = parent.join("/");
      if (name === OPAQUE) {
        await clearLower(relParent);
        touch(relParent);
      } else if (name.startsWith(`${WHITEOUT}${WHITEOUT}`)) {
        warnings.push(`${e.path}: unknown whiteout metadata entry ignored`);
      } else {
        const victim = name.slice(WHITEOUT.length);
        if (victim === "" || victim === "." || victim === "..") {
          throw new ImageError(`layer: invalid whiteout ${JSON.stringify(e.path)}`, { entry: e.path });
        }
        const p = join(root, relParent, victim);
        await removeAt(p, await lstatOrNull(p));
      }
      continue;
    }

    const parent = (await resolveDir(root, comps.slice(0, -1), e.path, true))!;
    const rel = [...parent, name].join("/");
    const abs = join(root, rel);
    const existing = await lstatOrNull(abs);

    switch (e.type) {
      case "dir": {
        if (existing === null || !existing.isDirectory()) {
          await removeAt(abs, existing);
          await fsp.mkdir(abs, { mode: 0o700 });
        }
        await chown(abs, e);
        dirs.set(rel, { mode: e.mode, mtime: e.mtime });
        break;
      }
      case "file": {
        await removeAt(abs, existing);
        const fh = await fsp.open(
          abs,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          for await (const chunk of e.body) {
            const buf = chunk as Buffer;
            for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off)).bytesWritten;
          }
          await fh.chown(e.uid, e.gid).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== "EPERM" && err.code !== "EINVAL") throw err;
            chownFailures++;
            chownError = err.code;
          });
          await fh.chmod(e.mode);
          await fh.utimes(e.mtime, e.mtime);
        } finally {
          await fh.close();
        }
        break;
      }
      case "symlink": {
        await removeAt(abs, existing);
        await fsp.symlink(e.linkname, abs);
        await chown(abs, e);
        await fsp.lutimes(abs, e.mtime, e.mtime);
        break;
      }
      case "char":
      case "block": {
        // Never made on the host (devices.ts): a placeholder stands at its
        // path so later layers whiteout or replace it as they would the node.
        await removeAt(abs, existing);
        const fh = await fsp.open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, PLACEHOLDER_MODE);
        await fh.close();
        const node: DeviceNode = { path: `/${rel}`, type: e.type, major: e.devmajor, minor: e.devminor, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid };
        devices.push(node);
        warnings.push(deviceWarning(node));
        touch(rel);
        continue; // no xattrs on a placeholder
      }
      case "fifo": {
        const b = getNative();
        if (!b) {
          warnings.push(`${e.path}: fifo skipped`);
          continue;
        }
        await removeAt(abs, existing);
        try {
          // 0600 until owned as it should be; mknod never follows a symlink at abs.
          b.mknod(abs, S_IFIFO | 0o600, 0, 0);
        } catch (err) {
          const code = codeOf(err);
          if (code !== "EPERM" && code !== "EACCES") {
            throw new ImageError(`layer: mknod \`${e.path}\` (fifo): ${code}`, { entry: e.path, blob: opts.blob, cause: err });
          }
          warnings.push(`${e.path}: fifo skipped (${code})`);
          continue;
        }
        await chown(abs, e);
        // chmod(2) follows symlinks, but abs is the node made just above, in a tree only this import writes.
        await fsp.chmod(abs, e.mode);
        await fsp.lutimes(abs, e.mtime, e.mtime);
        break;
      }
      case "hardlink": {
        const linkTo = opts.rename ? opts.rename(e.linkname) : e.linkname;
        if (linkTo === null) {
          throw new ImageError(`layer: hard link ${JSON.stringify(e.path)}: target ${JSON.stringify(e.linkname)} is outside what is applied`, {
            entry: e.path,
          });
        }
        const tcomps = normalizeEntryPath(linkTo);
        if (tcomps.length === 0) {
          throw new ImageError(`layer: hard link ${JSON.stringify(e.path)} points at the target directory`, { entry: e.path });
        }
        const tparent = await resolveDir(root, tcomps.slice(0, -1), linkTo, false);
        const target = tparent && join(root, ...tparent, tcomps[tcomps.length - 1]!);
        const tst = target && (await lstatOrNull(target));
        if (!target || !tst) {
          throw new ImageError(`layer: hard link ${JSON.stringify(e.path)}: target ${JSON.stringify(e.linkname)} does not exist`, {
            entry: e.path,
          });
        }
        if (tst.isDirectory()) {
          throw new ImageError(`layer: hard link ${JSON.stringify(e.path)}: target ${JSON.stringify(e.linkname)} is a directory`, {
            entry: e.path,
          });
        }
        if (existing && existing.ino === tst.ino && existing.dev === tst.dev) break;
        await removeAt(abs, existing);
        // link(2) does not follow a symlink target: the link is to the symlink itself.
        await fsp.link(target, abs);
        break;
      }
    }
    setXattrs(abs, e);
    touch(relative(root, abs));
  }

  // Directory modes and times last, deepest first. Resolved again, as later
  // entries may have replaced a directory (or one of its parents) with a
  // symlink: only a directory still reached without any symlink is changed.
  for (const [rel, { mode, mtime }] of [...dirs].sort((a, b) => b[0].length - a[0].length)) {
    const comps = rel === "" ? [] : rel.split("/");
    const resolved = await resolveDir(root, comps, rel, false).catch(() => null);
    if (resolved === null || resolved.join("/") !== rel) continue;
    const p = join(root, rel);
    const st = await lstatOrNull(p);
    if (!st?.isDirectory()) continue;
    await fsp.chmod(p, mode);
    await fsp.utimes(p, mtime, mtime);
  }
  if (chownFailures) warnings.push(`ownership not set on ${chownFailures} entries (${chownError})`);
  return { entries, warnings, devices };
}
