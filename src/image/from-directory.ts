/**
 * An OCI image layout made from a directory: one gzip layer of the tree
 * (GNU tar, pax format, sorted so the same tree gives the same digest), its
 * config and manifest. The way to turn a rootfs you already have into an
 * image for the store.
 * @module
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

import { ImageError } from "../errors.js";
import { ociArchitecture } from "./oci.js";

const run = promisify(execFile);

/** Writes an OCI image layout of `rootfsDir` into `layoutDir` (created if missing). Returns the manifest digest. */
export async function ociLayoutFromDirectory(rootfsDir: string, layoutDir: string, options: { architecture?: string } = {}): Promise<string> {
  const blobs = join(layoutDir, "blobs/sha256");
  await fsp.mkdir(blobs, { recursive: true });
  const put = async (data: Buffer) => {
    const hex = createHash("sha256").update(data).digest("hex");
    await fsp.writeFile(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  let tar: Buffer;
  try {
    tar = (await run("tar", ["--format=pax", "--sort=name", "-cf", "-", "-C", rootfsDir, "."], { encoding: "buffer", maxBuffer: 2 ** 31 })).stdout;
  } catch (e) {
    throw new ImageError(`archive \`${rootfsDir}\` with tar: ${(e as Error).message}`);
  }
  const layer = await put(gzipSync(tar));
  const config = await put(
    Buffer.from(
      JSON.stringify({
        architecture: options.architecture ?? ociArchitecture(),
        os: "linux",
        rootfs: { type: "layers", diff_ids: [`sha256:${createHash("sha256").update(tar).digest("hex")}`] },
      }),
    ),
  );
  const manifest = await put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
      }),
    ),
  );
  await fsp.writeFile(join(layoutDir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await fsp.writeFile(
    join(layoutDir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest }] }),
  );
  return manifest.digest;
}
