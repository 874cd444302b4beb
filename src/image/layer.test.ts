import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  linkSync,
  writeFileSync,
  chmodSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { native } from "../native/binding.js";
import { ImageError } from "../errors.js";
import { applyLayer, normalizeEntryPath } from "./layer.js";
import { writeTar, type WriteEntry } from "./tar-writer.testutil.js";

let base: string;
/** The target directory, three levels below `base` so that `../..` lands in base. */
let root: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "warren-layer-"));
  root = join(base, "x", "y", "z", "root");
  mkdirSync(root, { recursive: true });
  mkdirSync(join(base, "outside"));
  writeFileSync(join(base, "outside", "secret"), "secret");
  writeFileSync(join(base, "x", "y", "z", "secret"), "secret");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function tarOf(src: string, gzip = false): Readable {
  const args = ["--format=pax", "--sort=name", "-cf", "-", "-C", src, "."];
  let buf = execFileSync("tar", args, { maxBuffer: 64 << 20 });
  if (gzip) buf = execFileSync("gzip", ["-c"], { input: buf, maxBuffer: 64 << 20 });
  return Readable.from([buf]);
}

/** Everything under base except the target tree: path, type, mode, content. */
function snapshot(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (p === root) continue;
      const st = lstatSync(p);
      out.push(`${p} ${st.mode.toString(8)} ${st.isFile() ? readFileSync(p, "utf8") : st.isSymbolicLink() ? readlinkSync(p) : ""}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(base);
  return out;
}

/** writeTar, with devmajor/devminor set in the header of entry `path` (the writer leaves them 0). */
function withDevice(path: string, major: number, minor: number, entries: WriteEntry[]): Buffer {
  const t = writeTar(entries);
  for (let off = 0; off + 512 <= t.length; off += 512) {
    const h = t.subarray(off, off + 512);
    if (h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "") !== path || h[156] !== 0x33) continue;
    h.write(major.toString(8).padStart(7, "0") + "\0", 329, 8, "latin1");
    h.write(minor.toString(8).padStart(7, "0") + "\0", 337, 8, "latin1");
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
    return t;
  }
  throw new Error(`no device entry ${path}`);
}

describe("normalizeEntryPath", () => {
  it("strips / and resolves ..; refuses escapes", () => {
    expect(normalizeEntryPath("/abs/path")).toEqual(["abs", "path"]);
    expect(normalizeEntryPath("./a/../b//c/.")).toEqual(["b", "c"]);
    expect(() => normalizeEntryPath("../../etc/evil")).toThrow(ImageError);
    expect(() => normalizeEntryPath("a/../../b")).toThrow(/escapes/);
  });
});

describe("applyLayer with GNU tar layers", () => {
  it("extracts files, modes, symlinks, hard links, long names; applies whiteouts and opaque dirs", async () => {
    const long = `${"l".repeat(70)}/${"m".repeat(70)}`;
    const lower = join(base, "lower");
    mkdirSync(join(lower, "etc"), { recursive: true });
    mkdirSync(join(lower, "opq", "sub"), { recursive: true });
    mkdirSync(join(lower, long), { recursive: true });
    writeFileSync(join(lower, long, "f"), "long");
    writeFileSync(join(lower, "etc", "conf"), "conf\n");
    chmodSync(join(lower, "etc", "conf"), 0o640);
    writeFileSync(join(lower, "run.sh"), "#!/bin/sh\n");
    chmodSync(join(lower, "run.sh"), 0o4755);
    writeFileSync(join(lower, "x"), "to be deleted");
    writeFileSync(join(lower, "opq", "old"), "old");
    writeFileSync(join(lower, "opq", "sub", "old2"), "old");
    symlinkSync("etc/conf", join(lower, "conflink"));
    linkSync(join(lower, "etc", "conf"), join(lower, "hl"));
    chmodSync(join(lower, "opq"), 0o750);

    const warningsSeen: string[] = [];
    const paths: string[] = [];
    const r1 = await applyLayer(tarOf(lower), root, { onEntry: (e) => paths.push(e.path) });
    warningsSeen.push(...r1.warnings);
    expect(r1.entries).toBe(paths.length);
    expect(readFileSync(join(root, "etc/conf"), "utf8")).toBe("conf\n");
    expect(statSync(join(root, "etc/conf")).mode & 0o7777).toBe(0o640);
    expect(statSync(join(root, "run.sh")).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(root, "opq")).mode & 0o7777).toBe(0o750);
    expect(readlinkSync(join(root, "conflink"))).toBe("etc/conf");
    expect(statSync(join(root, "hl")).ino).toBe(statSync(join(root, "etc/conf")).ino);
    expect(readFileSync(join(root, long, "f"), "utf8")).toBe("long");
    expect(Math.floor(statSync(join(root, "etc/conf")).mtimeMs / 1000)).toBe(Math.floor(statSync(join(lower, "etc/conf")).mtimeMs / 1000));

    const upper = join(base, "upper");
    mkdirSync(join(upper, "opq"), { recursive: true });
    writeFileSync(join(upper, ".wh.x"), "");
    writeFileSync(join(upper, "opq", ".wh..wh..opq"), "");
    writeFileSync(join(upper, "opq", "new"), "new");
    writeFileSync(join(upper, "added"), "added");
    const r2 = await applyLayer(tarOf(upper, true), root);
    warningsSeen.push(...r2.warnings);
    expect(existsSync(join(root, "x"))).toBe(false);
    expect(existsSync(join(root, ".wh.x"))).toBe(false);
    expect(readdirSync(join(root, "opq")).sort()).toEqual(["new"]);
    expect(readFileSync(join(root, "added"), "utf8")).toBe("added");
    expect(readFileSync(join(root, "etc/conf"), "utf8")).toBe("conf\n");
    expect(warningsSeen).toEqual([]);
  });

  it("opaque marker after this layer's own entries keeps them", async () => {
    mkdirSync(join(root, "d", "sub"), { recursive: true });
    writeFileSync(join(root, "d", "lower"), "");
    writeFileSync(join(root, "d", "sub", "lower"), "");
    await applyLayer(
      Readable.from([
        writeTar([
          { path: "d/", type: "dir" },
          { path: "d/sub/mine", body: "m" },
          { path: "d/mine", body: "m" },
          { path: "d/.wh..wh..opq" },
        ]),
      ]),
      root,
    );
    expect(readdirSync(join(root, "d")).sort()).toEqual(["mine", "sub"]);
    expect(readdirSync(join(root, "d", "sub"))).toEqual(["mine"]);
  });

  it("records devices without making them, makes fifos and sets xattrs (file capabilities after chown)", async () => {
    // v2 security.capability: cap_net_bind_service (bit 10) permitted + effective.
    const cap = Buffer.from("0100000200040000000000000000000000000000", "hex");
    const r = await applyLayer(
      Readable.from([
        withDevice("dev/null", 1, 3, [
          { path: "dev/null", type: "char", mode: 0o666 },
          { path: "p", type: "fifo", mode: 0o640, uid: 7, gid: 8 },
          { path: "f", body: "x", mode: 0o755, uid: 1, gid: 1, pax: { "SCHILY.xattr.security.capability": cap, "SCHILY.xattr.user.test": "yes" } },
          { path: "d", type: "dir", pax: { "SCHILY.xattr.user.d": "dir" } },
          { path: "bad", body: "", pax: { "SCHILY.xattr.security.capability": Buffer.from([1, 2]) } },
        ]),
      ]),
      root,
    );
    const b = native();
    const root0 = process.getuid?.() === 0;
    // A 0666 device node in an image would be a host device anyone reaching it could open: not made,
    // only a mode-0 placeholder until settleDevices, and recorded.
    const dev = lstatSync(join(root, "dev/null"));
    expect(dev.isCharacterDevice()).toBe(false);
    expect([dev.isFile(), dev.size, dev.mode & 0o7777]).toEqual([true, 0, 0]);
    expect(r.devices).toEqual([{ path: "/dev/null", type: "char", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 }]);
    expect(r.warnings).toContain("dev/null: char device 1:3 not created on the host (recorded in the image)");
    const fifo = lstatSync(join(root, "p"));
    expect(fifo.isFIFO()).toBe(true);
    expect(fifo.mode & 0o7777).toBe(0o640);
    if (root0) expect([fifo.uid, fifo.gid]).toEqual([7, 8]);
    expect(b.lgetxattr(join(root, "f"), "user.test").toString()).toBe("yes");
    if (root0) expect(b.lgetxattr(join(root, "f"), "security.capability")).toEqual(cap);
    expect(b.lgetxattr(join(root, "d"), "user.d").toString()).toBe("dir");
    expect(readFileSync(join(root, "f"), "utf8")).toBe("x");
    // A malformed capability is refused by the kernel (EINVAL): a warning, not a failure.
    expect(r.warnings.join("\n")).toMatch(/bad: xattr security\.capability not set \(EINVAL\)/);
  });

  it("never follows a symlink at a device's or fifo's own name", async () => {
    symlinkSync("../../../../outside/secret", join(root, "p"));
    await applyLayer(Readable.from([writeTar([{ path: "p", type: "fifo" }])]), root);
    expect(lstatSync(join(root, "p")).isFIFO()).toBe(true);
    expect(readFileSync(join(base, "outside", "secret"), "utf8")).toBe("secret");
  });

  it("rename maps entries and hard link targets; null skips", async () => {
    const seen: string[] = [];
    await applyLayer(
      Readable.from([
        writeTar([
          { path: "metadata.yaml", body: "architecture: x86_64\n" },
          { path: "rootfs/", type: "dir", mode: 0o711 },
          { path: "rootfs/a", body: "a" },
          { path: "rootfs/b", type: "hardlink", linkname: "rootfs/a" },
          { path: "rootfs/.wh.kept", body: "not a whiteout" },
        ]),
      ]),
      root,
      {
        onEntry: async (e) => {
          if (e.path === "metadata.yaml") for await (const c of e.body) seen.push(String(c));
        },
        rename: (p) => (p.startsWith("rootfs/") || p === "rootfs" ? p.slice("rootfs".length) || "." : null),
        whiteouts: false,
      },
    );
    expect(seen.join("")).toBe("architecture: x86_64\n");
    expect(readdirSync(root).sort()).toEqual([".wh.kept", "a", "b"]);
    expect(statSync(join(root, "b")).ino).toBe(statSync(join(root, "a")).ino);
    expect(statSync(root).mode & 0o777).toBe(0o711);
    const r = await applyLayer(Readable.from([writeTar([{ path: "x", type: "hardlink", linkname: "elsewhere/a" }])]), root, {
      rename: (p) => (p.startsWith("elsewhere") ? null : p),
    }).catch((e: unknown) => e);
    expect(r).toBeInstanceOf(ImageError);
  });
});

describe("applyLayer with hostile layers", () => {
  async function apply(entries: WriteEntry[]): Promise<unknown> {
    return applyLayer(Readable.from([writeTar(entries)]), root).catch((e: unknown) => e);
  }
  let before: string[];
  beforeEach(() => {
    before = snapshot();
  });
  afterEach(() => {
    expect(snapshot()).toEqual(before);
    expect(existsSync("/etc/evil")).toBe(false);
    expect(existsSync("/abs")).toBe(false);
    expect(existsSync("/escaped")).toBe(false);
  });

  it("rejects ../../etc/evil", async () => {
    const r = await apply([{ path: "../../etc/evil", body: "evil" }]);
    expect(r).toBeInstanceOf(ImageError);
  });

  it("rejects ../ hidden in the middle (a/../../../secret)", async () => {
    expect(await apply([{ path: "a/../../../secret", body: "evil" }])).toBeInstanceOf(ImageError);
  });

  it("contains /abs/path", async () => {
    await apply([{ path: "/abs/path", body: "x" }]);
    expect(readFileSync(join(root, "abs/path"), "utf8")).toBe("x");
  });

  for (const target of ["/", "../../..", "/../../..", "../../../outside"]) {
    it(`contains link -> ${target} followed by link/escaped`, async () => {
      const r = await apply([
        { path: "link", type: "symlink", linkname: target },
        { path: "link/escaped", body: "x" },
        { path: "link/secret", body: "overwritten?" },
      ]);
      expect(r).not.toBeInstanceOf(Error);
      const where = target.endsWith("outside") ? join(root, "outside") : root;
      expect(readFileSync(join(where, "escaped"), "utf8")).toBe("x");
      expect(lstatSync(join(root, "link")).isSymbolicLink()).toBe(true);
    });
  }

  it("contains a symlink parent created in an earlier layer", async () => {
    await apply([{ path: "etc", type: "symlink", linkname: "../../../outside" }]);
    await apply([{ path: "etc/secret", body: "pwned" }, { path: "etc/.wh.secret2" }]);
    expect(readFileSync(join(root, "outside/secret"), "utf8")).toBe("pwned");
  });

  it("rejects a hard link to ../../outside", async () => {
    expect(await apply([{ path: "h", type: "hardlink", linkname: "../../outside/secret" }])).toBeInstanceOf(ImageError);
    expect(await apply([{ path: "h", type: "hardlink", linkname: "../../../secret" }])).toBeInstanceOf(ImageError);
  });

  it("resolves hard link targets through symlinks inside the root only", async () => {
    const r = await apply([
      { path: "up", type: "symlink", linkname: "../../.." },
      { path: "h", type: "hardlink", linkname: "up/secret" },
    ]);
    // root/secret does not exist: refused, never linked to base/x/y/z/secret.
    expect(r).toBeInstanceOf(ImageError);
    expect(existsSync(join(root, "h"))).toBe(false);
  });

  it("links to a symlink itself, not to what it points at", async () => {
    await apply([
      { path: "s", type: "symlink", linkname: "../../../secret" },
      { path: "h", type: "hardlink", linkname: "s" },
    ]);
    expect(lstatSync(join(root, "h")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(root, "h")).ino).toBe(lstatSync(join(root, "s")).ino);
  });

  it("replaces an existing symlink at the entry's path instead of following it", async () => {
    symlinkSync(join(base, "outside", "secret"), join(root, "s"));
    symlinkSync(join(base, "outside"), join(root, "d"));
    await apply([
      { path: "s", body: "mine", mode: 0o777 },
      { path: "d", type: "dir", mode: 0o777 },
    ]);
    expect(readFileSync(join(root, "s"), "utf8")).toBe("mine");
    expect(lstatSync(join(root, "d")).isDirectory()).toBe(true);
  });

  it("never chmods through a directory later replaced by a symlink", async () => {
    await apply([
      { path: "a/", type: "dir", mode: 0o700 },
      { path: "a/outside/", type: "dir", mode: 0o777 },
      { path: "a", type: "symlink", linkname: "../../.." },
    ]);
    expect(lstatSync(join(root, "a")).isSymbolicLink()).toBe(true);
  });

  it("rejects a symlink loop", async () => {
    const r = await apply([
      { path: "l1", type: "symlink", linkname: "l2" },
      { path: "l2", type: "symlink", linkname: "l1" },
      { path: "l1/x", body: "x" },
    ]);
    expect(r).toBeInstanceOf(ImageError);
    expect((r as Error).message).toMatch(/too many levels/);
  });

  it("contains whiteouts through symlinks", async () => {
    const r = await apply([
      { path: "up", type: "symlink", linkname: "../../.." },
      { path: "up/.wh.secret" },
      { path: "up/.wh..wh..opq" },
    ]);
    expect(r).not.toBeInstanceOf(Error);
  });
});
