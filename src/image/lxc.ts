/**
 * Imports LXC/Incus image tarballs (images.linuxcontainers.org, `incus image
 * export`, distrobuilder) into the same on-disk shape as an OCI import:
 * `<destDir>/rootfs/` and `<destDir>/config.json` (an OCI image config).
 *
 * - unified: one tarball holding `metadata.yaml`, `templates/` and `rootfs/…`;
 * - split: a metadata tarball (`metadata.yaml`, `templates/`) and a rootfs,
 *   either a tarball or a squashfs (unpacked with `unsquashfs`, when installed).
 *
 * Compression (gzip, xz, zstd, none) is told by magic bytes. The rootfs is
 * applied with the layer applier (./layer.ts), so it is contained the same
 * way; OCI whiteouts mean nothing here and are not applied. Templates
 * (`templates:` in metadata.yaml, files under `templates/`) are not applied:
 * they are listed in the warnings.
 * @module
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import { join } from "node:path";

import { ImageError, MissingToolError } from "../errors.js";
import { deviceWarning, settleDevices, sweepDeviceNodes, type DeviceNode } from "./devices.js";
import { applyLayer, normalizeEntryPath } from "./layer.js";
import { ociArchitecture, type ImageConfig } from "./oci.js";
import { readTar, type TarEntry } from "./tar.js";
import { parseYamlSubset, type YamlValue } from "./yaml.js";

// ---------------------------------------------------------------- metadata

export interface LxcMetadata {
  /** As written by LXC (`x86_64`, `aarch64`, `amd64`, …). */
  architecture: string;
  /** `creation_date` (seconds since the epoch), when given. */
  creationDate?: Date;
  expiryDate?: Date;
  /** `properties`: os, release, variant, description, serial, name, …, as strings. */
  properties: Record<string, string>;
  /** Paths in the container that `templates:` would write (not applied by warren). */
  templates: string[];
}

/** LXC/kernel architecture names to OCI's, with OCI's variant where one applies. */
const ARCHES: Record<string, [string, string?]> = {
  x86_64: ["amd64"],
  amd64: ["amd64"],
  aarch64: ["arm64"],
  arm64: ["arm64"],
  armv7l: ["arm", "v7"],
  armhf: ["arm", "v7"],
  armv6l: ["arm", "v6"],
  i686: ["386"],
  i386: ["386"],
  ppc64le: ["ppc64le"],
  ppc64el: ["ppc64le"],
  s390x: ["s390x"],
  riscv64: ["riscv64"],
  loongarch64: ["loong64"],
};

/** The OCI architecture (and variant) of an LXC architecture name; unknown names pass through. */
export function lxcToOciArchitecture(arch: string): { architecture: string; variant?: string } {
  const [architecture, variant] = ARCHES[arch] ?? [arch];
  return variant ? { architecture, variant } : { architecture };
}

function date(v: YamlValue | undefined, key: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !/^\d+$/.test(v)) throw new ImageError(`metadata.yaml: ${key} is not a number of seconds`);
  return new Date(Number(v) * 1000);
}

/** Reads metadata.yaml: `architecture` is required, the rest optional. */
export function parseLxcMetadata(text: string): LxcMetadata {
  const doc = parseYamlSubset(text);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ImageError("metadata.yaml: not a mapping");
  const arch = doc.architecture;
  if (typeof arch !== "string" || arch === "") throw new ImageError("metadata.yaml: no architecture");
  const properties: Record<string, string> = {};
  const props = doc.properties;
  if (props && typeof props === "object" && !Array.isArray(props)) {
    for (const [k, v] of Object.entries(props)) if (typeof v === "string") properties[k] = v;
  }
  const t = doc.templates;
  const templates = t && typeof t === "object" && !Array.isArray(t) ? Object.keys(t) : [];
  const out: LxcMetadata = { architecture: arch, properties, templates };
  const created = date(doc.creation_date, "creation_date");
  const expires = date(doc.expiry_date, "expiry_date");
  if (created) out.creationDate = created;
  if (expires) out.expiryDate = expires;
  return out;
}

// ---------------------------------------------------------------- import

export interface LxcImageFiles {
  /** One tarball with `metadata.yaml` and `rootfs/`. */
  unified?: string;
  /** The metadata tarball of a split image. */
  metadata?: string;
  /** The rootfs of a split image: a tarball or a squashfs. */
  rootfs?: string;
}

export interface ImportLxcOptions {
  /**
   * The OCI architecture the image must be for (default: this machine's);
   * `false` accepts any.
   */
  architecture?: string | false;
  /** The command put in the config (default `["/sbin/init"]`). */
  cmd?: string[];
}

export interface ImportLxcResult {
  /**
   * `sha256:` + the Incus fingerprint: the SHA-256 of the unified tarball,
   * or of the metadata tarball followed by the rootfs (what `incus image
   * list` shows). Stable for the same files: the store's id.
   */
  digest: string;
  metadata: LxcMetadata;
  config: ImageConfig;
  /** `<destDir>/rootfs`. */
  rootfs: string;
  /** Devices not made, skipped xattrs/ownership, ignored templates. */
  warnings: string[];
  /** The image's device nodes, recorded and not made on the host (devices.ts). */
  devices: DeviceNode[];
}

const MAX_METADATA = 1 << 20;

async function readBody(e: TarEntry, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of e.body) {
    n += (c as Buffer).length;
    if (n > MAX_METADATA) throw new ImageError(`${what}: metadata.yaml is larger than ${MAX_METADATA} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The first component of an archive path, and whether it is `metadata.yaml` itself. */
function topLevel(p: string): { top: string; rest: string[] } {
  const comps = normalizeEntryPath(p);
  return { top: comps[0] ?? "", rest: comps.slice(1) };
}

async function fingerprint(paths: string[]): Promise<string> {
  const h = createHash("sha256");
  for (const p of paths) for await (const c of createReadStream(p)) h.update(c as Buffer);
  return `sha256:${h.digest("hex")}`;
}

function hasSquashfsMagic(head: Buffer): boolean {
  return head.length >= 4 && head.toString("latin1", 0, 4) === "hsqs";
}

async function unsquash(file: string, dest: string): Promise<void> {
  const child = spawn("unsquashfs", ["-n", "-f", "-d", dest, file], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => {
    if (stderr.length < 4096) stderr += b.toString();
  });
  const r = await new Promise<{ code: number | null; err?: NodeJS.ErrnoException }>((resolve) => {
    child.once("error", (err) => resolve({ code: null, err }));
    child.once("close", (code) => resolve({ code }));
  });
  if (r.err?.code === "ENOENT") throw new MissingToolError("unsquashfs", "squashfs-tools", `the squashfs rootfs \`${file}\``);
  if (r.err || r.code !== 0) throw new ImageError(`unsquashfs \`${file}\`: ${r.err?.message ?? stderr.trim().split("\n").pop() ?? `exit status ${r.code}`}`);
}

/** The metadata of a split image's metadata tarball; templates named in the warnings. */
async function readMetadataTarball(path: string, warnings: string[]): Promise<LxcMetadata> {
  let text: string | undefined;
  const extra: string[] = [];
  for await (const e of readTar(createReadStream(path), { source: path })) {
    const { top, rest } = topLevel(e.path);
    if (top === "metadata.yaml" && rest.length === 0 && e.type === "file") text = await readBody(e, path);
    else if (top === "templates" && rest.length) extra.push(rest.join("/"));
  }
  if (text === undefined) throw new ImageError(`\`${path}\`: no metadata.yaml`);
  if (extra.length) warnings.push(`templates not applied: ${extra.join(", ")}`);
  return parseLxcMetadata(text);
}

function checkArchitecture(meta: LxcMetadata, opts: ImportLxcOptions, source: string): void {
  if (opts.architecture === false) return;
  const want = opts.architecture ?? ociArchitecture();
  const got = lxcToOciArchitecture(meta.architecture).architecture;
  if (got !== want) throw new ImageError(`${source}: image is for ${meta.architecture} (${got}), not ${want}`);
}

function imageConfig(meta: LxcMetadata, opts: ImportLxcOptions): ImageConfig {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.properties)) labels[`org.linuxcontainers.image.${k}`] = v;
  if (meta.properties.description) labels["org.opencontainers.image.description"] = meta.properties.description;
  return {
    ...lxcToOciArchitecture(meta.architecture),
    os: "linux",
    ...(meta.creationDate ? { created: meta.creationDate.toISOString() } : {}),
    config: {
      Cmd: opts.cmd ?? ["/sbin/init"],
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Labels: labels,
      // systemd and SysV init both stop cleanly on SIGRTMIN+3 / SIGPWR; LXC uses SIGPWR by default.
      StopSignal: "SIGPWR",
    },
    // No layers: the rootfs is one tree, not a changeset (diff_ids are not computed).
    rootfs: { type: "layers", diff_ids: [] },
  };
}

/**
 * Imports an LXC/Incus image into `destDir` (`rootfs/`, which must not exist
 * or be empty, and `config.json`). On failure what it made in `destDir` is
 * removed (`destDir` too when it did not exist before).
 *
 * Throws {@link ImageError} for a malformed image (no metadata.yaml, paths
 * escaping the rootfs, another architecture), `DecompressionError` naming
 * the file when its compressed data is corrupt or cut short, and
 * `MissingToolError` for a squashfs rootfs without `unsquashfs`.
 *
 * @example
 * ```ts
 * const r = await importLxcImage({ metadata: "incus.tar.xz", rootfs: "rootfs.tar.xz" }, "/tmp/img");
 * r.metadata.properties.os; // "debian"
 * ```
 */
export async function importLxcImage(files: LxcImageFiles, destDir: string, options: ImportLxcOptions = {}): Promise<ImportLxcResult> {
  const split = files.metadata !== undefined || files.rootfs !== undefined;
  if (files.unified !== undefined ? split : !(files.metadata !== undefined && files.rootfs !== undefined)) {
    throw new ImageError("an LXC image is either `unified` or `metadata` + `rootfs`");
  }
  const destExisted = await fsp.stat(destDir).then(() => true, () => false);
  const rootfs = join(destDir, "rootfs");
  const rootfsExisted = await fsp.stat(rootfs).then(() => true, () => false);
  await fsp.mkdir(rootfs, { recursive: true, mode: 0o755 });
  if ((await fsp.readdir(rootfs)).length) throw new ImageError(`${rootfs} is not empty`);
  const warnings: string[] = [];
  let devices: DeviceNode[] = [];
  try {
    let metadata: LxcMetadata;
    let digest: string;
    if (files.unified !== undefined) {
      const source = files.unified;
      let text: string | undefined;
      const templates: string[] = [];
      const r = await applyLayer(createReadStream(source), rootfs, {
        source,
        whiteouts: false,
        onEntry: async (e) => {
          const { top, rest } = topLevel(e.path);
          if (top === "metadata.yaml" && rest.length === 0 && e.type === "file") text = await readBody(e, source);
          else if (top === "templates" && rest.length) templates.push(rest.join("/"));
        },
        rename: (p) => {
          const { top, rest } = topLevel(p);
          return top === "rootfs" ? (rest.length ? rest.join("/") : ".") : null;
        },
      });
      warnings.push(...r.warnings);
      devices = await settleDevices(rootfs, r.devices);
      if (text === undefined) throw new ImageError(`\`${source}\`: no metadata.yaml`);
      metadata = parseLxcMetadata(text);
      checkArchitecture(metadata, options, `\`${source}\``);
      if (templates.length) warnings.push(`templates not applied: ${templates.join(", ")}`);
      digest = await fingerprint([source]);
    } else {
      metadata = await readMetadataTarball(files.metadata!, warnings);
      checkArchitecture(metadata, options, `\`${files.metadata}\``);
      const source = files.rootfs!;
      const fh = await fsp.open(source, "r");
      const head = Buffer.alloc(4);
      try {
        await fh.read(head, 0, 4, 0);
      } finally {
        await fh.close();
      }
      if (hasSquashfsMagic(head)) {
        await unsquash(source, rootfs);
        // unsquashfs makes the image's device nodes (as root): taken out at once.
        devices = await sweepDeviceNodes(rootfs);
        warnings.push(...devices.map(deviceWarning));
      } else {
        const r = await applyLayer(createReadStream(source), rootfs, { source, whiteouts: false });
        warnings.push(...r.warnings);
        devices = await settleDevices(rootfs, r.devices);
      }
      digest = await fingerprint([files.metadata!, source]);
    }
    if (metadata.templates.length && !warnings.some((w) => w.startsWith("templates not applied"))) {
      warnings.push(`templates not applied: ${metadata.templates.join(", ")}`);
    }
    const config = imageConfig(metadata, options);
    await fsp.writeFile(join(destDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
    return { digest, metadata, config, rootfs, warnings, devices };
  } catch (err) {
    if (!destExisted) await fsp.rm(destDir, { recursive: true, force: true });
    else {
      await fsp.rm(rootfs, { recursive: true, force: true });
      if (rootfsExisted) await fsp.mkdir(rootfs, { mode: 0o755 }).catch(() => {});
    }
    throw err;
  }
}
