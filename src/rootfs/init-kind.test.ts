import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { detectInit, haltSignalFor, resolveInRoot } from "./init-kind.js";

const base = mkdtempSync(join(tmpdir(), "warren-initkind-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string | { link: string }>): string {
  const root = join(base, name);
  for (const [path, what] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    if (typeof what === "string") writeFileSync(join(root, path), what);
    else symlinkSync(what.link, join(root, path));
  }
  return root;
}

describe("resolveInRoot", () => {
  it("takes absolute links relative to the root and never leaves it", () => {
    const r = tree("links", {
      "lib/systemd/systemd": "",
      "sbin/init": { link: "/lib/systemd/systemd" },
      "bin/up": { link: "../../../../lib/systemd/systemd" },
      "bin/loop": { link: "loop" },
    });
    expect(resolveInRoot(r, "/sbin/init")).toBe("/lib/systemd/systemd");
    expect(resolveInRoot(r, "/bin/up")).toBe("/lib/systemd/systemd");
    expect(resolveInRoot(r, "/bin/loop")).toBeUndefined();
    expect(resolveInRoot(r, "/nope")).toBeUndefined();
  });
});

describe("detectInit", () => {
  it("tells systemd, busybox init, sysvinit and anything else apart", () => {
    const systemd = tree("systemd", { "lib/systemd/systemd": "", "sbin/init": { link: "/lib/systemd/systemd" } });
    const busybox = tree("busybox", { "bin/busybox": "", "sbin/init": { link: "../bin/busybox" }, "bin/sh": { link: "busybox" } });
    const sysv = tree("sysv", { "sbin/init": "ELF", "sbin/telinit": "", "etc/inittab": "" });
    expect(detectInit(systemd, "/sbin/init")).toBe("systemd");
    expect(detectInit(systemd, "/lib/systemd/systemd")).toBe("systemd");
    expect(detectInit(busybox, "/sbin/init")).toBe("busybox");
    // busybox as a shell is not an init.
    expect(detectInit(busybox, "/bin/sh")).toBe("other");
    expect(detectInit(sysv, "/sbin/init")).toBe("sysvinit");
    expect(detectInit(undefined, "/sbin/init")).toBe("other");
    expect(detectInit(sysv, "/missing")).toBe("other");
  });

  it("maps each init to the signal that powers it off", () => {
    expect(haltSignalFor("systemd")).toBe("SIGRTMIN+3");
    expect(haltSignalFor("sysvinit")).toBe("SIGPWR");
    expect(haltSignalFor("busybox")).toBe("SIGUSR2");
    expect(haltSignalFor("other")).toBe("SIGTERM");
  });
});
