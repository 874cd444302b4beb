/**
 * Containers from an imported image: O(1) create (an overlay, nothing
 * copied), the image owned by each container's root through an idmapped
 * lower layer, each container's changes in its own upper layer, owned by
 * its own host id range.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container, ImageStore } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { cleanupAll, IDLE, ownImages, rootfs, runtime, uniqueName } from "../helpers/env.js";

afterAll(cleanupAll);


describe("containers from an image", () => {
  it("imports once, creates containers without copying, each owning the image and its own changes", async () => {
    const layout = mkdtempSync(join(tmpdir(), "warren-oci-"));
    await ociLayoutFromDirectory(rootfs(), layout);
    const store = new ImageStore(runtime().root);
    try {
      const img = await store.importOci(layout, { tag: "busybox:test" });
      expect(img.tags).toEqual(["busybox:test"]);
      // Importing the same image again stores nothing new.
      expect((await store.importOci(layout)).id).toBe(img.id);
      expect((await store.list()).map((i) => i.id)).toContain(img.id);

      const t0 = performance.now();
      const a = await Container.create(uniqueName("img-a"), { image: "busybox:test", init: IDLE, stopTimeout: 2000 }, runtime());
      const createMs = performance.now() - t0;
      const b = await Container.create(uniqueName("img-b"), { image: img.id, init: IDLE, stopTimeout: 2000 }, runtime());
      expect(createMs).toBeLessThan(1000); // nothing copied (the bench measures it properly)
      await a.start();
      await b.start();
      for (const c of [a, b]) {
        expect((await c.execOutput(["stat", "-c", "%u:%g", "/bin/busybox"])).stdout).toBe("0:0\n");
      }
      expect((await a.execOutput(["sh", "-c", "echo mine > /root/note && cat /root/note"])).stdout).toBe("mine\n");
      // b does not see a's change; a's change is in a's upper layer, owned by a's range.
      expect((await b.execOutput(["cat", "/root/note"])).code).not.toBe(0);
      const upper = statSync(join(a.stateDir, "upper/root/note"));
      expect(upper.uid).toBe(a.idmap!.hostUid);
      expect(a.idmap!.hostUid).not.toBe(b.idmap!.hostUid);
      // The image itself is untouched.
      expect(() => statSync(join(img.rootfs, "root/note"))).toThrow();
      await a.stop({ timeout: 0 });
      await b.stop({ timeout: 0 });
      await expect(store.remove("busybox:test")).rejects.toMatchObject({ code: "ERR_WARREN_STATE", message: expect.stringContaining(a.name) });
      await a.destroy();
      await b.destroy();
      await store.remove("busybox:test");
      expect(ownImages(await store.list())).toEqual([]);
    } finally {
      rmSync(layout, { recursive: true, force: true });
    }
  });

  it("snapshots, restores and clones an image-based container", async () => {
    const layout = mkdtempSync(join(tmpdir(), "warren-oci-"));
    await ociLayoutFromDirectory(rootfs(), layout);
    const store = new ImageStore(runtime().root);
    try {
      await store.importOci(layout, { tag: "busybox:snap" });
      const c = await Container.create(uniqueName("snap"), { image: "busybox:snap", init: IDLE, stopTimeout: 2000 }, runtime());
      await c.start();
      await c.execOutput(["sh", "-c", "echo one > /root/state"]);
      await c.snapshot("s1");
      await c.execOutput(["sh", "-c", "echo two > /root/state; echo extra > /root/extra"]);
      expect((await c.listSnapshots()).map((s) => s.name)).toEqual(["s1"]);
      await expect(c.restore("s1")).rejects.toMatchObject({ code: "ERR_WARREN_STATE" }); // running
      await c.stop({ timeout: 0 });
      await c.restore("s1");
      await c.start();
      expect((await c.execOutput(["cat", "/root/state"])).stdout).toBe("one\n");
      expect((await c.execOutput(["cat", "/root/extra"])).code).not.toBe(0);

      const copy = await c.clone(uniqueName("snap-clone"));
      await copy.start();
      expect((await copy.execOutput(["sh", "-c", "cat /root/state; stat -c %u /root/state"])).stdout).toBe("one\n0\n");
      await copy.execOutput(["sh", "-c", "echo clone > /root/state"]);
      expect((await c.execOutput(["cat", "/root/state"])).stdout).toBe("one\n"); // independent
      expect(statSync(join(copy.stateDir, "upper/root/state")).uid).toBe(copy.idmap!.hostUid);
      for (const x of [c, copy]) {
        await x.stop({ timeout: 0 });
        await x.destroy();
      }
      await store.remove("busybox:snap");
    } finally {
      rmSync(layout, { recursive: true, force: true });
    }
  });

  it("refuses an unknown image and giving both rootfs and image", async () => {
    await expect(Container.create(uniqueName("img-x"), { image: "nope:1" }, runtime())).rejects.toMatchObject({ issues: [expect.objectContaining({ path: "image" })] });
    await expect(Container.create(uniqueName("img-y"), { image: "nope:1", rootfs: rootfs() }, runtime())).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "image", message: "give either rootfs or image" })],
    });
  });
});
