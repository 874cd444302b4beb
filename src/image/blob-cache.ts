/**
 * The content cache of registry blobs: downloads each blob once, resumably
 * and verified, under a lock so that two pulls never write one file.
 *
 *     <cache>/sha256/<hex>          a verified blob (only ever renamed into place after the check)
 *     <cache>/sha256/<hex>.partial  a download in progress or interrupted; resumed with `Range`
 *     <cache>/sha256/<hex>.lock     flock taken while downloading <hex> (two pulls never write one file)
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import { join } from "node:path";

import { lockFile, type Lock } from "../linux/lock.js";
import { codeOf } from "../linux/errno.js";
import { DigestMismatchError, RegistryError } from "../errors.js";
import type { Descriptor } from "./oci.js";
import type { RegistryClient, RegistryOptions } from "./registry.js";

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await fsp.stat(path)).size;
  } catch (e) {
    if (codeOf(e) === "ENOENT") return null;
    throw e;
  }
}

/** The flock on a blob, waited for in slices so that `signal` is honoured while another pull downloads it. */
async function lockBlob(path: string, signal?: AbortSignal): Promise<Lock> {
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await lockFile(path, 1000);
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_WARREN_LOCK_TIMEOUT") throw e;
    }
  }
}

/**
 * Makes sure blob `d` is in `cacheDir` (`<alg>/<hex>`), downloading what is
 * missing: a `.partial` left by an interrupted download is resumed with a
 * `Range` request (a server that answers 200 sends it whole again). The size
 * and digest are checked before the rename into place; a mismatch removes the
 * partial file (after a resumed attempt, the whole blob is fetched once more
 * before giving up). Returns the blob's path.
 */
export async function fetchBlob(client: RegistryClient, cacheDir: string, d: Descriptor, step: "config" | "layer", options: RegistryOptions = {}): Promise<string> {
  const [alg, hex] = d.digest.split(":") as [string, string];
  const dir = join(cacheDir, alg);
  const final = join(dir, hex);
  const progress = (bytes: number) => options.onProgress?.({ phase: "layer", digest: d.digest, bytes, total: d.size });
  if ((await sizeOf(final)) === d.size) {
    if (step === "layer") progress(d.size);
    return final;
  }
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = await lockBlob(join(dir, `${hex}.lock`), options.signal);
  try {
    // Another pull may have finished it while this one waited.
    if ((await sizeOf(final)) === d.size) {
      if (step === "layer") progress(d.size);
      return final;
    }
    const partial = join(dir, `${hex}.partial`);
    for (let attempt = 0; ; attempt++) {
      let offset = (await sizeOf(partial)) ?? 0;
      if (offset > d.size) offset = 0;
      const resumed = offset > 0;
      if (offset < d.size) offset = await download(client, d, partial, offset, step, progress);
      const hash = createHash(alg);
      for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);
      const got = `${alg}:${hash.digest("hex")}`;
      if (got === d.digest) break;
      await fsp.rm(partial, { force: true });
      if (!resumed || attempt > 0) throw new DigestMismatchError(client.label, step, d.digest, got);
    }
    await fsp.rename(partial, final);
    return final;
  } finally {
    await lock.release();
  }
}

/** Appends the blob from `offset` to `partial`; returns its new size (== d.size). */
async function download(client: RegistryClient, d: Descriptor, partial: string, offset: number, step: string, progress: (n: number) => void): Promise<number> {
  const res = await client.get(`blobs/${d.digest}`, step, offset > 0 ? { range: `bytes=${offset}-` } : {}, [416], d.digest);
  if (res.status === 416) {
    // The partial is not a prefix the server recognizes: start over.
    await res.body?.cancel();
    await fsp.rm(partial, { force: true });
    return download(client, d, partial, 0, step, progress);
  }
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (Number(start) !== offset) {
      await res.body?.cancel();
      throw client.fail(step, `${d.digest}: asked for bytes from ${offset}, got Content-Range ${JSON.stringify(res.headers.get("content-range"))}`, { blob: d.digest });
    }
  } else {
    offset = 0; // 200: the whole blob, whatever was asked
  }
  const fh = await fsp.open(partial, offset > 0 ? "a" : "w", 0o600);
  let n = offset;
  let reported = 0;
  try {
    progress(n);
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (n + chunk.length > d.size) {
          await res.body.cancel().catch(() => undefined);
          await fh.close();
          await fsp.rm(partial, { force: true });
          throw new DigestMismatchError(client.label, step, d.digest, `more than the ${d.size} bytes the manifest says`);
        }
        await fh.write(chunk);
        n += chunk.length;
        if (n - reported >= 1 << 20 || n === d.size) {
          reported = n;
          progress(n);
        }
      }
    }
    await fh.sync();
  } catch (err) {
    // What arrived stays in the partial file for the next attempt to resume from.
    if (err instanceof RegistryError) throw err;
    client.options.signal?.throwIfAborted();
    throw client.fail(step, `${d.digest}: download interrupted at ${n} of ${d.size} bytes: ${(err as Error).message}`, { blob: d.digest, cause: err });
  } finally {
    await fh.close().catch(() => undefined);
  }
  if (n !== d.size) throw client.fail(step, `${d.digest}: download ended at ${n} of ${d.size} bytes`, { blob: d.digest });
  return n;
}
