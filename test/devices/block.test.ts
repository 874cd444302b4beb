/**
 * unix-block devices: a loop device (an ext4 image made here) read by two
 * containers at once; `required: false` following the device as the host
 * attaches and removes it (kernel uevents).
 */
import { afterAll, describe, expect, it } from "vitest";

import { busybox, cleanupAll } from "../helpers/env.js";
import { attach, detach, freeLoopNumber, makeImage, removeImage, within } from "./loop.js";

const image = makeImage();
const used: number[] = [];

afterAll(async () => {
  await cleanupAll();
  for (const n of used) detach(n);
  removeImage(image.dir);
});

/** The ext4 magic (0xEF53, little-endian at byte 1080) read through the node. */
const MAGIC = (path: string) => ["sh", "-c", `dd if=${path} bs=1 skip=1080 count=2 2>/dev/null | xxd -p`];

describe("unix-block", () => {
  it("passes a loop device to two containers, both reading it", async () => {
    const n = freeLoopNumber();
    used.push(n);
    const dev = attach(n, image.image);
    const a = await busybox("blk-a", { devices: { disk: { type: "unix-block", source: dev, path: "/dev/vdb" } } });
    const b = await busybox("blk-b");
    await a.start();
    await b.start();
    await b.addDevice("disk", { type: "unix-block", source: dev, path: "/dev/vdb", mode: 0o640, gid: 6 });
    expect((await a.execOutput(MAGIC("/dev/vdb"))).stdout).toBe("53ef\n");
    expect((await b.execOutput(MAGIC("/dev/vdb"))).stdout).toBe("53ef\n");
    expect((await b.execOutput(["stat", "-c", "%F %a %t %T %u %g", "/dev/vdb"])).stdout).toBe(`block special file 640 7 ${n.toString(16)} 0 6\n`);
    await a.stop({ timeout: 0 });
    await b.stop({ timeout: 0 });
  });

  it("with required: false, adds the device when the host attaches it and removes it when it goes", async () => {
    const n = freeLoopNumber();
    used.push(n);
    const c = await busybox("blk-hot", { devices: { later: { type: "unix-block", source: `/dev/loop${n}`, path: "/dev/later", required: false } } });
    await c.start();
    const present = async () => (await c.execOutput(["sh", "-c", "test -b /dev/later && echo y || echo n"])).stdout === "y\n";
    expect(await present()).toBe(false);
    expect((await c.devices())[0]).toMatchObject({ name: "later", state: "waiting" });
    attach(n, image.image);
    expect(await within(2000, present)).toBeGreaterThanOrEqual(0);
    expect((await c.execOutput(MAGIC("/dev/later"))).stdout).toBe("53ef\n");
    expect((await c.devices())[0]).toMatchObject({ state: "attached", paths: ["/dev/later"] });
    detach(n);
    expect(await within(2000, async () => !(await present()))).toBeGreaterThanOrEqual(0);
    expect((await c.devices())[0]).toMatchObject({ state: "waiting", paths: [] });
    // And back again: a device that comes and goes is followed every time.
    attach(n, image.image);
    expect(await within(2000, present)).toBeGreaterThanOrEqual(0);
    detach(n);
    await c.stop({ timeout: 0 });
  });
});
