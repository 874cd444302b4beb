import { describe, expect, it } from "vitest";

import { parseDistroSpec, ProgressParser, resolveSpec, type BuildProgress } from "./debootstrap.js";

describe("distro specs", () => {
  it("parses DISTRO/RELEASE and refuses anything else", () => {
    expect(parseDistroSpec("debian/bookworm")).toEqual({ distro: "debian", release: "bookworm" });
    expect(parseDistroSpec("ubuntu/noble")).toEqual({ distro: "ubuntu", release: "noble" });
    expect(() => parseDistroSpec("fedora/40")).toThrow(/debian\/RELEASE or ubuntu\/RELEASE/);
    expect(() => parseDistroSpec("debian/Bookworm!")).toThrow(/bad release/);
  });

  it("always adds the init, and keys the cache by what changes the tree (not the mirror)", () => {
    const a = resolveSpec({ distro: "debian", release: "bookworm", arch: "amd64" });
    expect(a.packages).toEqual(["systemd-sysv"]);
    expect(a.variant).toBe("minbase");
    const b = resolveSpec({ distro: "debian", release: "bookworm", arch: "amd64", mirror: "http://example.org/debian" });
    expect(b.key).toBe(a.key);
    const c = resolveSpec({ distro: "debian", release: "bookworm", arch: "amd64", init: "sysvinit" });
    expect(c.packages).toEqual(["sysvinit-core"]);
    expect(c.key).not.toBe(a.key);
    const d = resolveSpec({ distro: "debian", release: "bookworm", arch: "amd64", packages: ["curl", "curl"] });
    expect(d.packages).toEqual(["curl", "systemd-sysv"]);
    expect(() => resolveSpec({ distro: "debian", release: "bookworm", packages: ["bad name"] })).toThrow(/bad package name/);
    expect(() => resolveSpec({ distro: "debian", release: "bookworm", mirror: "ftp://x" })).toThrow(/bad mirror/);
  });
});

describe("build progress", () => {
  it("counts packages per phase, with the number retrieved as the total of the later phases", () => {
    const seen: BuildProgress[] = [];
    const p = new ProgressParser((e) => seen.push(e));
    for (const l of [
      "I: Retrieving InRelease",
      "I: Retrieving Packages",
      "I: Retrieving libc6 2.36-9",
      "I: Retrieving bash 5.2",
      "I: Extracting libc6...",
      "I: Unpacking bash...",
      "I: Configuring libc6...",
      "W: something else",
      "I: Base system installed successfully.",
    ]) p.line(l);
    expect(seen.map((e) => [e.phase, e.done, e.total])).toEqual([
      ["retrieve", 0, undefined],
      ["retrieve", 0, undefined],
      ["retrieve", 1, undefined],
      ["retrieve", 2, undefined],
      ["extract", 1, 2],
      ["unpack", 1, 2],
      ["configure", 1, 2],
      ["finish", 1, undefined],
    ]);
  });
});
