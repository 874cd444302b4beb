/**
 * Where the image's filesystem cannot be idmapped (tmpfs and overlayfs
 * before Linux 6.3, 9p), each container gets a one-time copy of the image
 * shifted to its own range. This kernel idmaps everything, so the probe is
 * forced to say no (WARREN_IDMAP=off); test/vm/idmap.test.ts meets the real
 * case on Debian's 6.1 kernel.
 */
import { lstatSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container, ImageStore } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { cleanupAll, IDLE, rootfs, rootfsRecord, runtime, uniqueName } from "../helpers/env.js";

const layout = mkdtempSync(join(tmpdir(), "warren-oci-fallback-"));
beforeAll(async () => {
  process.env.WARREN_IDMAP = "off";
  await ociLayoutFromDirectory(rootfs(), layout);
  await new ImageStore(runtime().root).importOci(layout, { tag: "busybox:fallback" });
});
afterAll(async () => {
  delete process.env.WARREN_IDMAP;
  await cleanupAll();
  // The same content imported by another test file must not find this tag on it.
  await new ImageStore(runtime().root).remove("busybox:fallback").catch(() => undefined);
  rmSync(layout, { recursive: true, force: true });
});

const mountsOf = (dir: string) => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(dir));

describe("filesystems without idmapped mounts", () => {
  it("gives each container its own shifted copy, says so, and behaves the same inside", async () => {
    const made: Container[] = [];
    for (const n of ["fb-a", "fb-b"]) {
      const c = await Container.create(uniqueName(n), { image: "busybox:fallback", init: IDLE, stopTimeout: 2000 }, runtime());
      made.push(c);
    }
    const [a, b] = made as [Container, Container];
    try {
      for (const c of [a, b]) {
        const r = rootfsRecord(c) as { lower: string; shifted?: boolean };
        expect(r.shifted).toBe(true);
        expect(r.lower).toBe(join(c.stateDir, "lower"));
        expect(c.warnings.join()).toMatch(/cannot be idmapped.*own copy/);
        // On the host the copy belongs to the container's range.
        expect(lstatSync(join(r.lower, "bin/busybox")).uid).toBe(c.idmap!.hostUid);
        await c.start();
        // Still said after a start, and by a handle from another lookup.
        expect(c.warnings.join()).toMatch(/cannot be idmapped/);
        expect((await Container.get(c.name, runtime())).warnings.join()).toMatch(/cannot be idmapped/);
        expect((await c.execOutput(["stat", "-c", "%u:%g", "/bin/busybox"])).stdout).toBe("0:0\n");
        await c.execOutput(["sh", "-c", "echo mine > /root/note"]);
        expect(lstatSync(join(c.stateDir, "upper/root/note")).uid).toBe(c.idmap!.hostUid);
      }
      expect(a.idmap!.hostUid).not.toBe(b.idmap!.hostUid);
      await a.stop();
      // Files of a stopped container go through the same copy.
      await a.pushFile(Buffer.from("hello\n"), "/root/pushed");
      expect((await a.pullFile("/root/pushed")).toString()).toBe("hello\n");
      expect(lstatSync(join(a.stateDir, "upper/root/pushed")).uid).toBe(a.idmap!.hostUid);
      await a.start();
      expect((await a.execOutput(["cat", "/root/pushed", "/root/note"])).stdout).toBe("hello\nmine\n");
    } finally {
      for (const c of made) {
        await c.stop({ timeout: 0 });
        const dir = c.stateDir;
        await c.destroy();
        expect(mountsOf(dir)).toEqual([]);
      }
    }
  });
});
