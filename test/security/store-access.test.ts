/**
 * The attacks of issue 11 items 3, 4 and 6, replayed: a hostile image (a
 * setuid-root binary, a 0666 device node) imported into the store, then a
 * local host user (uid 65534) and another container's root trying to reach
 * it, a container's root and its upper layer; and two state roots whose
 * containers must not share host ids.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container, ImageStore } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { listIdRanges } from "../../src/container/id-ranges.js";
import { native } from "../../src/native/binding.js";
import { IDLE, rootfs, runtime, uniqueName } from "../helpers/env.js";

const NOBODY = { uid: 65534, gid: 65534 };
const created: Container[] = [];
let tmp: string;
let layout: string;
const tag = `hostile-${process.pid}`;

/** Runs `file args` as `who` (libuv drops the supplementary groups too). */
function as(who: { uid: number; gid: number }, file: string, args: string[] = []): SpawnSyncReturns<string> {
  return spawnSync(file, args, { ...who, encoding: "utf8", cwd: "/" });
}

/** `who` can neither execute `file` nor list `dir`. */
function expectLockedOut(who: { uid: number; gid: number }, paths: { exec?: string[]; list?: string[]; read?: string[] }): void {
  for (const p of paths.exec ?? []) expect(as(who, p, ["id", "-u"]).error, `exec ${p} as ${who.uid}`).toMatchObject({ code: "EACCES" });
  for (const p of paths.list ?? []) expect(as(who, "ls", [p]).stderr, `ls ${p} as ${who.uid}`).toMatch(/Permission denied/);
  for (const p of paths.read ?? []) expect(as(who, "cat", [p]).stderr, `cat ${p} as ${who.uid}`).toMatch(/Permission denied/);
}

/** Character and block devices under `dir`. */
function devicesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...devicesUnder(p));
    else if (e.isCharacterDevice() || e.isBlockDevice()) out.push(p);
  }
  return out;
}

async function make(name: string, root = runtime().root): Promise<Container> {
  const c = await Container.create(uniqueName(name), { image: tag, init: IDLE, stopTimeout: 2000 }, { root });
  created.push(c);
  return c;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "warren-hostile-"));
  const src = join(tmp, "rootfs");
  spawnSync("cp", ["-a", rootfs(), src]);
  // The attacker's payload: a setuid-root shell, and /dev/null's numbers in a 0666 node (a real attack uses /dev/sda).
  copyFileSync(join(src, "bin/busybox"), join(src, "bin/busybox-suid"));
  chownSync(join(src, "bin/busybox-suid"), 0, 0);
  chmodSync(join(src, "bin/busybox-suid"), 0o4755);
  native().mknod(join(src, "dev/evil"), 0o020000 | 0o600, 1, 3);
  chmodSync(join(src, "dev/evil"), 0o666);
  layout = join(tmp, "layout");
  await ociLayoutFromDirectory(src, layout);
});

afterAll(async () => {
  for (const c of created) await c.destroy({ force: true }).catch(() => undefined);
  await new ImageStore(runtime().root).remove(tag).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe("a hostile image", () => {
  it("keeps its setuid binary out of every host user's reach, and makes no device node", async () => {
    const store = new ImageStore(runtime().root);
    const img = await store.importOci(layout, { tag });
    const suid = join(img.rootfs, "bin/busybox-suid");
    // The bit is kept (the container needs its setuid programs): only the directories protect it.
    expect(statSync(suid).mode & 0o4000).toBe(0o4000);
    expect(as({ uid: 0, gid: 0 }, suid, ["echo", "root can"]).stdout).toBe("root can\n");
    expectLockedOut(NOBODY, { exec: [suid], list: [store.dir, join(img.rootfs, "..")], read: [join(store.dir, "tags.json")] });
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(img.rootfs, "..")).mode & 0o777).toBe(0o700);
    expect(statSync(join(store.dir, "tags.json")).mode & 0o777).toBe(0o600);

    expect(devicesUnder(img.rootfs)).toEqual([]);
    expect((await store.get(tag)).devices).toEqual([{ path: "/dev/evil", type: "char", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 }]);
    expect(img.warnings).toContainEqual(expect.stringMatching(/dev\/evil: char device 1:3 not created on the host/));
  });
});

describe("a container's root", () => {
  it("is reachable by its own root and host root only, even with a setuid binary planted inside", async () => {
    const a = await make("sec-a");
    const b = await make("sec-b");
    await a.start();
    // The image reached the container through the parent's idmapped mount, not through the 0700 store.
    expect((await a.execOutput(["stat", "-c", "%u %a", "/bin/busybox-suid"])).stdout).toBe("0 4755\n");
    expect((await a.execOutput(["sh", "-c", "cp /bin/busybox /root/busybox-suid && chmod 4755 /root/busybox-suid"])).code).toBe(0);
    const planted = join(a.stateDir, "upper/root/busybox-suid");
    expect(statSync(planted).mode & 0o4000).toBe(0o4000);

    const st = statSync(a.stateDir);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o710, 0, a.idmap!.hostGid]);
    const theirs = { uid: b.idmap!.hostUid, gid: b.idmap!.hostGid };
    for (const who of [NOBODY, theirs]) {
      expectLockedOut(who, {
        exec: [planted],
        list: [a.stateDir, join(a.stateDir, "upper"), `/proc/${a.pid}/root/`],
        read: [join(a.stateDir, "container.json")],
      });
    }
    // Its own root traverses (that is how it starts) but cannot list the directory.
    const own = { uid: a.idmap!.hostUid, gid: a.idmap!.hostGid };
    expect(as(own, "stat", ["-c", "%u", join(a.stateDir, "upper")]).stdout).toBe(`${a.idmap!.hostUid}\n`);
    expect(as(own, "ls", [a.stateDir]).stderr).toMatch(/Permission denied/);
    await a.stop({ timeout: 0 });
  });
});

describe("an idmapped host directory as the root", () => {
  it("starts from a directory no host user can reach, where its root's setuid-root files stay out of reach", async () => {
    // The embedder's side of the trade-off: writes through an idmapped mount are stored with the ids
    // seen inside, so container root's setuid binary is setuid-root on the host. Only the directory's
    // own place protects it: a 0700 parent.
    const vault = mkdtempSync(join(tmpdir(), "warren-vault-"));
    try {
      const dir = join(vault, "rootfs");
      spawnSync("cp", ["-a", rootfs(), dir]);
      const c = await Container.create(uniqueName("sec-dir"), { rootfs: { path: dir, mode: "rw", idmap: true }, init: IDLE, stopTimeout: 2000 }, runtime());
      created.push(c);
      await c.start();
      expect((await c.execOutput(["sh", "-c", "cp /bin/busybox /root/busybox-suid && chmod 4755 /root/busybox-suid"])).code).toBe(0);
      await c.stop({ timeout: 0 });
      const planted = join(dir, "root/busybox-suid");
      const st = statSync(planted);
      expect([st.uid, st.mode & 0o4000]).toEqual([0, 0o4000]); // setuid host root, as documented
      expectLockedOut(NOBODY, { exec: [planted], list: [dir] });
      await c.destroy();
    } finally {
      rmSync(vault, { recursive: true, force: true });
    }
  });
});

describe("host id ranges", () => {
  it("are disjoint across state roots and freed on destroy", async () => {
    const other = mkdtempSync(join(tmpdir(), "warren-root2-"));
    try {
      await new ImageStore(other).importOci(layout, { tag });
      const a = await make("rng-a");
      const b = await make("rng-b", other);
      const [ra, rb] = [a.idmap!, b.idmap!];
      expect(ra.hostUid + ra.size <= rb.hostUid || rb.hostUid + rb.size <= ra.hostUid).toBe(true);
      expect(ra.hostGid + ra.size <= rb.hostGid || rb.hostGid + rb.size <= ra.hostGid).toBe(true);
      const held = (await listIdRanges()).filter((e) => e.container === a.name || e.container === b.name);
      expect(held.map((e) => [e.container, e.hostUid]).sort()).toEqual([[a.name, ra.hostUid], [b.name, rb.hostUid]].sort());
      await b.start(); // a container of the second root runs as its own range
      expect((await b.execOutput(["cat", "/proc/self/uid_map"])).stdout.trim().split(/\s+/)).toEqual(["0", String(rb.hostUid), String(rb.size)]);
      await b.stop({ timeout: 0 });
      await a.destroy();
      await b.destroy();
      expect((await listIdRanges()).filter((e) => e.container === a.name || e.container === b.name)).toEqual([]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
