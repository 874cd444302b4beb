/**
 * Imports an image from an OCI image layout directory (`oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`): picks the manifest for a platform,
 * verifies every blob's digest and size, applies the layers in order into
 * `<destDir>/rootfs` and writes the image config to `<destDir>/config.json`.
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import { join } from "node:path";

import { decompress } from "./compress.js";
import { DecompressionError } from "../errors.js";
import { ImageError } from "../errors.js";
import { applyLayer } from "./layer.js";
import { settleDevices, type DeviceNode } from "./devices.js";

export interface Platform {
  os: "linux";
  architecture: string;
  variant?: string;
}

export interface ImportOciOptions {
  /** Default: linux and the architecture of this process (x64→amd64, arm64→arm64, …). */
  platform?: Platform;
  /** Value of the `org.opencontainers.image.ref.name` annotation in index.json; default the first manifest. */
  ref?: string;
}

/** The image config (OCI image-spec config / Docker image v1 JSON), loosely typed. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    [k: string]: unknown;
  };
  rootfs: { type: string; diff_ids: string[] };
  [k: string]: unknown;
}

export interface ImportOciResult {
  manifestDigest: string;
  config: ImageConfig;
  /** Layer digests, in the order they were applied. */
  layers: string[];
  /** `<destDir>/rootfs`. */
  rootfs: string;
  /** Warnings of the layers (devices not made, skipped xattrs, ownership). */
  warnings: string[];
  /** The image's device nodes, recorded and not made on the host (devices.ts). */
  devices: DeviceNode[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
const CONFIG_TYPES = new Set<string>([MEDIA.ociConfig, MEDIA.dockerConfig]);
/**
 * Layer media types. The compression a type names is not trusted: layers
 * are decompressed by their magic bytes (gzip, zstd, xz, or none), as
 * Docker itself does for `diff.tar`.
 */
const LAYER_TYPES = new Set<string>([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd", // containerd's name for zstd Docker layers
  "application/vnd.docker.image.rootfs.foreign.diff.tar",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

/** Largest JSON blob (index, manifest, config) read into memory. */
const MAX_JSON = 16 << 20;

/** Node's `process.arch` in OCI terms. */
export function ociArchitecture(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64" };
  return map[arch] ?? arch;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw new ImageError(`${where}: descriptor is not an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== "string") throw new ImageError(`${where}: descriptor has no mediaType`);
  if (typeof digest !== "string" || !/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(digest)) {
    throw new ImageError(`${where}: invalid digest ${JSON.stringify(digest)}`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new ImageError(`${where}: invalid size for ${digest}`, { blob: digest });
  }
  return v as unknown as Descriptor;
}

function blobPath(layoutDir: string, digest: string): string {
  const [alg, hex] = digest.split(":") as [string, string];
  return join(layoutDir, "blobs", alg, hex);
}

/** Streams a blob, checking its size and digest as it goes. Rejects with ImageError naming the blob. */
async function verifyBlob(layoutDir: string, d: Descriptor, keep: boolean): Promise<Buffer | null> {
  const alg = d.digest.slice(0, d.digest.indexOf(":"));
  const hash = createHash(alg);
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of createReadStream(blobPath(layoutDir, d.digest))) {
      n += (chunk as Buffer).length;
      if (n > d.size) break;
      hash.update(chunk as Buffer);
      if (keep) chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw new ImageError(`blob ${d.digest}: cannot read: ${(err as Error).message}`, { blob: d.digest, cause: err });
  }
  if (n !== d.size) {
    throw new ImageError(`blob ${d.digest}: size mismatch (descriptor says ${d.size}, blob has ${n > d.size ? "more" : n})`, {
      blob: d.digest,
    });
  }
  const got = `${alg}:${hash.digest("hex")}`;
  if (got !== d.digest) throw new ImageError(`blob ${d.digest}: digest mismatch (content is ${got})`, { blob: d.digest });
  return keep ? Buffer.concat(chunks) : null;
}

/** Checks a layer's uncompressed content against its config `rootfs.diff_ids` entry. */
async function verifyDiffId(layoutDir: string, d: Descriptor, diffId: unknown): Promise<void> {
  if (typeof diffId !== "string" || !/^sha256:[a-f0-9]{64}$/.test(diffId)) {
    throw new ImageError(`layer ${d.digest}: invalid diff_id ${JSON.stringify(diffId)}`, { blob: d.digest });
  }
  const path = blobPath(layoutDir, d.digest);
  const hash = createHash("sha256");
  try {
    for await (const chunk of decompress(createReadStream(path), { source: `layer ${d.digest}`, blob: d.digest })) hash.update(chunk);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`layer ${d.digest}: cannot decompress: ${(err as Error).message}`, { blob: d.digest, cause: err });
  }
  const got = `sha256:${hash.digest("hex")}`;
  if (got !== diffId) {
    throw new ImageError(`layer ${d.digest}: uncompressed content is ${got}, config diff_id says ${diffId}`, { blob: d.digest });
  }
}

async function readJsonBlob(layoutDir: string, d: Descriptor): Promise<Record<string, unknown>> {
  if (d.size > MAX_JSON) throw new ImageError(`blob ${d.digest}: too large for JSON (${d.size} bytes)`, { blob: d.digest });
  const data = (await verifyBlob(layoutDir, d, true))!;
  let v: unknown;
  try {
    v = JSON.parse(data.toString("utf8"));
  } catch (err) {
    throw new ImageError(`blob ${d.digest}: invalid JSON`, { blob: d.digest, cause: err });
  }
  if (!isObject(v)) throw new ImageError(`blob ${d.digest}: not a JSON object`, { blob: d.digest });
  return v;
}

/** Whether an index entry is for platform `p`: os and architecture must match, a variant only when both name one. */
export function matches(d: Descriptor, p: Platform): boolean {
  if (!d.platform) return true;
  if (d.platform.os !== undefined && d.platform.os !== p.os) return false;
  if (d.platform.architecture !== undefined && d.platform.architecture !== p.architecture) return false;
  if (p.variant !== undefined && d.platform.variant !== undefined && d.platform.variant !== p.variant) return false;
  return true;
}

function pick(manifests: unknown, where: string, platform: Platform, ref?: string): Descriptor {
  if (!Array.isArray(manifests)) throw new ImageError(`${where}: no manifests array`);
  let ds = manifests.map((m, i) => checkDescriptor(m, `${where}: manifests[${i}]`));
  if (ref !== undefined) {
    ds = ds.filter((d) => d.annotations?.["org.opencontainers.image.ref.name"] === ref);
    if (!ds.length) throw new ImageError(`${where}: no manifest with ref.name ${JSON.stringify(ref)}`);
  }
  const found = ds.find((d) => (INDEX_TYPES.has(d.mediaType) || MANIFEST_TYPES.has(d.mediaType)) && matches(d, platform));
  if (!found) {
    throw new ImageError(`${where}: no manifest for ${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`);
  }
  return found;
}

/**
 * Imports the image of an OCI layout directory into `destDir`: layers into
 * `<destDir>/rootfs` (which must not exist or be empty), config into
 * `<destDir>/config.json`. Every blob's size and digest, and every layer's
 * uncompressed digest (config `rootfs.diff_ids`), are checked before anything
 * is extracted. Throws {@link ImageError} on a malformed layout, an
 * unsupported media type, or a blob whose size or digest does not match.
 */
export async function importOciLayout(layoutDir: string, destDir: string, opts: ImportOciOptions = {}): Promise<ImportOciResult> {
  const platform: Platform = opts.platform ?? { os: "linux", architecture: ociArchitecture() };

  let layout: unknown;
  try {
    layout = JSON.parse(await fsp.readFile(join(layoutDir, "oci-layout"), "utf8"));
  } catch (err) {
    throw new ImageError(`${layoutDir}: not an OCI layout (oci-layout unreadable)`, { cause: err });
  }
  const version = isObject(layout) ? layout.imageLayoutVersion : undefined;
  if (typeof version !== "string" || !/^1\.\d+\.\d+$/.test(version)) {
    throw new ImageError(`${layoutDir}: unsupported imageLayoutVersion ${JSON.stringify(version)}`);
  }
  let index: unknown;
  try {
    index = JSON.parse(await fsp.readFile(join(layoutDir, "index.json"), "utf8"));
  } catch (err) {
    throw new ImageError(`${layoutDir}: index.json unreadable`, { cause: err });
  }
  if (!isObject(index)) throw new ImageError(`${layoutDir}: index.json is not an object`);

  // Follow image indexes (manifest lists) down to a manifest.
  let desc = pick(index.manifests, "index.json", platform, opts.ref);
  for (let depth = 0; INDEX_TYPES.has(desc.mediaType); depth++) {
    if (depth > 8) throw new ImageError(`${layoutDir}: image indexes nested too deeply`);
    const sub = await readJsonBlob(layoutDir, desc);
    desc = pick(sub.manifests, `index ${desc.digest}`, platform);
  }
  const manifest = await readJsonBlob(layoutDir, desc);
  const manifestDigest = desc.digest;
  if (typeof manifest.mediaType === "string" && !MANIFEST_TYPES.has(manifest.mediaType)) {
    throw new ImageError(`manifest ${manifestDigest}: unsupported mediaType ${manifest.mediaType}`, { blob: manifestDigest });
  }
  const configDesc = checkDescriptor(manifest.config, `manifest ${manifestDigest}: config`);
  if (!CONFIG_TYPES.has(configDesc.mediaType)) {
    throw new ImageError(`manifest ${manifestDigest}: unsupported config mediaType ${configDesc.mediaType}`, { blob: configDesc.digest });
  }
  if (!Array.isArray(manifest.layers)) throw new ImageError(`manifest ${manifestDigest}: no layers array`, { blob: manifestDigest });
  const layers = manifest.layers.map((l, i) => checkDescriptor(l, `manifest ${manifestDigest}: layers[${i}]`));
  for (const l of layers) {
    if (!LAYER_TYPES.has(l.mediaType)) {
      throw new ImageError(`layer ${l.digest}: unsupported mediaType ${l.mediaType}`, { blob: l.digest });
    }
  }

  const configBytes = (await verifyBlob(layoutDir, configDesc, true))!;
  let config: ImageConfig;
  try {
    config = JSON.parse(configBytes.toString("utf8")) as ImageConfig;
  } catch (err) {
    throw new ImageError(`config ${configDesc.digest}: invalid JSON`, { blob: configDesc.digest, cause: err });
  }
  if (!isObject(config) || !isObject(config.rootfs) || !Array.isArray(config.rootfs.diff_ids)) {
    throw new ImageError(`config ${configDesc.digest}: no rootfs.diff_ids`, { blob: configDesc.digest });
  }
  if (config.rootfs.diff_ids.length !== layers.length) {
    throw new ImageError(
      `config ${configDesc.digest}: ${config.rootfs.diff_ids.length} diff_ids for ${layers.length} layers`,
      { blob: configDesc.digest },
    );
  }

  const rootfs = join(destDir, "rootfs");
  await fsp.mkdir(rootfs, { recursive: true, mode: 0o755 });
  if ((await fsp.readdir(rootfs)).length) throw new ImageError(`${rootfs} is not empty`);

  const warnings: string[] = [];
  const devices: DeviceNode[] = [];
  // Verify every layer blob before extracting anything: nothing unverified is applied.
  for (const [i, l] of layers.entries()) {
    await verifyBlob(layoutDir, l, false);
    await verifyDiffId(layoutDir, l, config.rootfs.diff_ids[i]);
  }
  for (const l of layers) {
    try {
      const r = await applyLayer(createReadStream(blobPath(layoutDir, l.digest)), rootfs, { source: `layer ${l.digest}`, blob: l.digest });
      warnings.push(...r.warnings.map((w) => `${l.digest}: ${w}`));
      devices.push(...r.devices);
    } catch (err) {
      if (err instanceof DecompressionError) throw err; // already names the layer
      if (err instanceof ImageError) {
        throw new ImageError(`layer ${l.digest}: ${err.message}`, { blob: l.digest, cause: err });
      }
      throw err;
    }
  }
  await fsp.writeFile(join(destDir, "config.json"), configBytes);
  return { manifestDigest, config, layers: layers.map((l) => l.digest), rootfs, warnings, devices: await settleDevices(rootfs, devices) };
}
