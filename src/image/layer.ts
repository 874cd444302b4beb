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
 * `O_CREAT | O_EXCL | O_NOFOLLOW`.
 * @module
 */
import { constants, promises as fsp } from "node:fs";
import type { Stats } from "node:fs";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";

import { ImageError } from "./errors.js";
import { readTar, type TarEntry } from "./tar.js";

export interface ApplyLayerOptions {
  /** Called for each entry before it is applied. */
  onEntry?: (entry: TarEntry) => void;
}

export interface ApplyLayerResult {
  /** Number of tar entries read. */
  entries: number;
  /** What was skipped: device nodes, fifos, xattrs, ownership that could not be set. */
  warnings: string[];
}

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
  let entries = 0;
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

  for await (const e of readTar(tarStream)) {
    entries++;
    opts.onEntry?.(e);
    const comps = normalizeEntryPath(e.path);
    if (comps.length === 0) {
      // The root itself ("./"): only directory metadata applies.
      if (e.type === "dir") {
        await chown(root, e);
        dirs.set("", { mode: e.mode, mtime: e.mtime });
        continue;
      }
      throw new ImageError(`layer: entry ${JSON.stringify(e.path)} would replace the target directory`, { entry: e.path });
    }
    const name = comps[comps.length - 1]!;

    if (name.startsWith(WHITEOUT)) {
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

    if (e.type === "char" || e.type === "block" || e.type === "fifo") {
      warnings.push(`${e.path}: ${e.type === "fifo" ? "fifo" : `${e.type} device ${e.devmajor}:${e.devminor}`} skipped`);
      continue;
    }

    const parent = (await resolveDir(root, comps.slice(0, -1), e.path, true))!;
    const rel = [...parent, name].join("/");
    const abs = join(root, rel);
    const existing = await lstatOrNull(abs);
    if (Object.keys(e.xattrs).length) {
      warnings.push(`${e.path}: xattrs skipped (${Object.keys(e.xattrs).join(", ")})`);
    }

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
      case "hardlink": {
        const tcomps = normalizeEntryPath(e.linkname);
        if (tcomps.length === 0) {
          throw new ImageError(`layer: hard link ${JSON.stringify(e.path)} points at the target directory`, { entry: e.path });
        }
        const tparent = await resolveDir(root, tcomps.slice(0, -1), e.linkname, false);
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
  return { entries, warnings };
}
