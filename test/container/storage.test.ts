/**
 * Storage backends of image-based containers (overlay, btrfs on a
 * loop-mounted filesystem), create-from-snapshot, export and import.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container, ImageStore } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { IDLE, rootfs, rootfsRecord, runtime, uniqueName } from "../helpers/env.js";

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

function mounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4]!)
    .sort();
}
const loops = () => sh("losetup", ["-a"]).split("\n").filter(Boolean).sort();

const before = { mounts: mounts(), loops: loops() };
const made = new Set<Container>();
const track = (c: Container) => (made.add(c), c);

async function cleanup(): Promise<void> {
  for (const c of made) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
  made.clear();
}

/** Changes that exercise what an export must keep: a foreign owner, a setuid file, a deleted image file. */
const CHANGE = "echo one > /root/state; echo u > /home/u; chown 1000:1001 /home/u; cp /bin/busybox /root/su; chmod 4755 /root/su; rm /bin/arch";

/** What the container sees of its files, as text. */
async function view(c: Container): Promise<string> {
  const script = "for f in $(find /root /home /bin /etc | sort); do stat -c '%n %u:%g %a %s %F' \"$f\"; done; cat /root/state";
  const out = await c.execOutput(["sh", "-c", script]);
  expect(out.code).toBe(0);
  return out.stdout;
}

async function importBusybox(root: string, tag: string): Promise<void> {
  const layout = mkdtempSync(join(tmpdir(), "warren-oci-"));
  try {
    await ociLayoutFromDirectory(rootfs(), layout);
    await new ImageStore(root).importOci(layout, { tag });
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}

/** export → destroy → import gives the same config, files and owners; snapshots come along. */
async function roundTrip(c: Container, tar: string, opts: { root: string; removeImage?: string }): Promise<Container> {
  await c.start();
  await c.execOutput(["sh", "-c", CHANGE], { check: true });
  await c.snapshot("s1");
  await c.execOutput(["sh", "-c", "echo two > /root/state"], { check: true });
  const seen = await view(c);
  const config = c.config;
  const name = c.name;
  await c.export(tar, { snapshots: true, includeImage: true }); // while it runs
  await c.stop({ timeout: 0 });
  await c.destroy();
  made.delete(c);
  if (opts.removeImage) await new ImageStore(opts.root).remove(opts.removeImage);

  const back = track(await Container.import(tar, undefined, { root: opts.root }));
  expect(back.name).toBe(name);
  expect(back.config).toEqual(config);
  await back.start();
  expect(await view(back)).toBe(seen);
  expect((await back.execOutput(["stat", "-c", "%a", "/bin/arch"])).code).not.toBe(0); // the deletion came along
  expect((await back.listSnapshots()).map((s) => s.name)).toEqual(["s1"]);
  await back.stop({ timeout: 0 });
  await back.restore("s1");
  await back.start();
  expect((await back.execOutput(["cat", "/root/state"])).stdout).toBe("one\n");
  await back.stop({ timeout: 0 });
  return back;
}

describe("overlay storage", () => {
  const tmp = mkdtempSync(join(tmpdir(), "warren-export-"));
  chmodSync(tmp, 0o711); // a directory container's root is reached through it
  afterAll(async () => {
    await cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("creates from a snapshot, shifted to the new container's range", async () => {
    await importBusybox(runtime().root, "busybox:ovl");
    const a = track(await Container.create(uniqueName("ovl-a"), { image: "busybox:ovl", init: IDLE, stopTimeout: 2000 }, runtime()));
    expect(rootfsRecord(a)).toMatchObject({ kind: "image", storage: "overlay" });
    await a.start();
    await a.execOutput(["sh", "-c", "echo one > /root/state"], { check: true });
    await a.snapshot("before");
    await a.execOutput(["sh", "-c", "echo two > /root/state"], { check: true });
    const b = track(await Container.create(uniqueName("ovl-b"), { from: { container: a.name, snapshot: "before" }, init: IDLE, stopTimeout: 2000 }, runtime()));
    expect(b.config.from).toBeUndefined();
    await b.start();
    expect((await b.execOutput(["sh", "-c", "cat /root/state; stat -c %u /root/state"])).stdout).toBe("one\n0\n");
    expect(statSync(join(b.stateDir, "upper/root/state")).uid).toBe(b.idmap!.hostUid);
    await expect(Container.create(uniqueName("ovl-c"), { from: { container: a.name, snapshot: "nope" } }, runtime())).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "from.snapshot" })],
    });
    await expect(Container.create(uniqueName("ovl-d"), { image: "busybox:ovl", storage: "btrfs" }, runtime())).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "storage" })],
    });
    await cleanup();
  });

  it("exports and imports an identical container, its image included", async () => {
    const c = track(await Container.create(uniqueName("ovl-x"), { image: "busybox:ovl", init: IDLE, stopTimeout: 2000, env: { A: "1" } }, runtime()));
    const back = await roundTrip(c, join(tmp, "c.tar"), { root: runtime().root, removeImage: "busybox:ovl" });
    expect(rootfsRecord(back)).toMatchObject({ kind: "image", storage: "overlay" });
    const image = (rootfsRecord(back) as { image: string }).image;
    await cleanup();
    await new ImageStore(runtime().root).remove(image);
  });

  it("exports a directory container whole; import keeps it in its state directory", async () => {
    const dir = join(tmp, "dir-rootfs");
    mkdirSync(dir);
    sh("cp", ["-a", `${rootfs()}/.`, dir]);
    const c = track(await Container.create(uniqueName("dir-x"), { rootfs: { path: dir, mode: "rw", idmap: true }, init: IDLE, stopTimeout: 2000 }, runtime()));
    await c.start();
    await c.execOutput(["sh", "-c", CHANGE], { check: true });
    const seen = await view(c);
    const config = c.config;
    await c.export(join(tmp, "dir.tar"));
    await c.stop({ timeout: 0 });
    await c.destroy();
    made.delete(c);
    rmSync(dir, { recursive: true, force: true });
    const back = track(await Container.import(join(tmp, "dir.tar"), undefined, runtime()));
    expect(back.config).toEqual({ ...config, rootfs: { ...config.rootfs, path: join(back.stateDir, "fs/rootfs") } });
    expect(statSync(join(back.stateDir, "fs")).mode & 0o777).toBe(0o700);
    await back.start();
    expect(await view(back)).toBe(seen);
    await cleanup();
  });

  it("refuses an archive with members outside or device nodes", async () => {
    const dir = join(tmp, "evil");
    mkdirSync(join(dir, "fs"), { recursive: true });
    sh("mknod", [join(dir, "fs/sda"), "b", "8", "0"]);
    sh("tar", ["-cf", join(tmp, "dev.tar"), "-C", dir, "fs"]);
    await expect(Container.import(join(tmp, "dev.tar"), uniqueName("evil"), runtime())).rejects.toThrow(/device node/);
    sh("tar", ["-cf", join(tmp, "up.tar"), "-C", dir, "--transform=s,^fs,../fs,", "fs"]);
    await expect(Container.import(join(tmp, "up.tar"), uniqueName("evil"), runtime())).rejects.toThrow(/leaves|not part/);
  });
});

describe("btrfs storage", () => {
  let dir = "";
  let mnt = "";
  let loop = "";
  let root = { root: "" };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "warren-btrfs-"));
    chmodSync(dir, 0o711); // the containers' roots pass through it
    const img = join(dir, "fs.img");
    sh("truncate", ["-s", "512M", img]);
    sh("mkfs.btrfs", ["-q", img]);
    loop = sh("losetup", ["-f", "--show", img]).trim();
    mnt = join(dir, "mnt");
    mkdirSync(mnt);
    sh("mount", [loop, mnt]);
    root = { root: mnt };
    await importBusybox(mnt, "busybox:btrfs");
  }, 60_000);

  afterAll(async () => {
    try {
      await cleanup();
      if (mnt) await new ImageStore(mnt).remove("busybox:btrfs").catch(() => undefined);
    } finally {
      if (mnt && mounts().includes(mnt)) {
        try {
          sh("umount", [mnt]);
        } catch {
          sh("umount", ["-l", mnt]);
        }
      }
      if (loop) {
        try {
          sh("losetup", ["-d", loop]);
        } catch {
          /* detached already */
        }
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
    expect(mounts()).toEqual(before.mounts);
    expect(loops()).toEqual(before.loops);
  }, 60_000);

  const subvolumes = () =>
    sh("btrfs", ["subvolume", "list", "-o", mnt])
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" path ")[1]!)
      .sort();

  it("keeps each container in a snapshot of the image's subvolume: snapshot, restore, clone, destroy", async () => {
    const c = track(await Container.create(uniqueName("bt"), { image: "busybox:btrfs", init: IDLE, stopTimeout: 2000 }, root));
    expect(rootfsRecord(c)).toMatchObject({ kind: "image", storage: "btrfs" });
    expect(subvolumes()).toEqual([`.images/${(rootfsRecord(c) as { image: string }).image}/subvol`, `${c.name}/fs/root`].sort());
    await c.start();
    expect(mounts().filter((m) => m.startsWith(mnt + "/"))).toEqual([]); // no overlay, nothing on the host
    expect((await c.execOutput(["stat", "-c", "%u:%g", "/bin/busybox"])).stdout).toBe("0:0\n");
    await c.execOutput(["sh", "-c", "echo one > /root/state"], { check: true });
    // Idmapped: stored with the ids the container sees, below a private directory.
    expect(statSync(join(c.stateDir, "fs/root/root/state")).uid).toBe(0);
    expect(statSync(join(c.stateDir, "fs")).mode & 0o777).toBe(0o700);

    await c.snapshot("s1");
    await c.execOutput(["sh", "-c", "echo two > /root/state; echo extra > /root/extra"], { check: true });
    await c.stop({ timeout: 0 });
    await c.restore("s1");
    await c.start();
    expect((await c.execOutput(["cat", "/root/state"])).stdout).toBe("one\n");
    expect((await c.execOutput(["cat", "/root/extra"])).code).not.toBe(0);

    const copy = track(await c.clone(uniqueName("bt-clone")));
    expect(rootfsRecord(copy)).toMatchObject({ storage: "btrfs" });
    await copy.start();
    expect((await copy.execOutput(["sh", "-c", "cat /root/state; stat -c %u /root/state"])).stdout).toBe("one\n0\n");
    await copy.execOutput(["sh", "-c", "echo clone > /root/state"], { check: true });
    expect((await c.execOutput(["cat", "/root/state"])).stdout).toBe("one\n");

    const fromSnap = track(await Container.create(uniqueName("bt-from"), { from: { container: c.name, snapshot: "s1" }, init: IDLE, stopTimeout: 2000 }, root));
    await fromSnap.start();
    expect((await fromSnap.execOutput(["cat", "/root/state"])).stdout).toBe("one\n");

    await expect(Container.create(uniqueName("bt-o"), { from: { container: c.name, snapshot: "s1" }, storage: "overlay" }, root)).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "storage" })],
    });
    for (const x of [c, copy, fromSnap]) {
      await x.stop({ timeout: 0 });
      await x.destroy();
      made.delete(x);
    }
    expect(subvolumes().filter((s) => !s.startsWith(".images/"))).toEqual([]);
  });

  it("exports and imports an identical container", async () => {
    const c = track(await Container.create(uniqueName("bt-x"), { image: "busybox:btrfs", init: IDLE, stopTimeout: 2000 }, root));
    const back = await roundTrip(c, join(dir, "c.tar"), { root: mnt });
    expect(rootfsRecord(back)).toMatchObject({ storage: "btrfs" });
    await back.destroy();
    made.delete(back);
    expect(subvolumes().filter((s) => !s.startsWith(".images/"))).toEqual([]);
    expect(existsSync(back.stateDir)).toBe(false);
  });
});
