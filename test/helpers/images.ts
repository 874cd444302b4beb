/**
 * Distro images for the kernel tests: built once with the image store's own
 * `build` into a store kept between runs (`.cache/images`, or
 * WARREN_TEST_IMAGE_CACHE), then linked into a suite's store (the image is
 * never written, so a link is enough).
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import type { DistroSpec } from "../../src/image/debootstrap.js";
import { ImageStore } from "../../src/image/store.js";

const repo = resolve(import.meta.dirname, "../..");

/** Builds `spec` into the cache (or finds it there) and tags it `tag` in `stateRoot`'s store. */
export async function linkCachedImage(stateRoot: string, spec: string | DistroSpec, tag: string, log = false): Promise<string> {
  const cache = process.env.WARREN_TEST_IMAGE_CACHE ?? join(repo, ".cache/images");
  const t0 = Date.now();
  let last = "";
  // Tagged in the cache as in the suite's store: the store's default tag
  // (DISTRO/RELEASE) would move to whichever spec of that release was built last.
  const img = await new ImageStore(cache).build(spec, {
    tag,
    onProgress: (p) => {
      if (log && p.phase !== last) process.stderr.write(`${tag}: ${(last = p.phase)}\n`);
    },
  });
  if (log && !img.cached) process.stderr.write(`${tag}: built in ${Date.now() - t0} ms\n`);
  const images = join(stateRoot, ".images");
  mkdirSync(images, { recursive: true, mode: 0o711 });
  if (!existsSync(join(images, img.id))) symlinkSync(join(cache, ".images", img.id), join(images, img.id));
  const tagsFile = join(images, "tags.json");
  const tags = existsSync(tagsFile) ? (JSON.parse(readFileSync(tagsFile, "utf8")) as Record<string, string>) : {};
  writeFileSync(tagsFile, JSON.stringify({ ...tags, [tag]: img.id }) + "\n");
  return img.id;
}
