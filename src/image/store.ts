/**
 * The local image store under a runtime root: one directory per image,
 * named by its manifest digest (content-addressed: the same image imported
 * twice, by two processes at once, is stored once), and tags naming them.
 *
 *     <root>/.images/                          0700: reachable by root only
 *     <root>/.images/<digest hex>/rootfs/      the unpacked image, read-only to containers
 *     <root>/.images/<digest hex>/config.json  the OCI image config
 *     <root>/.images/<digest hex>/image.json   what it is: digest, source, layers, import time, device nodes
 *     <root>/.images/tags.json                 name -> digest hex
 *     <root>/.images/.blobs/sha256/<hex>       registry pulls' verified blob cache (see registry.ts)
 *
 * An image keeps its setuid binaries and file capabilities (the container
 * needs its `sudo` and `ping`), so no host user but root may reach it: a
 * setuid-root file in a world-reachable store makes every local user root.
 * Containers never reach an image through this path: the parent process
 * (host root) takes an idmapped copy of the image's mount and hands it over,
 * or the container has its own shifted copy (see docs/security.md). Device
 * nodes are not stored at all (devices.ts).
 * @module
 */
import { existsSync, promises as fsp, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";

import { writeJsonAtomic } from "../linux/json-file.js";
import { withLock } from "../linux/lock.js";
import { ImageError, NotFoundError, RegistryError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { deviceWarning, sweepDeviceNodes, type DeviceNode } from "./devices.js";
import { importOciLayout, type ImageConfig, type ImportOciOptions, type Platform } from "./oci.js";
import { formatReference } from "./reference.js";
import { pullToLayout, type RegistryOptions } from "./registry.js";
import { buildDistroRootfs, parseDistroSpec, resolveSpec, type BuildOptions, type DistroSpec } from "./debootstrap.js";
import { importLxcImage, type ImportLxcOptions, type LxcImageFiles } from "./lxc.js";
import { archiveToLayout } from "./archive.js";
import { ociLayoutFromDirectory } from "./from-directory.js";

export interface ImageInfo {
  /** Manifest digest, `sha256:…`. */
  digest: string;
  /** The store's name for it (the digest's hex). */
  id: string;
  /** Tags pointing at it. */
  tags: string[];
  rootfs: string;
  config: ImageConfig;
  source: string;
  importedAt: string;
  /** The image's device nodes: recorded, never made on the host (they belong inside a container). */
  devices: DeviceNode[];
  /**
   * What the import that just stored it skipped or could not apply (device
   * nodes without privilege, refused xattrs, LXC templates). Only on the
   * result of an import, not on images looked up later.
   */
  warnings?: string[];
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

function checkTag(tag: string | undefined, op: string): void {
  if (tag !== undefined && !TAG.test(tag)) throw new StateError(`bad image tag ${JSON.stringify(tag)}`, op, "tag");
}

/** Options of {@link ImageStore.pull}. */
export interface PullOptions extends RegistryOptions {
  /** The store's tag for the image; default the reference as written (none for a reference by digest). */
  tag?: string;
  /** Default: linux and this process's architecture. */
  platform?: Platform;
}

type ImageMeta = { digest: string; source: string; importedAt: string; devices?: DeviceNode[] };

/**
 * An image's image.json and config.json, read once per process while the
 * same image.json stays in place: an image never changes after its import
 * (its id is its content's digest), and a fleet's creates each ask for it.
 */
const imageFiles = new Map<string, { ino: number; mtimeMs: number; meta: ImageMeta; config: ImageConfig }>();

async function readImageFiles(dir: string, ref: string): Promise<{ meta: ImageMeta; config: ImageConfig }> {
  const metaPath = join(dir, "image.json");
  const st = statSync(metaPath, { throwIfNoEntry: false });
  if (!st) throw new NotFoundError(`no image ${JSON.stringify(ref)}`);
  const known = imageFiles.get(dir);
  // Copies: a caller may change what it is given.
  if (known && known.ino === st.ino && known.mtimeMs === st.mtimeMs) return structuredClone({ meta: known.meta, config: known.config });
  let meta: ImageMeta;
  try {
    meta = JSON.parse(await fsp.readFile(metaPath, "utf8")) as ImageMeta;
  } catch {
    throw new NotFoundError(`no image ${JSON.stringify(ref)}`);
  }
  const config = JSON.parse(await fsp.readFile(join(dir, "config.json"), "utf8")) as ImageConfig;
  if (imageFiles.size >= 256) imageFiles.delete(imageFiles.keys().next().value!);
  imageFiles.set(dir, { ino: st.ino, mtimeMs: st.mtimeMs, meta, config });
  return structuredClone({ meta, config });
}

export class ImageStore {
  readonly dir: string;
  readonly root: string;
  constructor(root: string) {
    this.root = root;
    this.dir = join(root, ".images");
  }

  /** Names of the containers under the root made from image `id`. */
  async users(id: string): Promise<string[]> {
    const out: string[] = [];
    let names: string[] = [];
    try {
      names = await fsp.readdir(this.root);
    } catch {
      return out;
    }
    for (const n of names) {
      if (n.startsWith(".")) continue;
      try {
        const rec = JSON.parse(await fsp.readFile(join(this.root, n, "container.json"), "utf8")) as { rootfs?: { kind?: string; image?: string } };
        if (rec.rootfs?.kind === "image" && rec.rootfs.image === id) out.push(n);
      } catch {
        /* not a container */
      }
    }
    return out.sort();
  }

  private get tagsFile(): string {
    return join(this.dir, "tags.json");
  }

  private readTags(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.tagsFile, "utf8")) as Record<string, string>;
    } catch (e) {
      if (codeOf(e) === "ENOENT") return {};
      throw e;
    }
  }

  private async writeTags(tags: Record<string, string>): Promise<void> {
    writeJsonAtomic(this.tagsFile, tags, 0o600);
  }

  /**
   * Imports an OCI image layout directory (tagging it `tag` when given).
   * Unpacked into a private temporary directory and renamed into place, so a
   * concurrent import of the same image finds it complete or not at all.
   */
  async importOci(layoutDir: string, options: ImportOciOptions & { tag?: string } = {}): Promise<ImageInfo> {
    checkTag(options.tag, "import");
    return this.install(layoutDir, options, () => layoutDir);
  }

  /**
   * Pulls an image from an OCI distribution registry (HTTP API v2) and
   * stores it like {@link importOci}. Blobs are downloaded into a cache under
   * the store (`.images/.blobs`), verified (size and sha256) before use, and
   * resumed with a `Range` request after an interruption; concurrent pulls of
   * the same image download each blob once and store one image.
   * Throws a {@link RegistryError} naming the step that failed
   * (a {@link DigestMismatchError} for content that does not match its digest).
   *
   * @example
   * ```ts
   * const store = new ImageStore("/var/lib/warren");
   * await store.pull("docker.io/library/debian:bookworm", { onProgress: (e) => console.log(e.phase, e.bytes, e.total) });
   * await Container.create("web", { image: "docker.io/library/debian:bookworm" });
   * ```
   */
  async pull(ref: string, options: PullOptions = {}): Promise<ImageInfo> {
    // The default tag is the reference as written, when it can be a tag (a digest reference cannot).
    const tag = options.tag ?? (TAG.test(ref) ? ref : undefined);
    checkTag(tag, "pull");
    await this.ensureDir();
    const layout = join(this.dir, `.pull-${randomBytes(6).toString("hex")}`);
    try {
      const img = await pullToLayout(ref, join(this.dir, ".blobs"), layout, options);
      const total = img.layers.reduce((a, l) => a + l.size, 0);
      options.onProgress?.({ phase: "unpack", digest: img.manifest.digest, bytes: 0, total });
      options.signal?.throwIfAborted();
      let info: ImageInfo;
      try {
        info = await this.install(layout, { ...(options.platform && { platform: options.platform }), ...(tag && { tag }) }, () => formatReference({ ...img.reference, digest: img.digest }));
      } catch (err) {
        if (err instanceof ImageError && !(err instanceof RegistryError)) {
          throw new RegistryError(ref, "unpack", err.message, { ...(err.blob && { blob: err.blob }), cause: err });
        }
        throw err;
      }
      options.onProgress?.({ phase: "unpack", digest: img.manifest.digest, bytes: total, total });
      return info;
    } finally {
      await fsp.rm(layout, { recursive: true, force: true });
    }
  }

  /** Creates the store, and closes one an older warren left reachable (0711). */
  private async ensureDir(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fsp.chmod(this.dir, 0o700);
  }

  /**
   * The one way an image enters the store: unpacked from a layout into a
   * private directory, then renamed into place under the store's lock (a
   * concurrent install of the same image finds it there and keeps it).
   */
  private async install(layoutDir: string, options: ImportOciOptions & { tag?: string }, source: () => string): Promise<ImageInfo> {
    return this.installWith(options.tag, async (tmp) => {
      const r = await importOciLayout(layoutDir, tmp, options);
      return { digest: r.manifestDigest, meta: { layers: r.layers, source: source() }, warnings: r.warnings, devices: r.devices };
    });
  }

  /**
   * `fill` writes `rootfs/` and `config.json` into a private directory and
   * says what the image is; it is renamed into place under the store's lock
   * (a concurrent install of the same image finds it there and keeps it).
   */
  private async installWith(
    tag: string | undefined,
    fill: (tmp: string) => Promise<{ digest: string; meta: Record<string, unknown>; warnings?: string[]; devices?: DeviceNode[] }>,
  ): Promise<ImageInfo> {
    await this.ensureDir();
    const tmp = join(this.dir, `.import-${randomBytes(6).toString("hex")}`);
    try {
      const { digest, meta, warnings = [], devices = [] } = await fill(tmp);
      // Whatever made the tree (debootstrap makes /dev nodes as root), no device node is kept.
      const swept = await sweepDeviceNodes(join(tmp, "rootfs"));
      warnings.push(...swept.map(deviceWarning));
      const id = digest.replace(/^sha(256|512):/, "");
      const final = join(this.dir, id);
      await fsp.writeFile(
        join(tmp, "image.json"),
        JSON.stringify({ digest, ...meta, devices: [...devices, ...swept], importedAt: new Date().toISOString() }, null, 2) + "\n",
        { mode: 0o600 },
      );
      await fsp.chmod(tmp, 0o700);
      await withLock(join(this.dir, ".lock"), async () => {
        if (!existsSync(final)) await fsp.rename(tmp, final);
        if (tag) await this.writeTags({ ...this.readTags(), [tag]: id });
      });
      const info = await this.get(tag ?? id);
      return warnings?.length ? { ...info, warnings } : info;
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Imports an image archive: an OCI layout in a tar (`oci-archive`), or a
   * `docker save` tarball. Tagged `tag`, else with the archive's own name
   * for it (docker's first RepoTag, the layout's `ref.name`) when it has one.
   */
  async importArchive(archive: string, options: ImportOciOptions & { tag?: string } = {}): Promise<ImageInfo> {
    checkTag(options.tag, "import");
    await this.ensureDir();
    const layout = join(this.dir, `.archive-${randomBytes(6).toString("hex")}`);
    try {
      const r = await archiveToLayout(archive, layout);
      const named = r.tags.find((t) => TAG.test(t));
      const tag = options.tag ?? named;
      return await this.install(layout, { ...options, ...(tag ? { tag } : {}) }, () => archive);
    } finally {
      await fsp.rm(layout, { recursive: true, force: true });
    }
  }

  /**
   * Imports a root filesystem directory as a one-layer image (what
   * `docker import` does with a tarball of one), owners and modes as they
   * are on disk.
   *
   * @example
   * ```ts
   * await store.importDirectory("/srv/rootfs/alpine", { tag: "alpine" });
   * ```
   */
  async importDirectory(rootfsDir: string, options: { tag?: string; architecture?: string } = {}): Promise<ImageInfo> {
    checkTag(options.tag, "import");
    await this.ensureDir();
    const layout = join(this.dir, `.directory-${randomBytes(6).toString("hex")}`);
    try {
      await ociLayoutFromDirectory(rootfsDir, layout, options.architecture ? { architecture: options.architecture } : {});
      return await this.install(layout, options.tag ? { tag: options.tag } : {}, () => rootfsDir);
    } finally {
      await fsp.rm(layout, { recursive: true, force: true });
    }
  }

  /**
   * Imports an LXC/Incus image: a unified tarball (`metadata.yaml` +
   * `rootfs/`), or split metadata and rootfs tarballs (xz, gzip, zstd or
   * plain; a squashfs rootfs with `unsquashfs`). The id is the image's
   * Incus fingerprint.
   */
  async importLxc(files: LxcImageFiles, options: ImportLxcOptions & { tag?: string } = {}): Promise<ImageInfo> {
    checkTag(options.tag, "import");
    const { tag, ...lxcOptions } = options;
    return this.installWith(tag, async (tmp) => {
      const r = await importLxcImage(files, tmp, lxcOptions);
      return { digest: r.digest, meta: { layers: [], format: "lxc", metadata: r.metadata, source: files.unified ?? files.rootfs ?? "" }, warnings: r.warnings, devices: r.devices };
    });
  }

  /**
   * Builds a Debian or Ubuntu image with mmdebstrap or debootstrap (from the
   * host's mirror), with an init (`systemd-sysv`). Cached: the same spec
   * (distro, release, variant, architecture, packages) gives the stored
   * image back without building, unless `rebuild`; two processes building
   * the same spec at once build it once. Tagged `DISTRO/RELEASE` (with
   * `:sysvinit` for a sysvinit image) unless told.
   *
   * @example
   * ```ts
   * const img = await store.build("debian/bookworm", { onProgress: (p) => console.log(p.phase, p.done, p.total) });
   * await Container.create("deb", { image: "debian/bookworm" });
   * ```
   */
  async build(spec: string | DistroSpec, options: BuildOptions & { tag?: string; rebuild?: boolean } = {}): Promise<ImageInfo & { cached: boolean }> {
    const full = typeof spec === "string" ? parseDistroSpec(spec) : spec;
    const resolved = resolveSpec(full);
    const tag = options.tag ?? `${resolved.distro}/${resolved.release}${resolved.init === "systemd" ? "" : `:${resolved.init}`}`;
    checkTag(tag, "build");
    await this.ensureDir();
    return withLock(
      join(this.dir, `.build-${resolved.key.slice(0, 16)}.lock`),
      async () => {
        if (!options.rebuild && existsSync(join(this.dir, resolved.key, "image.json"))) {
          await withLock(join(this.dir, ".lock"), async () => this.writeTags({ ...this.readTags(), [tag]: resolved.key }));
          return { ...(await this.get(resolved.key)), cached: true };
        }
        if (options.rebuild) await this.removeUnused(resolved.key);
        const info = await this.installWith(tag, async (tmp) => {
          const r = await buildDistroRootfs(full, tmp, { cacheDir: join(this.dir, ".debs"), ...options });
          return { digest: `sha256:${r.key}`, meta: { layers: [], format: "debootstrap", build: r.spec, tool: r.tool, source: `${r.spec.distro}/${r.spec.release}` } };
        });
        return { ...info, cached: false };
      },
      // A build downloads and installs a distro: minutes on a slow mirror.
      30 * 60_000,
    );
  }

  /** Removes image `id` unless a container uses it (a rebuild replaces an unused image). */
  private async removeUnused(id: string): Promise<void> {
    await this.withCreatesHeld(async () => {
      if ((await this.users(id)).length) throw new StateError(`image ${id} is in use; remove its containers before rebuilding`, "build", "in-use");
      await withLock(join(this.dir, ".lock"), async () => fsp.rm(join(this.dir, id), { recursive: true, force: true }));
    });
  }

  /**
   * Removes images no tag names and no container uses, and cached registry
   * blobs no stored image is made of. Returns what was removed.
   */
  async prune(): Promise<{ images: string[]; blobs: string[] }> {
    const removed = { images: [] as string[], blobs: [] as string[] };
    await this.withCreatesHeld(async () => {
      for (const img of await this.list()) {
        if (img.tags.length || (await this.users(img.id)).length) continue;
        await withLock(join(this.dir, ".lock"), async () => fsp.rm(join(this.dir, img.id), { recursive: true, force: true }));
        removed.images.push(img.id);
      }
    });
    const keep = new Set<string>();
    for (const img of await this.list()) {
      try {
        const meta = JSON.parse(await fsp.readFile(join(this.dir, img.id, "image.json"), "utf8")) as { layers?: string[] };
        for (const l of meta.layers ?? []) keep.add(l.replace(/^sha256:/, ""));
        keep.add(img.id);
        // config.json holds the config blob's bytes as they were pulled: its digest is theirs.
        keep.add(createHash("sha256").update(await fsp.readFile(join(this.dir, img.id, "config.json"))).digest("hex"));
      } catch {
        /* being removed */
      }
    }
    const blobs = join(this.dir, ".blobs", "sha256");
    let names: string[] = [];
    try {
      names = await fsp.readdir(blobs);
    } catch {
      return removed;
    }
    for (const n of names) {
      if (!/^[0-9a-f]{64}$/.test(n) || keep.has(n)) continue;
      // Under the blob's own lock: a pull between verifying and using it holds it.
      await withLock(join(blobs, `${n}.lock`), async () => fsp.rm(join(blobs, n), { force: true }));
      removed.blobs.push(`sha256:${n}`);
    }
    return removed;
  }

  /** An image by tag, id or digest. */
  async get(ref: string): Promise<ImageInfo> {
    const tags = this.readTags();
    const id = tags[ref] ?? ref.replace(/^sha(256|512):/, "");
    if (!/^[0-9a-f]{64,128}$/.test(id)) throw new NotFoundError(`no image ${JSON.stringify(ref)}`);
    const dir = join(this.dir, id);
    const { meta, config } = await readImageFiles(dir, ref);
    return {
      digest: meta.digest,
      id,
      tags: Object.entries(tags).filter(([, v]) => v === id).map(([k]) => k),
      rootfs: join(dir, "rootfs"),
      config,
      source: meta.source,
      importedAt: meta.importedAt,
      devices: meta.devices ?? [],
    };
  }

  async list(): Promise<ImageInfo[]> {
    let entries: string[] = [];
    try {
      entries = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const out: ImageInfo[] = [];
    for (const e of entries.filter((x) => /^[0-9a-f]{64,128}$/.test(x))) out.push(await this.get(e));
    return out;
  }

  /**
   * Removes an image (and its tags); refused while a container is made from
   * it. Holds the runtime's create lock meanwhile, so no container can be
   * created on it between the check and the removal.
   */
  async remove(ref: string): Promise<void> {
    await this.withCreatesHeld(async () => {
      const img = await this.get(ref);
      const inUse = await this.users(img.id);
      if (inUse.length) {
        throw new StateError(`image ${JSON.stringify(ref)} is used by ${inUse.join(", ")}`, "remove", "in-use");
      }
      await withLock(join(this.dir, ".lock"), async () => {
        const tags = this.readTags();
        for (const t of img.tags) delete tags[t];
        await this.writeTags(tags);
        await fsp.rm(join(this.dir, img.id), { recursive: true, force: true });
      });
    });
  }

  /** Runs `fn` holding the runtime root's lock, the one Container.create holds. */
  private async withCreatesHeld<T>(fn: () => Promise<T>): Promise<T> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o711 });
    return withLock(join(this.root, ".lock"), fn);
  }
}
