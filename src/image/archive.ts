/**
 * Image archives: an OCI image layout packed in a tar (`oci-archive`, what
 * `skopeo copy … oci-archive:` and `podman save --format oci-archive`
 * write), and `docker save` tarballs (`manifest.json` naming a config and
 * layer tars per image; recent Docker writes an OCI layout beside it).
 * Both become an OCI image layout directory for the layout importer, so
 * every check it makes (sizes, digests, diff_ids, containment) applies.
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";

import { detectFileCompression } from "./compress.js";
import { ImageError } from "../errors.js";
import { MEDIA } from "./oci.js";
import { readTar } from "./tar.js";

/** What an archive held: the layout directory written, and the tags it named. */
export interface UnpackedArchive {
  format: "oci-archive" | "docker-save";
  /** `RepoTags` of the first image of a docker save, or the layout's `ref.name` annotation. */
  tags: string[];
}

/** A member name as a relative path inside the archive, or an error for anything that could leave it. */
function memberPath(name: string, archive: string): string {
  const norm = posix.normalize(name.replace(/^\.\/+/, ""));
  if (norm === "." || norm === "") return "";
  if (posix.isAbsolute(norm) || norm === ".." || norm.startsWith("../")) {
    throw new ImageError(`\`${archive}\`: member ${JSON.stringify(name)} points outside the archive`, { entry: name });
  }
  return norm.replace(/\/+$/, "");
}

/**
 * Writes the archive's regular files below `dir` (directories made as
 * needed). Links between members (docker save links a layer it already
 * wrote) become hard links to the member they name, when that stays inside
 * the archive; devices and anything else are ignored: an image archive
 * holds only blobs and JSON.
 */
async function extractFiles(archive: string, dir: string): Promise<void> {
  const links: { rel: string; target: string }[] = [];
  for await (const e of readTar(createReadStream(archive), { source: archive })) {
    if (e.type === "symlink" || e.type === "hardlink") {
      const rel = memberPath(e.path, archive);
      // A symlink's target is relative to its directory, a hard link's to the archive.
      const target = e.type === "symlink" && !e.linkname.startsWith("/") ? posix.join(posix.dirname(rel), e.linkname) : e.linkname;
      if (rel) links.push({ rel, target: memberPath(target, archive) });
      continue;
    }
    if (e.type !== "file") continue;
    const rel = memberPath(e.path, archive);
    if (!rel) continue;
    const to = join(dir, rel);
    await fsp.mkdir(join(to, ".."), { recursive: true });
    // A fresh directory and names without "..": `to` is inside `dir`, and
    // "wx" never follows or overwrites anything already there.
    await pipeline(e.body, createWriteStream(to, { flags: "wx", mode: 0o600 }));
  }
  for (const l of links) {
    const to = join(dir, l.rel);
    await fsp.mkdir(join(to, ".."), { recursive: true });
    // Only to a regular file extracted above (lstat: never through a link).
    const st = await fsp.lstat(join(dir, l.target)).catch(() => undefined);
    if (st?.isFile()) await fsp.link(join(dir, l.target), to).catch(() => undefined);
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await fsp.readFile(path, "utf8"));
  } catch (e) {
    throw new ImageError(`${what}: ${(e as Error).message}`, { cause: e });
  }
}

async function sha256File(path: string): Promise<{ hex: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hex: h.digest("hex"), size };
}

/**
 * Unpacks `archive` into `layoutDir` as an OCI image layout. Throws an
 * {@link ImageError} naming what is wrong when it is neither format.
 */
export async function archiveToLayout(archive: string, layoutDir: string): Promise<UnpackedArchive> {
  const raw = join(layoutDir, ".archive");
  await fsp.mkdir(raw, { recursive: true, mode: 0o700 });
  try {
    await extractFiles(archive, raw);
    const has = (p: string) => fsp.access(join(raw, p)).then(() => true, () => false);
    if ((await has("oci-layout")) && (await has("index.json"))) {
      // Docker 25+ writes both: its manifest.json names the image in full
      // (`nginx:1.27`), the layout's ref.name only the tag (`1.27`).
      const repoTags = (await has("manifest.json")) ? dockerRepoTags(await readJson(join(raw, "manifest.json"), `\`${archive}\`: manifest.json`)) : [];
      for (const e of await fsp.readdir(raw)) await fsp.rename(join(raw, e), join(layoutDir, e));
      const index = (await readJson(join(layoutDir, "index.json"), `\`${archive}\`: index.json`)) as { manifests?: { annotations?: Record<string, string> }[] };
      const named = (index.manifests ?? [])
        .map((m) => m.annotations?.["io.containerd.image.name"] ?? m.annotations?.["org.opencontainers.image.ref.name"])
        .filter((t): t is string => !!t);
      return { format: "oci-archive", tags: repoTags.length ? repoTags : named };
    }
    if (await has("manifest.json")) return { format: "docker-save", tags: await dockerSaveToLayout(archive, raw, layoutDir) };
    throw new ImageError(`\`${archive}\` is neither an OCI archive (oci-layout, index.json) nor a docker save tarball (manifest.json)`);
  } finally {
    await fsp.rm(raw, { recursive: true, force: true });
  }
}

/** The first image's RepoTags in a docker save manifest.json. */
function dockerRepoTags(list: unknown): string[] {
  const first = Array.isArray(list) ? (list[0] as { RepoTags?: unknown } | undefined) : undefined;
  return Array.isArray(first?.RepoTags) ? first.RepoTags.filter((t): t is string => typeof t === "string") : [];
}

/** docker save's manifest.json → an OCI layout (Docker v2 media types); returns the first image's tags. */
async function dockerSaveToLayout(archive: string, raw: string, layoutDir: string): Promise<string[]> {
  const list = await readJson(join(raw, "manifest.json"), `\`${archive}\`: manifest.json`);
  const first = Array.isArray(list) ? (list[0] as { Config?: unknown; Layers?: unknown; RepoTags?: unknown }) : undefined;
  if (!first || typeof first.Config !== "string" || !Array.isArray(first.Layers) || !first.Layers.every((l) => typeof l === "string")) {
    throw new ImageError(`\`${archive}\`: manifest.json: expected [{Config, Layers, RepoTags}]`);
  }
  const blobs = join(layoutDir, "blobs/sha256");
  await fsp.mkdir(blobs, { recursive: true });
  /** Moves an archive member into the blob store under its own digest. */
  const blob = async (member: string) => {
    const from = join(raw, memberPath(member, archive));
    const { hex, size } = await sha256File(from).catch((e) => {
      throw new ImageError(`\`${archive}\`: ${member}: ${(e as Error).message}`, { entry: member, cause: e });
    });
    await fsp.rename(from, join(blobs, hex)).catch(async (e) => {
      // The same content named twice (docker save links equal layers).
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    });
    return { digest: `sha256:${hex}`, size, path: join(blobs, hex) };
  };
  const config = await blob(first.Config);
  const layers = [];
  for (const l of first.Layers as string[]) {
    const b = await blob(l);
    const gz = (await detectFileCompression(b.path)) === "gzip";
    layers.push({ mediaType: gz ? MEDIA.dockerLayerGzip : MEDIA.dockerLayer, digest: b.digest, size: b.size });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: { mediaType: MEDIA.dockerConfig, digest: config.digest, size: config.size },
      layers,
    }),
  );
  const mhex = createHash("sha256").update(manifest).digest("hex");
  await fsp.writeFile(join(blobs, mhex), manifest);
  const tags = dockerRepoTags(list);
  await fsp.writeFile(join(layoutDir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await fsp.writeFile(
    join(layoutDir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: MEDIA.dockerManifest, digest: `sha256:${mhex}`, size: manifest.length, ...(tags[0] ? { annotations: { "org.opencontainers.image.ref.name": tags[0] } } : {}) }],
    }),
  );
  return tags;
}

/**
 * What kind of image a tarball holds, from its first telling member (read
 * until one is found, not the whole archive): `archive` for an OCI archive
 * or a docker save, `lxc` for an LXC/Incus unified tarball.
 */
export async function sniffImageTarball(path: string): Promise<"archive" | "lxc" | undefined> {
  const stream = createReadStream(path);
  try {
    for await (const e of readTar(stream, { source: path })) {
      const top = e.path.replace(/^\.\/+/, "").split("/")[0] ?? "";
      if (top === "metadata.yaml" || top === "rootfs" || top === "templates") return "lxc";
      if (["manifest.json", "oci-layout", "index.json", "blobs", "repositories"].includes(top) || /^[0-9a-f]{64}(\.json)?$/.test(top)) return "archive";
    }
    return undefined;
  } finally {
    stream.destroy();
  }
}
