/**
 * Kernel-test setup: builds the busybox rootfs once, gives the suite its own
 * state root (and so its own cgroup subtree), and takes a snapshot of the
 * host's mounts, cgroups and container processes. test/leftovers.test.ts,
 * run last, compares against it; the teardown repeats the check for runs of
 * single files.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestProject } from "vitest/node";

import { ImageStore } from "../../src/image/store.js";
import { leftovers, snapshot } from "./leftovers.js";

const repo = resolve(import.meta.dirname, "../..");

export default async function setup(project: TestProject) {
  const rootfs = process.env.WARREN_TEST_ROOTFS ?? join(repo, ".cache/rootfs/busybox");
  execFileSync("bash", [join(repo, "scripts/make-busybox-rootfs.sh"), rootfs], { stdio: "inherit" });
  const stateRoot = mkdtempSync(join(tmpdir(), "warren-test-"));
  project.provide("rootfs", rootfs);
  project.provide("stateRoot", stateRoot);
  project.provide("debian", await debianImage(stateRoot));
  const before = snapshot();
  project.provide("baseline", JSON.stringify(before));

  return async () => {
    // Namespaces and cgroups of the last containers go away asynchronously.
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      left = leftovers(before, snapshot());
      if (left.length === 0) break;
      await sleep(100);
    }
    rmSync(stateRoot, { recursive: true, force: true });
    if (left.length) {
      throw new Error(`the kernel tests left things behind on the host:\n  ${left.join("\n  ")}`);
    }
  };
}

/**
 * The Debian bookworm image of the distro tests, built once with the image
 * store's own `build` into a store kept between runs (`.cache/images`,
 * ~35 s the first time), then made visible in the suite's store (a link:
 * the image is never written). Without a mirror the tests that need it
 * skip with the reason.
 */
async function debianImage(stateRoot: string): Promise<{ id: string } | { skip: string }> {
  if (process.env.WARREN_TEST_DEBIAN === "0") return { skip: "WARREN_TEST_DEBIAN=0" };
  const cache = process.env.WARREN_TEST_IMAGE_CACHE ?? join(repo, ".cache/images");
  try {
    const t0 = Date.now();
    let last = "";
    const img = await new ImageStore(cache).build("debian/bookworm", {
      onProgress: (p) => {
        if (p.phase !== last) process.stderr.write(`debian/bookworm: ${(last = p.phase)}\n`);
      },
    });
    if (!img.cached) process.stderr.write(`debian/bookworm: built in ${Date.now() - t0} ms\n`);
    const images = join(stateRoot, ".images");
    mkdirSync(images, { recursive: true, mode: 0o711 });
    symlinkSync(join(cache, ".images", img.id), join(images, img.id));
    writeFileSync(join(images, "tags.json"), JSON.stringify({ "debian/bookworm": img.id }) + "\n");
    return { id: img.id };
  } catch (e) {
    return { skip: `no Debian image: ${(e as Error).message.split("\n").slice(0, 3).join(" / ")}` };
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The Debian bookworm image in the suite's store (tag `debian/bookworm`), or why there is none. */
    debian: { id: string } | { skip: string };
    rootfs: string;
    stateRoot: string;
    /** JSON of the leftovers snapshot taken before the suite. */
    baseline: string;
  }
}
