/** Shared fixtures for kernel tests. */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";

import { Container } from "../../src/index.js";
import type { ContainerConfig } from "../../src/config/schema.js";

export const rootfs = () => inject("rootfs");
export const stateRoot = () => inject("stateRoot");
export const runtime = () => ({ root: stateRoot() });

/** A unique container name for a test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** An init that idles until SIGTERM, then exits 0. */
export const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

/** A shell init that traps `signal` (exiting with `code`), says "ready" on stdout once it has, then idles. */
export function trappingInit(signal: string, code: number): string[] {
  return ["/bin/sh", "-c", `trap 'exit ${code}' ${signal}; echo ready; while :; do sleep 3600 & wait $!; done`];
}

/**
 * Starts a container whose init prints "ready" (see {@link trappingInit}) and
 * waits for it: a signal sent before the shell installed its trap would be
 * ignored, as by any PID 1 without a handler.
 */
export async function startReady(c: Container): Promise<void> {
  await c.start({ stdio: ["ignore", "pipe", "ignore"] });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    c.stdout!.on("data", (b: Buffer) => {
      seen += b.toString();
      if (seen.includes("ready\n")) resolve();
    });
    c.stdout!.on("close", () => reject(new Error(`init exited before it was ready: ${JSON.stringify(seen)}`)));
  });
}

const created = new Set<Container>();

/** Creates a container on the busybox rootfs (read-only unless told otherwise) under the suite's state root. */
export async function busybox(prefix: string, config: ContainerConfig = {}): Promise<Container> {
  const c = await Container.create(
    uniqueName(prefix),
    { rootfs: { path: rootfs(), mode: "ro" }, init: IDLE, stopTimeout: 3000, ...config },
    runtime(),
  );
  created.add(c);
  return c;
}

/** Stops and destroys every container a test file created (afterEach/afterAll). */
export async function cleanupAll(): Promise<void> {
  for (const c of created) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
  created.clear();
}

/** Why the Debian image tests cannot run here, or undefined when the image is in the suite's store as `debian/bookworm`. */
export function debianSkipReason(): string | undefined {
  const d = inject("debian");
  return "skip" in d ? d.skip : undefined;
}

/** Creates a container from the suite's Debian bookworm image (cleaned up by cleanupAll). */
export async function debian(prefix: string, config: ContainerConfig = {}): Promise<Container> {
  const c = await Container.create(uniqueName(prefix), { image: "debian/bookworm", stopTimeout: 10_000, ...config }, runtime());
  created.add(c);
  return c;
}

/** A store listing without the suite's shared distro images (linked from the cache, helpers/images.ts). */
export function ownImages<T extends { tags: string[] }>(list: T[]): T[] {
  return list.filter((i) => !i.tags.some((t) => t.startsWith("debian/")));
}

/** How a container's rootfs is kept, as its record on disk says (`container.json`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function rootfsRecord(c: Container): any {
  return JSON.parse(readFileSync(join(c.stateDir, "container.json"), "utf8")).rootfs;
}
