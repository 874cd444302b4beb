import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { resolveConfig } from "../config/resolve.js";
import type { DeviceInput } from "../config/devices.js";
import { splitDev } from "../linux/dev.js";
import { deviceKind, deviceKinds } from "./kinds.js";
import { HOST, type HostView } from "./types.js";
import { parseUevent } from "./uevent.js";

const tmp = mkdtempSync(join(tmpdir(), "warren-kinds-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fake /dev whose `null` is the host's (a symlink) and `regular` a plain file. */
const fakeDev = join(tmp, "dev");
mkdirSync(fakeDev);
symlinkSync("/dev/null", join(fakeDev, "null"));
writeFileSync(join(fakeDev, "regular"), "");
const host: HostView = { dev: fakeDev, sys: join(tmp, "sys"), proc: join(tmp, "proc") };

function spec(input: DeviceInput) {
  return resolveConfig({ devices: { d: input } }).devices.d!;
}

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    resolveConfig({ devices: { d: input as DeviceInput } });
    return [];
  } catch (e) {
    return (e as { issues: { path: string; message: string }[] }).issues;
  }
}

describe("the devices schema", () => {
  it("fills in the defaults and reads an octal mode", () => {
    expect(spec({ type: "unix-char", source: "/dev/fuse", mode: "0666" })).toEqual({
      type: "unix-char",
      source: "/dev/fuse",
      uid: 0,
      gid: 0,
      mode: 0o666,
      required: true,
    });
    expect(spec({ type: "disk", source: "/srv", path: "/srv" })).toEqual({ type: "disk", source: "/srv", path: "/srv", readonly: false, idmap: false, required: true });
  });

  it("names the field of each problem", () => {
    expect(issuesOf({ type: "gpio", source: "/dev/x" })).toEqual([expect.objectContaining({ path: "devices.d.type", message: expect.stringMatching(/unknown device type/) })]);
    expect(issuesOf({ type: "unix-char", path: "/dev/x" }).map((i) => i.path)).toEqual(["devices.d.source"]);
    expect(issuesOf({ type: "unix-char", major: 1, minor: 3 }).map((i) => i.path)).toEqual(["devices.d.path"]);
    expect(issuesOf({ type: "unix-char", major: 1, path: "/dev/x" }).map((i) => i.path)).toEqual(["devices.d.source", "devices.d.minor"]);
    expect(issuesOf({ type: "unix-char", source: "/dev/x", mode: "0o666" }).map((i) => i.path)).toEqual(["devices.d.mode"]);
    expect(issuesOf({ type: "unix-char", source: "/dev/x", mode: 0o10000 }).map((i) => i.path)).toEqual(["devices.d.mode"]);
    expect(issuesOf({ type: "unix-char", source: "/dev/x", path: "/dev/../etc/x" }).map((i) => i.path)).toEqual(["devices.d.path"]);
    expect(issuesOf({ type: "unix-char", major: 1, minor: 3, path: "/x", required: false }).map((i) => i.path)).toEqual(["devices.d.required"]);
    expect(issuesOf({ type: "disk", source: "/srv" }).map((i) => i.path)).toEqual(["devices.d.path"]);
    expect(issuesOf({ type: "unix-char", source: "/dev/x", colour: "red" }).map((i) => i.path)).toEqual(["devices.d.colour"]);
    expect(() => resolveConfig({ devices: { "bad name": { type: "unix-char", source: "/dev/x" } } })).toThrow(/devices/);
    expect(() => resolveConfig({ namespaces: { user: false }, devices: { d: { type: "disk", source: "/srv", path: "/srv", idmap: true } } })).toThrow(/devices\.d\.idmap: needs a user namespace/);
  });
});

describe("unix kinds", () => {
  it("reads type and numbers from the host node", () => {
    const r = deviceKind(spec({ type: "unix-char", source: "/dev/null", uid: 5, mode: 0o600 })).resolve("d", spec({ type: "unix-char", source: "/dev/null", uid: 5, mode: 0o600 }), host);
    expect(r).toEqual({ nodes: [{ hostPath: "/dev/null", path: "/dev/null", type: "c", major: 1, minor: 3, uid: 5, gid: 0, mode: 0o600 }], binds: [], mounts: [] });
  });

  it("refuses a node of the other type, a non-node, a missing one, and numbers that disagree", () => {
    const resolve = (input: DeviceInput) => {
      const s = spec(input);
      return () => deviceKind(s).resolve("d", s, host);
    };
    expect(resolve({ type: "unix-block", source: "/dev/null" })).toThrow(/devices\.d\.source: `\/dev\/null` is not a block device/);
    expect(resolve({ type: "unix-char", source: "/dev/regular" })).toThrow(/is not a character device/);
    expect(resolve({ type: "unix-char", source: "/dev/missing" })).toThrow(/devices\.d\.source: `\/dev\/missing` does not exist/);
    expect(resolve({ type: "unix-char", source: "/dev/null", major: 1, minor: 5 })).toThrow(/devices\.d\.major: `\/dev\/null` is 1:3, not 1:5/);
  });

  it("waits for a missing node with required: false, and uses explicit numbers without one", () => {
    const waiting = spec({ type: "unix-block", source: "/dev/loop9", required: false });
    expect(deviceKind(waiting).resolve("d", waiting, host)).toEqual({ nodes: [], binds: [], mounts: [], waiting: "`/dev/loop9` does not exist yet" });
    const byNumber = spec({ type: "unix-block", major: 7, minor: 9, path: "/dev/disk9" });
    expect(deviceKind(byNumber).resolve("d", byNumber, host).nodes).toEqual([{ path: "/dev/disk9", type: "b", major: 7, minor: 9, uid: 0, gid: 0, mode: 0o660 }]);
  });

  it("follows the uevents of its node only when it waits for it", () => {
    const hot = spec({ type: "unix-block", source: "/dev/loop9", required: false });
    const kind = deviceKind(hot);
    const ev = (action: string, subsystem: string, devname: string) =>
      parseUevent(`${action}@/devices/virtual/block/${devname}\0ACTION=${action}\0DEVPATH=/devices/virtual/block/${devname}\0SUBSYSTEM=${subsystem}\0DEVNAME=${devname}\0MAJOR=7\0MINOR=9\0`)!;
    expect(kind.affectedBy!(hot, ev("add", "block", "loop9"))).toBe(true);
    expect(kind.affectedBy!(hot, ev("remove", "block", "loop9"))).toBe(true);
    expect(kind.affectedBy!(hot, ev("change", "block", "loop9"))).toBe(false);
    expect(kind.affectedBy!(hot, ev("add", "block", "loop8"))).toBe(false);
    expect(kind.affectedBy!(hot, ev("add", "tty", "loop9"))).toBe(false);
    const fixed = spec({ type: "unix-block", source: "/dev/loop9" });
    expect(kind.affectedBy!(fixed, ev("add", "block", "loop9"))).toBe(false);
  });
});

describe("disk kind", () => {
  it("binds a directory or a file, and refuses what is neither", () => {
    const dir = spec({ type: "disk", source: tmp, path: "/data", readonly: true });
    expect(deviceKind(dir).resolve("d", dir, HOST).binds).toEqual([{ source: tmp, target: "/data", readonly: true, idmap: false, isDir: true }]);
    const file = spec({ type: "disk", source: join(fakeDev, "regular"), path: "/f" });
    expect(deviceKind(file).resolve("d", file, HOST).binds[0]!.isDir).toBe(false);
    const chr = spec({ type: "disk", source: "/dev/null", path: "/n" });
    expect(() => deviceKind(chr).resolve("d", chr, HOST)).toThrow(/devices\.d\.source: .* is not a directory, a file or a block device/);
    const fs = spec({ type: "disk", source: tmp, path: "/data", fstype: "ext4" });
    expect(() => deviceKind(fs).resolve("d", fs, HOST)).toThrow(/devices\.d\.fstype: applies to a block device only/);
    const gone = spec({ type: "disk", source: join(tmp, "nope"), path: "/data", required: false });
    expect(deviceKind(gone).resolve("d", gone, HOST).waiting).toMatch(/does not exist/);
  });

  it("lists every registered kind", () => {
    expect(deviceKinds()).toEqual(["unix-char", "unix-block", "disk", "usb", "gpu"]);
  });
});

describe("splitDev", () => {
  it("splits large numbers the way glibc does", () => {
    // makedev(259, 1048575): major above 255, minor above 255.
    const dev = (0xfffn & 259n) << 8n | (0xffn & 1048575n) | ((1048575n & ~0xffn) << 12n) | ((259n & ~0xfffn) << 32n);
    expect(splitDev(Number(dev))).toEqual({ major: 259, minor: 1048575 });
  });
});
