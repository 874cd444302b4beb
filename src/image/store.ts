/**
 * The local image store under a runtime root: one directory per image,
 * named by its manifest digest (content-addressed: the same image imported
 * twice, by two processes at once, is stored once), and tags naming them.
 *
 *     <root>/.images/<digest hex>/rootfs/      the unpacked image, read-only to containers
 *     <root>/.images/<digest hex>/config.json  the OCI image config
 *     <root>/.images/<digest hex>/image.json   what it is: digest, source, layers, import time
 *     <root>/.images/tags.json                 name -> digest hex
 * @module
 */
import { existsSync, promises as fsp, readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

import { withLock } from "../container/lock.js";
import { codeOf, NotFoundError, StateError } from "../errors.js";
import { importOciLayout, type ImageConfig, type ImportOciOptions } from "./oci.js";

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
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

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
    const tmp = `${this.tagsFile}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(tags, null, 2) + "\n");
    await fsp.rename(tmp, this.tagsFile);
  }

  /**
   * Imports an OCI image layout directory (tagging it `tag` when given).
   * Unpacked into a private temporary directory and renamed into place, so a
   * concurrent import of the same image finds it complete or not at all.
   */
  async importOci(layoutDir: string, options: ImportOciOptions & { tag?: string } = {}): Promise<ImageInfo> {
    if (options.tag !== undefined && !TAG.test(options.tag)) throw new StateError(`bad image tag ${JSON.stringify(options.tag)}`, "import", "tag");
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await fsp.chmod(this.dir, 0o711);
    const tmp = join(this.dir, `.import-${randomBytes(6).toString("hex")}`);
    try {
      const r = await importOciLayout(layoutDir, tmp, options);
      const id = r.manifestDigest.replace(/^sha(256|512):/, "");
      const final = join(this.dir, id);
      await fsp.writeFile(
        join(tmp, "image.json"),
        JSON.stringify({ digest: r.manifestDigest, layers: r.layers, source: layoutDir, importedAt: new Date().toISOString() }, null, 2) + "\n",
      );
      await withLock(join(this.dir, ".lock"), async () => {
        if (!existsSync(final)) await fsp.rename(tmp, final);
        if (options.tag) await this.writeTags({ ...this.readTags(), [options.tag]: id });
      });
      return this.get(options.tag ?? id);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  /** An image by tag, id or digest. */
  async get(ref: string): Promise<ImageInfo> {
    const tags = this.readTags();
    const id = tags[ref] ?? ref.replace(/^sha(256|512):/, "");
    if (!/^[0-9a-f]{64,128}$/.test(id)) throw new NotFoundError(`no image ${JSON.stringify(ref)}`);
    const dir = join(this.dir, id);
    let meta: { digest: string; source: string; importedAt: string };
    try {
      meta = JSON.parse(await fsp.readFile(join(dir, "image.json"), "utf8"));
    } catch {
      throw new NotFoundError(`no image ${JSON.stringify(ref)}`);
    }
    const config = JSON.parse(await fsp.readFile(join(dir, "config.json"), "utf8")) as ImageConfig;
    return {
      digest: meta.digest,
      id,
      tags: Object.entries(tags).filter(([, v]) => v === id).map(([k]) => k),
      rootfs: join(dir, "rootfs"),
      config,
      source: meta.source,
      importedAt: meta.importedAt,
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

  /** Removes an image (and its tags); refused while a container is made from it. */
  async remove(ref: string): Promise<void> {
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
  }
}
