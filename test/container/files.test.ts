/**
 * Files in and out of containers, running and stopped, on a directory
 * rootfs (idmapped) and on an image (overlay, idmapped lower): contents
 * streamed intact, owners in the container's view, and no symlink in the
 * container ever reaching a host file. Stopped containers leave no mount.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container, ImageStore } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { busybox, cleanupAll, IDLE, rootfs, runtime, uniqueName } from "../helpers/env.js";

const tmp = mkdtempSync(join(tmpdir(), "warren-files-"));
chmodSync(tmp, 0o711); // the container's root (an unprivileged host id) must reach the rootfs copies below
const big = join(tmp, "big.bin");
let bigSha = "";
const canaryDir = mkdtempSync(join(tmpdir(), "warren-canary-"));
const canary = join(canaryDir, "canary.txt");
const tag = `busybox:files-${randomBytes(3).toString("hex")}`;
const extra: Container[] = [];

async function sha(stream: Readable): Promise<string> {
  const h = createHash("sha256");
  for await (const b of stream) h.update(b as Buffer);
  return h.digest("hex");
}

/** Lines of our own mount table naming a path of this suite (a stopped container's mounts would). */
function ourMounts(c: Container, extraPaths: string[] = []): string[] {
  const needles = [c.stateDir, tmp, ...extraPaths];
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => needles.some((n) => l.includes(n)) || / - overlay /.test(l) && l.includes(c.name));
}

beforeAll(async () => {
  const chunk = randomBytes(1 << 20);
  const h = createHash("sha256");
  const parts: Buffer[] = [];
  for (let i = 0; i < 100; i++) {
    const b = Buffer.from(chunk);
    b.writeUInt32LE(i, 0); // 100 different MiB
    parts.push(b);
    h.update(b);
  }
  writeFileSync(big, Buffer.concat(parts));
  bigSha = h.digest("hex");
  writeFileSync(canary, "original\n");
  const layout = join(tmp, "oci");
  await ociLayoutFromDirectory(rootfs(), layout);
  await new ImageStore(runtime().root).importOci(layout, { tag });
}, 60_000);

afterAll(async () => {
  await cleanupAll();
  for (const c of extra) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
  await new ImageStore(runtime().root).remove(tag).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
  rmSync(canaryDir, { recursive: true, force: true });
});

interface Kind {
  name: string;
  make(): Promise<Container>;
  /** Host path of a container path's file, and the host uid that container uid 0 is stored as there. */
  hostFile(c: Container, path: string): string;
  hostRootUid(c: Container): number;
}

const kinds: Kind[] = [
  {
    name: "a directory rootfs (idmapped)",
    async make() {
      const dir = mkdtempSync(join(tmp, "rootfs-"));
      chmodSync(dir, 0o755);
      execFileSync("cp", ["-a", `${rootfs()}/.`, dir]);
      return busybox("files-dir", { rootfs: { path: dir, mode: "rw", idmap: true } });
    },
    hostFile: (c, p) => join((c.config.rootfs as { path: string }).path, p),
    hostRootUid: () => 0, // idmapped: the ids on disk are the container's
  },
  {
    name: "an image (overlay, idmapped lower)",
    async make() {
      const c = await Container.create(uniqueName("files-img"), { image: tag, init: IDLE, stopTimeout: 2000 }, runtime());
      extra.push(c);
      return c;
    },
    hostFile: (c, p) => join(c.stateDir, "upper", p),
    hostRootUid: (c) => c.idmap!.hostUid,
  },
];

describe.each(kinds)("files of a container on $name", (kind) => {
  it("streams 100 MiB in and out, running and stopped, owned as asked", async () => {
    const c = await kind.make();
    const before = ourMounts(c);
    // Stopped (never started): in, out, and seen by the container later.
    await c.pushFile(createReadStream(big), "/root/big.bin");
    await c.pushFile(Buffer.from("hi\n"), "/srv/www/index.html", { uid: 33, gid: 33, mode: 0o640, mkdirs: true });
    expect(await sha(await c.openReadStream("/root/big.bin"))).toBe(bigSha);
    expect(ourMounts(c)).toEqual(before);
    expect(statSync(kind.hostFile(c, "/srv/www/index.html")).uid).toBe(kind.hostRootUid(c) + 33);

    await c.start();
    const inside = await c.execOutput(["sh", "-c", "sha256sum /root/big.bin; stat -c '%u:%g %a' /root/big.bin /srv /srv/www /srv/www/index.html"]);
    expect(inside.stdout).toBe(`${bigSha}  /root/big.bin\n0:0 644\n0:0 755\n0:0 755\n33:33 640\n`);

    // Running: a host path in, a host path out.
    await c.pushFile(big, "/tmp/big2.bin", { uid: 1000, gid: 1001, mode: 0o600 });
    expect((await c.execOutput(["sh", "-c", "sha256sum < /tmp/big2.bin; stat -c '%u:%g %a' /tmp/big2.bin"])).stdout).toBe(`${bigSha}  -\n1000:1001 600\n`);
    expect(statSync(kind.hostFile(c, "/tmp/big2.bin")).uid).toBe(kind.hostRootUid(c) + 1000);
    const out = join(tmp, `out-${c.name}`);
    await c.pullFile("/tmp/big2.bin", out);
    expect(await sha(createReadStream(out))).toBe(bigSha);
    rmSync(out);
    // What the container writes is its own root's, seen as such.
    await c.execOutput(["sh", "-c", "echo mine > /root/note"]);
    expect(await c.stat("/root/note")).toMatchObject({ type: "file", uid: 0, gid: 0, size: 5 });
    expect(await c.readFileText("/root/note")).toBe("mine\n");

    await c.stop({ timeout: 0 });
    const mid = ourMounts(c);
    await c.pullFile("/root/big.bin", out);
    expect(await sha(createReadStream(out))).toBe(bigSha);
    expect(await c.stat("/tmp/big2.bin")).toMatchObject({ uid: 1000, gid: 1001, mode: 0o600, size: 100 << 20 });
    // Overwriting keeps the owner unless told.
    await c.pushFile(Buffer.from("short\n"), "/tmp/big2.bin");
    expect(await c.stat("/tmp/big2.bin")).toMatchObject({ uid: 1000, gid: 1001, mode: 0o600, size: 6 });
    await c.rm("/tmp/big2.bin");
    expect(ourMounts(c)).toEqual(mid);
    await c.start();
    expect((await c.execOutput(["sh", "-c", "cat /root/note; ls /tmp/big2.bin 2>&1 >/dev/null | wc -l"])).stdout).toBe("mine\n1\n");
    await c.stop({ timeout: 0 });
  }, 120_000);

  it("lists, stats, makes and removes, and looks users up", async () => {
    const c = await kind.make();
    for (const running of [false, true]) {
      if (running) await c.start();
      await c.mkdir("/opt/a/b", { recursive: true });
      await c.pushFile(Buffer.from("x"), "/opt/a/b/f");
      await c.pushFile(Buffer.from("y"), "/opt/a/g", { uid: 5, gid: 6, mode: 0o4755 });
      const entries = await c.readdir("/opt/a");
      expect(entries.map((e) => [e.name, e.type, e.uid, e.gid, e.mode])).toEqual([
        ["b", "directory", 0, 0, 0o755],
        ["g", "file", 5, 6, 0o4755],
      ]);
      expect((await c.readdir("/bin")).find((e) => e.name === "sh")).toMatchObject({ type: "symlink", target: "busybox", uid: 0 });
      expect(await c.stat("/sbin")).toMatchObject({ type: "symlink", target: "bin" });
      expect(await c.stat("/sbin", { follow: true })).toMatchObject({ type: "directory" });
      await expect(c.rm("/opt/a")).rejects.toMatchObject({ errno: "ENOTEMPTY" });
      await expect(c.pushFile(Buffer.from("z"), "/nope/f")).rejects.toMatchObject({ code: "ERR_WARREN_NOT_FOUND", message: expect.stringContaining("pushFile `/nope/f`: open: ENOENT") });
      await c.rm("/opt/a", { recursive: true });
      await expect(c.stat("/opt/a")).rejects.toMatchObject({ code: "ERR_WARREN_NOT_FOUND" });
      await c.rm("/opt/a", { force: true });
      await c.rm("/opt");

      if (!running) {
        const passwd = await c.readFileText("/etc/passwd");
        await c.pushFile(Buffer.from(passwd + "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"), "/etc/passwd");
        const group = await c.readFileText("/etc/group");
        await c.pushFile(Buffer.from(group + "adm:x:4:daemon,www-data\nwww-data:x:33:\n"), "/etc/group");
      }
      expect(await c.lookupUser("www-data")).toEqual({ name: "www-data", uid: 33, gid: 33, groups: [33, 4], gecos: "www-data", home: "/var/www", shell: "/usr/sbin/nologin" });
      expect((await c.lookupUser(0)).name).toBe("root");
      await expect(c.lookupUser("nobody-here")).rejects.toMatchObject({ code: "ERR_WARREN_NOT_FOUND" });
      expect(await c.lookupGroup("adm")).toEqual({ name: "adm", gid: 4, members: ["daemon", "www-data"] });
      if (running) {
        const u = await c.lookupUser("www-data");
        expect((await c.execOutput(["id"], { user: { uid: u.uid, gid: u.gid, groups: u.groups } })).stdout).toBe("uid=33(www-data) gid=33(www-data) groups=4(adm),33(www-data)\n");
        await c.stop({ timeout: 0 });
      }
    }
  }, 60_000);

  it("never follows a symlink out of the container, running or stopped", async () => {
    const c = await kind.make();
    await c.start();
    const rel = "../".repeat(12) + canaryDir.slice(1);
    await c.execOutput(
      ["sh", "-c", `ln -s / /x; ln -s ${canaryDir} /hostdir; ln -s ${rel} /rel; ln -s ${canary} /final; ln -s ${rel}/canary.txt /finalrel; mkdir /keep; echo k > /keep/k; ln -s /keep /tokeep; ln -s ../../../../../etc/passwd /pwrel`],
      { check: true },
    );
    for (const running of [true, false]) {
      if (!running) await c.stop({ timeout: 0 });
      const before = ourMounts(c);
      const refused: (() => Promise<unknown>)[] = [
        () => c.pushFile(Buffer.from("pwned"), `/x${canary}`),
        () => c.pushFile(Buffer.from("pwned"), "/hostdir/canary.txt"),
        () => c.pushFile(Buffer.from("pwned"), "/rel/canary.txt"),
        () => c.pushFile(Buffer.from("pwned"), `/../../..${canary}`),
        () => c.pushFile(Buffer.from("pwned"), "/final"),
        () => c.pushFile(Buffer.from("pwned"), "/finalrel"),
        () => c.pullFile("/final"),
        () => c.pullFile("/finalrel"),
        () => c.pullFile("/hostdir/canary.txt"),
        () => c.pullFile(`/x${canary}`),
        () => c.readdir("/hostdir"),
        () => c.rm("/hostdir/canary.txt"),
        () => c.rm("/rel/canary.txt", { recursive: true }),
        ...(running ? [() => c.pullFile("/dev/null"), () => c.pushFile(Buffer.from("x"), "/dev/null"), () => c.pullFile(`/proc/1/root${canary}`), () => c.pullFile(`/proc/self/root${canary}`), () => c.pullFile("/proc/1/cwd/etc/passwd")] : []),
      ];
      for (const attempt of refused) await expect(attempt()).rejects.toBeInstanceOf(Error);
      await expect(c.pushFile(Buffer.from("pwned"), "/final")).rejects.toMatchObject({ errno: "ELOOP", message: expect.stringContaining("pushFile `/final`: open: ELOOP") });
      // A link that would reach a host file reaches the container's.
      expect(await c.readFileText("/pwrel")).toBe(await c.readFileText("/etc/passwd"));
      expect(await c.readFileText("/pwrel")).not.toBe(readFileSync("/etc/passwd", "utf8"));
      // Created inside the container, at the path the link names there.
      await c.pushFile(Buffer.from("inside"), `/x${canaryDir}/new.txt`, { mkdirs: true });
      await c.mkdir("/hostdir/sub", { recursive: true });
      expect(await c.readFileText(`${canaryDir}/new.txt`)).toBe("inside");
      expect(await c.stat("/final")).toMatchObject({ type: "symlink", target: canary });
      // rm of a link removes the link, never what it points to.
      await c.rm("/tokeep", { recursive: true });
      expect(await c.readFileText("/keep/k")).toBe("k\n");
      await c.rm(canaryDir.split("/").slice(0, 2).join("/") + "/" + canaryDir.split("/")[2], { recursive: true });
      if (running) await c.execOutput(["ln", "-s", "/keep", "/tokeep"], { check: true });
      // The host never saw any of it.
      expect(readFileSync(canary, "utf8")).toBe("original\n");
      expect(readdirSync(canaryDir)).toEqual(["canary.txt"]);
      expect(ourMounts(c)).toEqual(before);
    }
  }, 60_000);
});

describe("files of other rootfs kinds", () => {
  it("refuses writes to a read-only rootfs and to a stopped overlay-mode container", async () => {
    const ro = await busybox("files-ro");
    await expect(ro.pushFile(Buffer.from("x"), "/tmp/x")).rejects.toMatchObject({ errno: "EROFS" });
    expect((await ro.readFileText("/etc/passwd")).startsWith("root:")).toBe(true);
    await ro.start();
    await expect(ro.pushFile(Buffer.from("x"), "/etc/x")).rejects.toMatchObject({ errno: "EROFS" });
    await ro.stop({ timeout: 0 });

    const ov = await busybox("files-ov", { rootfs: { path: rootfs(), mode: "overlay" } });
    await expect(ov.pushFile(Buffer.from("x"), "/tmp/x")).rejects.toMatchObject({ code: "ERR_WARREN_STATE" });
    await ov.start();
    // (Its /tmp is the host root's, unmapped inside: the container itself gets EOVERFLOW there.)
    await ov.pushFile(Buffer.from("x\n"), "/pushed");
    expect((await ov.execOutput(["cat", "/pushed"])).stdout).toBe("x\n");
    await ov.stop({ timeout: 0 });
    expect(() => statSync(join(rootfs(), "pushed"))).toThrow();
    await expect(ov.stat("/pushed")).rejects.toMatchObject({ code: "ERR_WARREN_NOT_FOUND" }); // gone with the run
  });

  it("works on a privileged container (no user namespace) from an image", async () => {
    const c = await Container.create(uniqueName("files-priv"), { image: tag, init: IDLE, stopTimeout: 2000, namespaces: { user: false } }, runtime());
    extra.push(c);
    await c.pushFile(Buffer.from("p\n"), "/root/p", { uid: 7, gid: 8 });
    expect(statSync(join(c.stateDir, "upper/root/p")).uid).toBe(7);
    expect(await c.stat("/bin/busybox")).toMatchObject({ uid: 0, gid: 0, type: "file" });
    await c.start();
    expect((await c.execOutput(["stat", "-c", "%u:%g", "/root/p"])).stdout).toBe("7:8\n");
    await c.pushFile(Buffer.from("q\n"), "/root/q");
    expect(statSync(join(c.stateDir, "upper/root/q")).uid).toBe(0);
    await c.stop({ timeout: 0 });
    expect((await c.readdir("/root")).map((e) => e.name)).toEqual(["p", "q"]);
  });

  it("shows the embedded default with the host's /usr when stopped", async () => {
    const c = await Container.create(uniqueName("files-emb"), {}, runtime());
    extra.push(c);
    await c.pushFile(Buffer.from("hello\n"), "/root/hello");
    expect(await c.stat("/usr/bin/env", { follow: true })).toMatchObject({ type: "file", uid: 65534 }); // host root: unmapped inside
    await expect(c.pushFile(Buffer.from("x"), "/usr/x")).rejects.toMatchObject({ errno: "EROFS" });
    await c.start();
    expect((await c.execOutput(["sh", "-c", "cat /root/hello; stat -c %u /root/hello"])).stdout).toBe("hello\n0\n");
    await c.stop({ timeout: 0 });
  });
});
