import { describe, expect, it } from "vitest";

import { resolveConfig } from "../config/resolve.js";
import { deviceTable, parseDeviceSpec } from "./device.js";

describe("device add KEY=VALUE", () => {
  it("types numbers and booleans by key and leaves mode octal text", () => {
    const spec = parseDeviceSpec(["type=unix-char", "source=/dev/fuse", "mode=0666", "uid=1000", "required=false"]);
    expect(spec).toEqual({ type: "unix-char", source: "/dev/fuse", mode: "0666", uid: 1000, required: false });
    expect(resolveConfig({ devices: { fuse: spec as never } }).devices.fuse).toMatchObject({ mode: 0o666, uid: 1000 });
    expect(parseDeviceSpec(["type=disk", "source=/srv", "path=/srv", "readonly=true"])).toEqual({ type: "disk", source: "/srv", path: "/srv", readonly: true });
  });

  it("refuses what is not KEY=VALUE, repeated keys, bad numbers and booleans, and a missing type", () => {
    expect(() => parseDeviceSpec(["type=unix-char", "source"])).toThrow(/expected KEY=VALUE, got "source"/);
    expect(() => parseDeviceSpec(["type=unix-char", "type=disk"])).toThrow(/type given twice/);
    expect(() => parseDeviceSpec(["type=unix-char", "major=x"])).toThrow(/major="x": expected a number/);
    expect(() => parseDeviceSpec(["type=disk", "readonly=yes"])).toThrow(/readonly="yes": expected true or false/);
    expect(() => parseDeviceSpec(["source=/dev/fuse"])).toThrow(/missing type=/);
  });
});

describe("device list", () => {
  it("prints one row per device", () => {
    const table = deviceTable([
      { name: "fuse", type: "unix-char", spec: { type: "unix-char", source: "/dev/fuse", uid: 0, gid: 0, mode: 0o666, required: true }, state: "attached", paths: ["/dev/fuse"] },
      { name: "eth1", type: "nic", spec: { type: "macvlan", name: "eth1", parent: "enp1s0", mode: "bridge" }, state: "configured", paths: [] },
    ]);
    expect(table.split("\n").map((l) => l.trim().split(/\s+/))).toEqual([
      ["NAME", "TYPE", "STATE", "SOURCE", "INSIDE"],
      ["fuse", "unix-char", "attached", "/dev/fuse", "/dev/fuse"],
      ["eth1", "nic", "configured", "enp1s0", "-"],
      ...(table.endsWith("\n") ? [[""]] : []),
    ]);
  });
});
