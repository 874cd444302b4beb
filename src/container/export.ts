/**
 * Exporting a container to a tarball and importing it again, here or on
 * another host. The tarball (GNU tar, uncompressed, `--numeric-owner`,
 * `user.*` and `trusted.overlay.*` xattrs):
 *
 *     container.json              what it is: config, rootfs kind/backend, image reference, snapshots
 *     fs/                         its tree (below)
 *     snapshots/<name>/fs/        the same for each snapshot, with `{snapshots: true}`
 *     image/rootfs/ image/config.json image/image.json   the image, with `{includeImage: true}`
 *
 * `fs/` is what the container owns, in its backend's layout: the overlay's
 * upper layer (its changes only, whiteouts and opaque-directory xattrs
 * included), the whole btrfs root, or the whole directory of a directory
 * container. Owners are stored as the container sees them (its root is
 * 0): an overlay or plain-directory tree is shifted back from its host id
 * range while tar reads it (`--owner-map`), a btrfs root is stored that way
 * already. Import shifts them to the new container's range.
 * @module
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fsp } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

import { NAME_PATTERN } from "../config/constants.js";
import type { ContainerConfig, ResolvedConfig } from "../config/schema.js";
import { ConfigError, HostError, StateError } from "../errors.js";
import { errnoFromToolMessage } from "../linux/errno.js";
import { ImageStore } from "../image/store.js";
import type { ResolvedRuntime } from "../config/runtime.js";
import { collectIds, shiftIds, viewId } from "../linux/ids.js";
import { writeJsonAtomic } from "../linux/json-file.js";
import { withLock } from "../linux/lock.js";
import { baseOf, snapshotTree, storageOf, type Seed, type StorageKind } from "../storage/backend.js";
import { copyInto, createSubvolume, deleteSubvolume, snapshotSubvolume } from "../storage/btrfs.js";
import { createContainer } from "./create.js";
import { destroyContainer } from "./destroy.js";
import type { ContainerHandle } from "./handle.js";
import { FREEZE_TIMEOUT_MS, setFrozen } from "./resources.js";
import { listSnapshots, type SnapshotInfo } from "./snapshots.js";

const run = promisify(execFile);

export interface ExportOptions {
  /** Include the container's snapshots (image-based containers). Default false. */
  snapshots?: boolean;
  /**
   * Include the image an image-based container is made from, so the
   * tarball imports where that image is not in the store. Default false:
   * the tarball names the image (id, digest, tags) and import needs it.
   */
  includeImage?: boolean;
}

/** `container.json` of an export. */
export interface ExportManifest {
  format: "warren-container";
  version: 1;
  name: string;
  /** The container's config as recorded (what create resolved). */
  config: ResolvedConfig;
  /** What `fs/` holds. */
  rootfs: { kind: "image"; storage: StorageKind } | { kind: "directory" };
  image?: { id: string; digest: string; tags: string[]; included: boolean };
  snapshots: SnapshotInfo[];
  createdAt: string;
  exportedAt: string;
}

/** xattrs carried: the overlay's own (user.* in a user namespace, trusted.overlay.* without one) and users'. */
const XATTRS = ["--xattrs", "--xattrs-include=user.*", "--xattrs-include=trusted.overlay.*"];

async function tar(args: string[], what: string, path: string): Promise<string> {
  try {
    return (await run("tar", args, { maxBuffer: 1 << 30 })).stdout;
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? "").trim();
    throw new HostError(`${what} \`${path}\`${stderr ? ` (${stderr.split("\n").slice(-3).join("; ")})` : ""}`, errnoFromToolMessage(stderr), { path, cause: e });
  }
}

interface Part {
  /** Directory whose contents go in. */
  dir: string;
  /** Its name in the archive. */
  as: string;
  /** Shift owners from this container range to the container's view while reading. */
  view?: { uid: number; gid: number; size: number };
}

/** Appends `part` to the archive, owners mapped through per-part map files. */
async function appendPart(archive: string, part: Part, scratch: string): Promise<void> {
  const maps: string[] = [];
  if (part.view) {
    const { uids, gids } = await collectIds(part.dir);
    const v = part.view;
    const um = join(scratch, `${basename(part.as)}-${randomBytes(3).toString("hex")}.uids`);
    const gm = `${um.slice(0, -5)}.gids`;
    await fsp.writeFile(um, [...uids].map((u) => `+${u} +${viewId(u, v.uid, v.size)}\n`).join(""));
    await fsp.writeFile(gm, [...gids].map((g) => `+${g} +${viewId(g, v.gid, v.size)}\n`).join(""));
    maps.push(`--owner-map=${um}`, `--group-map=${gm}`);
  }
  // `.` and `./x` become `<as>` and `<as>/x`; symlink targets are left alone (S).
  const transform = `--transform=s,^\\.,${part.as.replace(/,/g, "\\,")},S`;
  await tar(["-rf", archive, "--numeric-owner", ...XATTRS, ...maps, transform, "-C", part.dir, "."], "archive", part.dir);
}

/**
 * Writes container `c` to `tarPath` (replaced atomically). A running
 * container is frozen while its tree is read; on btrfs a read-only
 * snapshot is taken instead (instant) and read while it runs on.
 */
export async function exportContainer(c: ContainerHandle, tarPath: string, options: ExportOptions): Promise<void> {
  const r = c.record.rootfs;
  if (r.kind === "embedded") {
    throw new StateError(
      `container "${c.name}" runs the embedded default (this host's /usr under a skeleton made for it): export works on image and directory containers`,
      "export",
      r.kind,
      { container: c.name },
    );
  }
  const { from: _from, ...config } = c.record.config as ResolvedConfig & { from?: unknown };
  const idmap = c.idmap;
  const view = idmap ? { uid: idmap.hostUid, gid: idmap.hostGid, size: idmap.size } : undefined;
  const manifest: ExportManifest = {
    format: "warren-container",
    version: 1,
    name: c.name,
    config: config as ResolvedConfig,
    rootfs: r.kind === "image" ? { kind: "image", storage: storageOf(r) } : { kind: "directory" },
    snapshots: [],
    createdAt: c.record.createdAt,
    exportedAt: new Date().toISOString(),
  };
  const parts: Part[] = [];
  const scratch = join(c.runtime.root, `.export-${randomBytes(6).toString("hex")}`);
  const tmpArchive = join(dirname(tarPath), `.${basename(tarPath)}.${randomBytes(4).toString("hex")}.tmp`);
  let tempSnapshot: string | undefined;
  let frozen = false;
  await fsp.mkdir(scratch, { mode: 0o700 });
  try {
    if (r.kind === "image") {
      const img = await new ImageStore(c.runtime.root).get(r.image).catch(() => undefined);
      if (!img && options.includeImage) {
        throw new StateError(`image ${r.image} of container "${c.name}" is not in the store`, "export", "no-image", { container: c.name });
      }
      manifest.image = { id: r.image, digest: img?.digest ?? `sha256:${r.image}`, tags: img?.tags ?? [], included: !!options.includeImage };
      if (options.snapshots) manifest.snapshots = await listSnapshots(c);
    }
    await c.refresh();
    if (r.kind === "image" && r.storage === "btrfs") {
      // On disk the ids are the container's view already (idmapped root).
      tempSnapshot = join(scratch, "root");
      await snapshotSubvolume(r.lower, tempSnapshot, true);
      parts.push({ dir: tempSnapshot, as: "fs" });
    } else {
      if (c.status === "running") {
        await setFrozen(c, true, FREEZE_TIMEOUT_MS);
        frozen = true;
      }
      const dir = r.kind === "image" ? r.upper : r.path;
      // An idmapped directory is stored with the container's view of its ids.
      const shifted = r.kind === "image" || !r.idmap;
      parts.push({ dir, as: "fs", ...(view && shifted ? { view } : {}) });
    }
    if (r.kind === "image") {
      for (const s of manifest.snapshots) {
        parts.push({ dir: snapshotTree(c.stateDir, r, s.name), as: `snapshots/${s.name}/fs`, ...(view && r.storage !== "btrfs" ? { view } : {}) });
      }
      if (options.includeImage) {
        const dir = join(c.runtime.root, ".images", r.image);
        parts.push({ dir: join(dir, "rootfs"), as: "image/rootfs" });
      }
    }
    await fsp.writeFile(join(scratch, "container.json"), JSON.stringify(manifest, null, 2) + "\n");
    await tar(["-cf", tmpArchive, "-C", scratch, "container.json"], "archive", tmpArchive);
    if (manifest.image?.included) {
      await tar(["-rf", tmpArchive, "--transform=s,^,image/,S", "-C", join(c.runtime.root, ".images", manifest.image.id), "config.json", "image.json"], "archive", tmpArchive);
    }
    for (const p of parts) {
      await appendPart(tmpArchive, p, scratch);
      // Only the live tree needs the container held still.
      if (frozen && p.as === "fs") {
        frozen = false;
        await setFrozen(c, false, FREEZE_TIMEOUT_MS);
      }
    }
    await fsp.rename(tmpArchive, tarPath);
  } finally {
    if (frozen) await setFrozen(c, false, FREEZE_TIMEOUT_MS).catch(() => undefined);
    if (tempSnapshot) await deleteSubvolume(tempSnapshot).catch(() => undefined);
    await fsp.rm(scratch, { recursive: true, force: true });
    await fsp.rm(tmpArchive, { force: true });
  }
}

/**
 * Checks every member of an untrusted archive before anything is
 * extracted: relative names inside the known top-level entries, no `..`,
 * no device nodes but overlay whiteouts (char 0:0), which would give the
 * container a host device.
 */
async function checkMembers(tarPath: string): Promise<void> {
  const names = (await tar(["-tf", tarPath, "--quoting-style=escape"], "list", tarPath)).split("\n").filter(Boolean);
  const long = (await tar(["-tvf", tarPath, "--numeric-owner", "--quoting-style=escape"], "list", tarPath)).split("\n").filter(Boolean);
  if (names.length !== long.length) throw new StateError(`\`${tarPath}\` lists inconsistently`, "import", "bad-archive");
  names.forEach((name, i) => {
    const bad = (why: string) => new StateError(`\`${tarPath}\`: member ${JSON.stringify(name)} ${why}`, "import", "bad-archive");
    const parts = name.replace(/\/+$/, "").split("/");
    if (name.startsWith("/") || parts.includes("..")) throw bad("leaves the archive's directory");
    const top = parts[0];
    if (top === "snapshots" && parts.length >= 2 && !NAME_PATTERN.test(parts[1]!)) throw bad("names a bad snapshot");
    if (top === "snapshots" && parts.length >= 3 && parts[2] !== "fs") throw bad("is not part of a snapshot's tree");
    if (!["container.json", "fs", "snapshots", "image"].includes(top!)) throw bad("is not part of a container export");
    const fields = long[i]!.split(/\s+/);
    const type = fields[0]![0];
    if (type === "b" || (type === "c" && fields[2] !== "0,0")) throw bad("is a device node");
  });
}

/** Recreates a container from an export. See {@link ExportOptions} and the module doc. */
export async function importContainer(tarPath: string, name: string | undefined, runtime: ResolvedRuntime): Promise<ContainerHandle> {
  await fsp.mkdir(runtime.root, { recursive: true, mode: 0o711 });
  await checkMembers(tarPath);
  const staging = join(runtime.root, `.import-${randomBytes(6).toString("hex")}`);
  await fsp.mkdir(staging, { mode: 0o700 });
  try {
    // A fresh, private directory; names were checked above, and GNU tar
    // also refuses `..` and defers symlinks that point outside until the
    // end, so nothing lands outside it.
    await tar(["-xf", tarPath, "-C", staging, "--numeric-owner", "--same-permissions", "--no-overwrite-dir", ...XATTRS], "extract", tarPath);
    let manifest: ExportManifest;
    try {
      manifest = JSON.parse(await fsp.readFile(join(staging, "container.json"), "utf8")) as ExportManifest;
    } catch {
      throw new StateError(`\`${tarPath}\` is not a container export (no readable container.json)`, "import", "bad-archive");
    }
    if (manifest.format !== "warren-container" || manifest.version !== 1) {
      throw new StateError(`\`${tarPath}\`: unknown export format ${JSON.stringify(manifest.format)} ${manifest.version}`, "import", "bad-archive");
    }
    const newName = name ?? manifest.name;
    const fsTree = join(staging, "fs");
    if (!existsSync(fsTree)) throw new StateError(`\`${tarPath}\` has no fs/`, "import", "bad-archive");
    const { idmap: _idmap, from: _from, ...rest } = manifest.config as ResolvedConfig & { from?: unknown };
    // An explicit idmap is the user's config and kept; an allocated one is host-specific.
    const config = { ...rest, ...(manifest.config.idmap ? { idmap: manifest.config.idmap } : {}) } as ContainerConfig;

    if (manifest.rootfs.kind === "image") {
      if (!manifest.image) throw new StateError(`\`${tarPath}\` names no image`, "import", "bad-archive");
      await installImage(runtime.root, manifest.image, join(staging, "image"), tarPath);
      const storage = manifest.rootfs.storage;
      const seed: Seed = { storage, path: fsTree, base: { uid: 0, gid: 0 } };
      // The config's own image reference when it names the same image here (a tag), else the id.
      const ref = typeof config.image === "string" && (await new ImageStore(runtime.root).get(config.image).then((i) => i.id, () => undefined)) === manifest.image.id ? config.image : manifest.image.id;
      const c = await createContainer(newName, { ...config, image: ref }, runtime, seed);
      try {
        await importSnapshots(c, manifest, staging, storage);
      } catch (e) {
        await destroyContainer(c, { force: true }).catch(() => undefined);
        throw e;
      }
      return c;
    }
    return await importDirectory(newName, config, runtime, fsTree);
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
}

/** Puts the exported image in the store when it is not there (never replacing one). */
async function installImage(root: string, image: NonNullable<ExportManifest["image"]>, dir: string, tarPath: string): Promise<void> {
  const store = new ImageStore(root);
  if (await store.get(image.id).then(() => true, () => false)) return;
  if (!image.included || !existsSync(join(dir, "rootfs"))) {
    throw new ConfigError([{ path: "image", message: `no image ${image.tags[0] ?? image.digest} in \`${root}\`, and \`${tarPath}\` does not include it (export with {includeImage: true})` }]);
  }
  if (!/^[0-9a-f]{64,128}$/.test(image.id)) throw new StateError(`\`${tarPath}\`: bad image id`, "import", "bad-archive");
  await fsp.mkdir(store.dir, { recursive: true, mode: 0o711 });
  // The store's layout and lock (see image/store.ts): renamed into place whole.
  const tmp = join(store.dir, `.import-${randomBytes(6).toString("hex")}`);
  await fsp.rename(dir, tmp);
  try {
    await withLock(join(store.dir, ".lock"), async () => {
      const final = join(store.dir, image.id);
      if (!existsSync(final)) await fsp.rename(tmp, final);
      // Its tags come along where they name nothing here.
      const tagsFile = join(store.dir, "tags.json");
      const tags = JSON.parse(await fsp.readFile(tagsFile, "utf8").catch(() => "{}")) as Record<string, string>;
      const free = image.tags.filter((t) => /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/.test(t) && !(t in tags));
      if (free.length) {
        for (const t of free) tags[t] = image.id;
        writeJsonAtomic(tagsFile, tags, 0o644);
      }
    });
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

async function importSnapshots(c: ContainerHandle, manifest: ExportManifest, staging: string, storage: StorageKind): Promise<void> {
  const r = c.record.rootfs;
  if (r.kind !== "image") return;
  const base = baseOf(c.idmap);
  for (const s of manifest.snapshots) {
    if (!NAME_PATTERN.test(s.name)) throw new StateError(`bad snapshot name ${JSON.stringify(s.name)}`, "import", "bad-archive");
    const from = join(staging, "snapshots", s.name, "fs");
    if (!existsSync(from)) continue;
    const dir = join(c.stateDir, "snapshots", s.name);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.chmod(join(c.stateDir, "snapshots"), 0o700);
    const tree = snapshotTree(c.stateDir, r, s.name);
    if (storage === "btrfs") {
      // Filled as a writable subvolume, then frozen read-only as snapshots are.
      const tmp = `${tree}.tmp`;
      await createSubvolume(tmp);
      await copyInto(from, tmp);
      await snapshotSubvolume(tmp, tree, true);
      await deleteSubvolume(tmp);
    } else {
      await fsp.rename(from, tree);
      if (base.uid || base.gid) await shiftIds(tree, base.uid, base.gid);
    }
    await fsp.writeFile(join(dir, "snapshot.json"), JSON.stringify({ name: s.name, createdAt: s.createdAt }) + "\n");
  }
}

/**
 * A directory container's tree becomes its own, inside its state
 * directory. Where its ids on disk are not shifted to its range (an
 * idmapped rootfs, or no user namespace), they are the ids it sees: a
 * setuid-root file is setuid-root on disk, so the tree goes below a 0700
 * directory (`<state>/fs/rootfs`) and is attached at `<state>/root`.
 */
async function importDirectory(name: string, config: ContainerConfig, runtime: ResolvedRuntime, fsTree: string): Promise<ContainerHandle> {
  const rootfs = config.rootfs as Exclude<ResolvedConfig["rootfs"], undefined>;
  // Created on the staged tree, then the tree moves into the state directory.
  const c = await createContainer(name, { ...config, rootfs: { ...rootfs, path: fsTree } }, runtime);
  try {
    const r = c.record.rootfs;
    if (r.kind !== "directory") throw new StateError("import made no directory container", "import", r.kind);
    const shifted = !!c.idmap && !r.idmap;
    const path = shifted ? join(c.stateDir, "rootfs") : join(c.stateDir, "fs", "rootfs");
    if (!shifted) {
      await fsp.mkdir(join(c.stateDir, "fs"), { mode: 0o700 });
      await fsp.mkdir(join(c.stateDir, "root"), { recursive: true, mode: 0o755 });
    }
    await fsp.rename(fsTree, path);
    if (shifted) await shiftIds(path, c.idmap!.hostUid, c.idmap!.hostGid);
    c.record = {
      ...c.record,
      config: { ...c.record.config, rootfs: { ...rootfs, path } },
      rootfs: { ...r, path, ...(shifted ? {} : { mountpoint: join(c.stateDir, "root") }) },
    };
    c.planCache = null;
    await c.store.writeRecord(c.record);
    return c;
  } catch (e) {
    await destroyContainer(c, { force: true }).catch(() => undefined);
    throw e;
  }
}
