import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { native } from "../native/binding.js";
import { settleDevices, sweepDeviceNodes } from "./devices.js";
import { applyLayer } from "./layer.js";
import { writeTar } from "./tar-writer.testutil.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "warren-devices-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("settleDevices", () => {
  it("keeps the record of devices no later layer removed or replaced, and leaves no placeholder", async () => {
    const layer1 = writeTar([
      { path: "dev", type: "dir" },
      { path: "dev/a", type: "char", mode: 0o666 },
      { path: "dev/b", type: "char", mode: 0o600 },
      { path: "dev/c", type: "char", mode: 0o666 },
    ]);
    const layer2 = writeTar([
      { path: "dev/.wh.a", body: "" },
      { path: "dev/c", body: "a file now" },
    ]);
    const r1 = await applyLayer(Readable.from([layer1]), root);
    const r2 = await applyLayer(Readable.from([layer2]), root);
    const kept = await settleDevices(root, [...r1.devices, ...r2.devices]);
    expect(kept.map((d) => [d.path, d.mode])).toEqual([["/dev/b", 0o600]]);
    expect(existsSync(join(root, "dev/a"))).toBe(false);
    expect(existsSync(join(root, "dev/b"))).toBe(false);
    expect(readFileSync(join(root, "dev/c"), "utf8")).toBe("a file now");
  });
});

describe("sweepDeviceNodes", () => {
  it.skipIf(process.getuid?.() !== 0)("removes and records the device nodes a tool made, fifos and files stay", async () => {
    mkdirSync(join(root, "dev/sub"), { recursive: true });
    native().mknod(join(root, "dev/sub/sda"), 0o060000 | 0o600, 8, 0);
    native().mknod(join(root, "dev/big"), 0o020000 | 0o600, 259, 300000);
    native().mknod(join(root, "dev/fifo"), 0o010000 | 0o600, 0, 0);
    writeFileSync(join(root, "dev/file"), "x");
    const found = await sweepDeviceNodes(root);
    expect(found.map((d) => [d.path, d.type, d.major, d.minor, d.mode]).sort()).toEqual([
      ["/dev/big", "char", 259, 300000, 0o600],
      ["/dev/sub/sda", "block", 8, 0, 0o600],
    ]);
    expect(existsSync(join(root, "dev/sub/sda"))).toBe(false);
    expect(lstatSync(join(root, "dev/fifo")).isFIFO()).toBe(true);
    expect(existsSync(join(root, "dev/file"))).toBe(true);
  });
});
