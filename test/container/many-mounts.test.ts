/**
 * A container whose processes made thousands of mounts, on mount points
 * they made in its writable layer: stop and destroy leave no mount on the
 * host and no container, and the files of the writable layer are gone
 * once gc() returns (destroy moves the directory into the root's trash and
 * removes it afterwards: src/container/trash.ts). A trash entry of a dead
 * process is finished by the next process; a live one's is left alone.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { processInfo } from "../../src/container/proc.js";
import { trashDir } from "../../src/container/trash.js";
import { Container, ImageStore, NotFoundError } from "../../src/index.js";
import { IDLE, rootfs, uniqueName } from "../helpers/env.js";

const root = mkdtempSync("/var/tmp/warren-mounts-");
const made: Container[] = [];

/** The host's mount points, sorted. */
function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4]!)
    .sort();
}

/**
 * A shell script for the container: `dirs` new directories in its writable
 * layer, a tmpfs on the first `tmpfs` of them, and a tmpfs on /mnt/0 bound
 * recursively into itself `doublings` times (each bind copies every mount
 * below it: 2^doublings mounts in a few commands, where one `mount` process
 * per mount would take seconds). Prints the container's mount count.
 */
function mountScript(dirs: number, tmpfs: number, doublings: number): string {
  return [
    "set -e",
    "cd /mnt",
    `seq 0 ${dirs - 1} | xargs mkdir`,
    "mount -t tmpfs t /mnt/0",
    "mkdir /mnt/0/x",
    `for i in $(seq ${doublings}); do mount --rbind /mnt/0 /mnt/0/x; done`,
    `for i in $(seq 1 ${tmpfs}); do mount -t tmpfs t /mnt/$i; done`,
    "grep -c . /proc/self/mountinfo",
  ].join("\n");
}

async function mountMany(c: Container, dirs: number, tmpfs: number, doublings: number): Promise<number> {
  const out = await c.execOutput(["/bin/sh", "-c", mountScript(dirs, tmpfs, doublings)]);
  expect(out.stderr).toBe("");
  expect(out.code).toBe(0);
  return Number(out.stdout.trim());
}

beforeAll(async () => {
  await new ImageStore(root).importDirectory(rootfs(), { tag: "busybox:mounts" });
});

afterAll(async () => {
  for (const c of made) await c.destroy({ force: true }).catch(() => undefined);
  await Container.gc({ root }).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

async function create(): Promise<Container> {
  const c = await Container.create(uniqueName("mounts"), { image: "busybox:mounts", init: IDLE, stopTimeout: 3000 }, { root });
  made.push(c);
  await c.start();
  return c;
}

async function expectGone(c: Container, stateDir: string): Promise<void> {
  expect(existsSync(stateDir)).toBe(false);
  await expect(Container.get(c.name, { root })).rejects.toThrow(NotFoundError);
  expect((await Container.list({ root })).map((x) => x.name)).not.toContain(c.name);
}

describe("a container with thousands of mounts", () => {
  it("stop + destroy leave no mount and no container; gc() finishes the files", { timeout: 120_000 }, async () => {
    const before = hostMounts();
    const c = await create();
    // 5,000 mount points in the writable layer, 4,096 binds and 100 tmpfs mounts.
    const count = await mountMany(c, 5000, 100, 12);
    expect(count).toBeGreaterThan(4196);
    // None of them reaches the host: the container's tree is private.
    expect(hostMounts()).toEqual(before);
    const stateDir = c.stateDir;
    await c.stop();
    await c.destroy();
    await expectGone(c, stateDir);
    expect(hostMounts()).toEqual(before);
    await Container.gc({ root });
    expect(readdirSync(trashDir(root))).toEqual([]);
  });

  it("destroy({force}) of the running container does the same", { timeout: 120_000 }, async () => {
    const before = hostMounts();
    const c = await create();
    expect(await mountMany(c, 2000, 20, 10)).toBeGreaterThan(1044);
    const stateDir = c.stateDir;
    await c.destroy({ force: true });
    await expectGone(c, stateDir);
    expect(hostMounts()).toEqual(before);
    await Container.gc({ root });
    expect(readdirSync(trashDir(root))).toEqual([]);
  });

  it("the name is free again: a new container of the same name starts with nothing of the old layer", { timeout: 120_000 }, async () => {
    const c = await create();
    await mountMany(c, 3000, 0, 4);
    await c.destroy({ force: true });
    const again = await Container.create(c.name, { image: "busybox:mounts", init: IDLE, stopTimeout: 3000 }, { root });
    made.push(again);
    await again.start();
    // A fresh writable layer: nothing of the old one shows through.
    expect((await again.execOutput(["ls", "/mnt"])).stdout).toBe("");
    await again.destroy({ force: true });
    await Container.gc({ root });
    expect(readdirSync(trashDir(root))).toEqual([]);
  });
});

describe("the trash after a crash", () => {
  /** A trash entry as a destroy by `owner` leaves it: a container's directory with a few files. */
  function entry(owner: { pid: number; startTime: number }): string {
    const dir = join(trashDir(root), `dead-box.${owner.pid}-${owner.startTime}.0123abcd`);
    mkdirSync(join(dir, "upper/mnt/1"), { recursive: true });
    writeFileSync(join(dir, "upper/file"), "x");
    writeFileSync(join(dir, "intent.json"), "{}");
    return dir;
  }

  it("a dead process's entry is removed by gc(), a live one's left", async () => {
    mkdirSync(trashDir(root), { recursive: true, mode: 0o700 });
    // A pid that has exited: its entry is what a destroy killed mid-way leaves.
    const gone = spawnSync("true").pid!;
    const dead = entry({ pid: gone, startTime: 1 });
    const parent = processInfo(process.ppid)!;
    const live = entry({ pid: process.ppid, startTime: parent.startTime });
    try {
      await Container.gc({ root });
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(readdirSync(trashDir(root))).toEqual([live.slice(trashDir(root).length + 1)]);
    } finally {
      rmSync(live, { recursive: true, force: true });
    }
  });
});
