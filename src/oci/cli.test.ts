import { describe, expect, it } from "vitest";

import { main, parseFlags, UsageError } from "./cli.js";
import { parseSignal } from "./runtime.js";
import { cgroupParentOf, checkId, warrenName } from "./state.js";

describe("warren-oci's flag parsing (Go's flag package, as runc's)", () => {
  const spec = { strings: ["bundle", "pid-file"], bools: ["detach"], multi: ["env"], alias: { b: "bundle", d: "detach", e: "env" } };
  it("takes --flag value, --flag=value, -flag and short names, and stops at the first argument", () => {
    expect(parseFlags(["--bundle", "/b", "-pid-file=/p", "-d", "-e", "A=1", "--env=B=2", "id", "--bundle", "x"], spec)).toEqual({
      flags: { bundle: "/b", "pid-file": "/p", detach: true, env: ["A=1", "B=2"] },
      rest: ["id", "--bundle", "x"],
    });
    expect(parseFlags(["--detach=false", "--", "-x"], spec)).toEqual({ flags: { detach: false, env: [] }, rest: ["-x"] });
  });
  it("refuses an unknown flag and a missing value as runc does", () => {
    expect(() => parseFlags(["--nope"], spec)).toThrow(new UsageError("flag provided but not defined: -nope"));
    expect(() => parseFlags(["--bundle"], spec)).toThrow("flag needs an argument: -bundle");
  });
});

describe("warren-oci without containers", () => {
  const io = () => {
    const o = { out: "", err: "" };
    return { o, io: { out: (s: string) => (o.out += s), err: (s: string) => (o.err += s) } };
  };
  it("refuses --systemd-cgroup and an unknown command with status 1", async () => {
    const a = io();
    expect(await main(["--systemd-cgroup", "state", "x"], a.io)).toBe(1);
    expect(a.o.err).toContain("--systemd-cgroup is not supported");
    const b = io();
    expect(await main(["frobnicate"], b.io)).toBe(1);
    expect(b.o.err).toContain("No help topic for 'frobnicate'");
  });
  it("prints the features document", async () => {
    const a = io();
    expect(await main(["features"], a.io)).toBe(0);
    expect(JSON.parse(a.o.out)).toMatchObject({ ociVersionMin: "1.0.0", linux: { cgroup: { v2: true, systemd: false } } });
  });
});

describe("ids, names, signals, cgroup paths", () => {
  it("keeps a short id as the warren name and hashes a long one", () => {
    expect(warrenName("web-1")).toBe("web-1");
    const long = "a".repeat(64);
    expect(warrenName(long)).toMatch(/^oci-[0-9a-f]{32}$/);
    expect(warrenName(long)).toBe(warrenName(long));
    expect(() => checkId("a/b")).toThrow("invalid id format: a/b");
    expect(() => checkId("")).toThrow("container id cannot be empty");
  });
  it("reads signals as runc does", () => {
    expect(parseSignal(undefined)).toBe(15);
    expect(parseSignal("KILL")).toBe(9);
    expect(parseSignal("SIGKILL")).toBe(9);
    expect(parseSignal("9")).toBe(9);
    expect(() => parseSignal("NOPE")).toThrow('unknown signal "NOPE"');
  });
  it("places the cgroup by linux.cgroupsPath and refuses systemd's form", () => {
    expect(cgroupParentOf("/default/abc", "abc")).toBe("default");
    expect(cgroupParentOf("/libpod_parent/libpod-abc", "abc")).toBe("libpod_parent");
    expect(cgroupParentOf(undefined, "abc")).toBe("warren-oci");
    expect(() => cgroupParentOf("system.slice:cri-containerd:abc", "abc")).toThrow(/systemd slice path/);
    expect(() => cgroupParentOf("/a/../b/c", "c")).toThrow(/must not contain/);
  });
});
