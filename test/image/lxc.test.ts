/**
 * LXC/Incus image tarballs (unified and split, xz) made with GNU tar from
 * the busybox rootfs, zstd and xz OCI layers, device nodes / fifos / xattrs
 * from layers, containment of hostile tarballs, and a truncated xz.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DecompressionError, ImageError, MissingToolError } from "../../src/errors.js";
import type { DeviceNode } from "../../src/image/devices.js";
import { importLxcImage } from "../../src/image/lxc.js";
import { importOciLayout, type Descriptor } from "../../src/image/oci.js";
import { writeTar } from "../../src/image/tar-writer.testutil.js";
import { native } from "../../src/native/binding.js";
import { rootfs } from "../helpers/env.js";

const METADATA = `architecture: ${process.arch === "arm64" ? "aarch64" : "x86_64"}
creation_date: 1700000000
properties:
  description: BusyBox test image
  os: busybox
  release: "1.36"
  variant: default
templates:
  /etc/hostname:
    when:
    - create
    template: hostname.tpl
`;
/** v2 security.capability: cap_net_bind_service permitted + effective. */
const CAP = Buffer.from("0100000200040000000000000000000000000000", "hex");
const isRoot = process.getuid?.() === 0;

function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let tmp: string;
/** A copy of the busybox rootfs with extras: owned files, a device, a fifo, xattrs. */
let src: string;
let meta: string;

function tar(args: string[]): Buffer {
  return execFileSync("tar", ["--format=pax", "--sort=name", "--xattrs", "--xattrs-include=*", ...args, "-cf", "-"].concat([]), {
    maxBuffer: 256 << 20,
  });
}

function run(cmd: string, args: string[], input?: Buffer): Buffer {
  return execFileSync(cmd, args, { input, maxBuffer: 256 << 20 });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "warren-lxc-"));
  src = join(tmp, "src");
  run("cp", ["-a", rootfs(), src]);
  mkdirSync(join(src, "home", "user"), { recursive: true });
  writeFileSync(join(src, "home", "user", "owned"), "mine\n");
  chownSync(join(src, "home", "user", "owned"), 1234, 5678);
  chownSync(join(src, "home", "user"), 1234, 5678);
  writeFileSync(join(src, "bin", "capped"), "#!/bin/sh\n");
  const b = native();
  b.lsetxattr(join(src, "bin", "capped"), "user.test", Buffer.from("hello"));
  b.lsetxattr(join(src, "bin", "capped"), "security.capability", CAP);
  b.mknod(join(src, "dev", "null"), 0o020000 | 0o666, 1, 3);
  b.mknod(join(src, "run", "fifo"), 0o010000 | 0o620, 0, 0);
  chmodSync(join(src, "run", "fifo"), 0o620); // mknod's mode is trimmed by the umask
  chmodSync(join(src, "dev", "null"), 0o666);
  meta = join(tmp, "meta");
  mkdirSync(join(meta, "templates"), { recursive: true });
  writeFileSync(join(meta, "metadata.yaml"), METADATA);
  writeFileSync(join(meta, "templates", "hostname.tpl"), "{{ container.name }}\n");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What every import of `src` must give (`devices`: what the import recorded instead of making nodes). */
function checkTree(root: string, devices: DeviceNode[]): void {
  expect(lstatSync(join(root, "bin/busybox")).isFile()).toBe(true);
  expect(readlinkSync(join(root, "bin/sh"))).toBe(readlinkSync(join(src, "bin/sh")));
  expect(execFileSync(join(root, "bin/busybox"), ["echo", "ok"], { encoding: "utf8" })).toBe("ok\n");
  const owned = statSync(join(root, "home/user/owned"));
  expect([owned.uid, owned.gid]).toEqual([1234, 5678]);
  expect(readFileSync(join(root, "home/user/owned"), "utf8")).toBe("mine\n");
  expect(statSync(join(root, "home/user")).uid).toBe(1234);
  const fifo = lstatSync(join(root, "run/fifo"));
  expect(fifo.isFIFO()).toBe(true);
  expect(fifo.mode & 0o777).toBe(0o620);
  const b = native();
  expect(b.lgetxattr(join(root, "bin/capped"), "user.test").toString()).toBe("hello");
  // The image's device node is recorded, never made on the host.
  expect(existsSync(join(root, "dev/null"))).toBe(false);
  expect(devices).toEqual([{ path: "/dev/null", type: "char", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 }]);
  if (isRoot) {
    expect(b.lgetxattr(join(root, "bin/capped"), "security.capability")).toEqual(CAP);
    expect(b.llistxattr(join(root, "bin/capped")).sort()).toEqual(["security.capability", "user.test"]);
  }
}

describe("importLxcImage", () => {
  it("imports a unified tarball (metadata.yaml + rootfs/, xz)", async () => {
    // rootfs/… from the tree; symlink targets left alone (S), hard link targets renamed too.
    const file = join(tmp, "unified.tar.xz");
    const t = tar([
      "-C",
      meta,
      "metadata.yaml",
      "templates",
      "--transform=s,^\\./,rootfs/,S",
      "--transform=s,^\\.$,rootfs,S",
      "-C",
      src,
      ".",
    ]);
    writeFileSync(file, run("xz", ["-c", "-T1"], t));
    const dest = join(tmp, "dest-unified");
    const r = await importLxcImage({ unified: file }, dest);
    checkTree(join(dest, "rootfs"), r.devices);
    expect(existsSync(join(dest, "rootfs/metadata.yaml"))).toBe(false);
    expect(existsSync(join(dest, "rootfs/templates"))).toBe(false);
    expect(r.rootfs).toBe(join(dest, "rootfs"));
    expect(r.metadata.properties).toMatchObject({ os: "busybox", release: "1.36", variant: "default" });
    expect(r.metadata.creationDate?.getTime()).toBe(1700000000_000);
    expect(r.digest).toBe(`sha256:${createHash("sha256").update(readFileSync(file)).digest("hex")}`);
    expect(r.warnings.join("\n")).toMatch(/templates not applied: hostname\.tpl/);
    const config = JSON.parse(readFileSync(join(dest, "config.json"), "utf8"));
    expect(config).toEqual(r.config);
    expect(config).toMatchObject({ os: "linux", architecture: process.arch === "arm64" ? "arm64" : "amd64", config: { Cmd: ["/sbin/init"] } });
    expect(config.config.Labels["org.linuxcontainers.image.os"]).toBe("busybox");
    expect(config.created).toBe("2023-11-14T22:13:20.000Z");
  });

  it("imports a split image (metadata tarball + rootfs.tar.xz)", async () => {
    const metaFile = join(tmp, "incus.tar.xz");
    const rootfsFile = join(tmp, "rootfs.tar.xz");
    writeFileSync(metaFile, run("xz", ["-c"], tar(["-C", meta, "."])));
    writeFileSync(rootfsFile, run("xz", ["-c"], tar(["-C", src, "."])));
    const dest = join(tmp, "dest-split");
    const r = await importLxcImage({ metadata: metaFile, rootfs: rootfsFile }, dest);
    checkTree(join(dest, "rootfs"), r.devices);
    const h = createHash("sha256").update(readFileSync(metaFile)).update(readFileSync(rootfsFile));
    expect(r.digest).toBe(`sha256:${h.digest("hex")}`);
    expect(r.metadata.templates).toEqual(["/etc/hostname"]);
  });

  it("refuses another architecture unless told", async () => {
    const metaFile = join(tmp, "foreign.tar");
    const other = join(tmp, "meta-foreign");
    mkdirSync(other);
    writeFileSync(join(other, "metadata.yaml"), "architecture: s390x\n");
    writeFileSync(metaFile, tar(["-C", other, "."]));
    const rootfsFile = join(tmp, "tiny.tar");
    writeFileSync(rootfsFile, writeTar([{ path: "etc/x", body: "x" }]));
    await expect(importLxcImage({ metadata: metaFile, rootfs: rootfsFile }, join(tmp, "dest-foreign"))).rejects.toThrow(/s390x/);
    expect(existsSync(join(tmp, "dest-foreign"))).toBe(false);
    const r = await importLxcImage({ metadata: metaFile, rootfs: rootfsFile }, join(tmp, "dest-foreign"), { architecture: false });
    expect(r.config.architecture).toBe("s390x");
  });

  it.skipIf(!hasTool("mksquashfs"))("imports a squashfs rootfs, taking out the device nodes unsquashfs makes", async () => {
    const metaFile = join(tmp, "meta-real-sq.tar");
    writeFileSync(metaFile, tar(["-C", meta, "."]));
    const sq = join(tmp, "rootfs-real.squashfs");
    run("mksquashfs", [src, sq, "-noappend", "-quiet", "-no-progress"]);
    const dest = join(tmp, "dest-real-sq");
    const r = await importLxcImage({ metadata: metaFile, rootfs: sq }, dest);
    checkTree(join(dest, "rootfs"), r.devices);
    expect(r.warnings).toContain("dev/null: char device 1:3 not created on the host (recorded in the image)");
  });

  it("a squashfs rootfs needs unsquashfs", async () => {
    const fake = join(tmp, "rootfs.squashfs");
    writeFileSync(fake, Buffer.concat([Buffer.from("hsqs"), Buffer.alloc(1000)]));
    const metaFile = join(tmp, "meta-sq.tar");
    writeFileSync(metaFile, tar(["-C", meta, "."]));
    const err = await importLxcImage({ metadata: metaFile, rootfs: fake }, join(tmp, "dest-sq")).catch((e: unknown) => e);
    let haveUnsquashfs = true;
    try {
      execFileSync("unsquashfs", ["-v"], { stdio: "ignore" });
    } catch (e) {
      haveUnsquashfs = (e as NodeJS.ErrnoException).code !== "ENOENT";
    }
    if (haveUnsquashfs) {
      // A real unsquashfs refuses the fake image.
      expect(err).toBeInstanceOf(ImageError);
    } else {
      expect(err).toBeInstanceOf(MissingToolError);
      expect((err as Error).message).toMatch(/unsquashfs.*squashfs-tools/);
    }
    expect(existsSync(join(tmp, "dest-sq"))).toBe(false);
  });

  it("a truncated xz fails with a DecompressionError naming the file and leaves nothing behind", async () => {
    const file = join(tmp, "cut.tar.xz");
    const whole = run("xz", ["-c"], tar(["-C", meta, "metadata.yaml", "--transform=s,^\\./,rootfs/,S", "-C", src, "."]));
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const before = readdirSync(tmpdir()).sort();
    const dest = join(tmp, "dest-cut");
    const err = await importLxcImage({ unified: file }, dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecompressionError);
    expect((err as DecompressionError).compression).toBe("xz");
    expect((err as Error).message).toContain(file);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(tmpdir()).sort()).toEqual(before);
  });
});

describe("importLxcImage with hostile tarballs", () => {
  const outside = () => join(tmp, "outside");
  beforeAll(() => {
    mkdirSync(outside(), { recursive: true });
    writeFileSync(join(outside(), "secret"), "secret");
  });

  it("keeps a symlinked parent inside the rootfs", async () => {
    const file = join(tmp, "hostile-link.tar.xz");
    const t = writeTar([
      { path: "metadata.yaml", body: "architecture: x86_64\n" },
      { path: "rootfs/", type: "dir" },
      { path: "rootfs/up", type: "symlink", linkname: "../../../../../../../.." },
      { path: "rootfs/abs", type: "symlink", linkname: outside() },
      { path: "rootfs/up/evil", body: "evil" },
      { path: "rootfs/abs/secret", body: "overwritten" },
    ]);
    writeFileSync(file, run("xz", ["-c"], t));
    const dest = join(tmp, "dest-hostile-link");
    await importLxcImage({ unified: file }, dest, { architecture: false });
    expect(readFileSync(join(outside(), "secret"), "utf8")).toBe("secret");
    expect(existsSync("/evil")).toBe(false);
    // Resolved as if the rootfs were "/": both land inside it.
    expect(readFileSync(join(dest, "rootfs/evil"), "utf8")).toBe("evil");
    expect(readFileSync(join(dest, "rootfs", outside(), "secret"), "utf8")).toBe("overwritten");
  });

  for (const path of ["rootfs/../../escape", "../escape", "rootfs/a/../../../escape"]) {
    it(`refuses ${path} and removes what it made`, async () => {
      const file = join(tmp, "hostile-dots.tar");
      writeFileSync(
        file,
        writeTar([
          { path: "metadata.yaml", body: "architecture: x86_64\n" },
          { path: "rootfs/ok", body: "ok" },
          { path, body: "evil" },
        ]),
      );
      const dest = join(tmp, "dest-hostile-dots");
      const err = await importLxcImage({ unified: file }, dest, { architecture: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageError);
      expect((err as Error).message).toMatch(/escapes/);
      expect(existsSync(dest)).toBe(false);
      expect(existsSync(join(tmp, "escape"))).toBe(false);
      expect(existsSync(join(tmp, "..", "escape"))).toBe(false);
    });
  }
});

describe("OCI layers compressed with zstd and xz", () => {
  function blob(layout: string, mediaType: string, data: Buffer | string): Descriptor {
    const buf = Buffer.from(data);
    const hex = createHash("sha256").update(buf).digest("hex");
    mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });
    writeFileSync(join(layout, "blobs", "sha256", hex), buf);
    return { mediaType, digest: `sha256:${hex}`, size: buf.length };
  }

  for (const [kind, mediaType] of [
    ["zstd", "application/vnd.oci.image.layer.v1.tar+zstd"],
    ["xz", "application/vnd.docker.image.rootfs.diff.tar"],
  ] as const) {
    it(`imports a ${kind} layer (${mediaType}) with devices, fifos and xattrs`, async () => {
      const layout = join(tmp, `oci-${kind}`);
      const plain = tar(["-C", src, "."]);
      const packed = kind === "zstd" ? run("zstd", ["-c", "-q"], plain) : run("xz", ["-c"], plain);
      const layer = blob(layout, mediaType, packed);
      const config = blob(
        layout,
        "application/vnd.oci.image.config.v1+json",
        JSON.stringify({
          architecture: "amd64",
          os: "linux",
          rootfs: { type: "layers", diff_ids: [`sha256:${createHash("sha256").update(plain).digest("hex")}`] },
        }),
      );
      const m = blob(
        layout,
        "application/vnd.oci.image.manifest.v1+json",
        JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] }),
      );
      writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
      writeFileSync(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [m] }));
      const dest = join(tmp, `dest-oci-${kind}`);
      const r = await importOciLayout(layout, dest, { platform: { os: "linux", architecture: "amd64" } });
      expect(r.layers).toEqual([layer.digest]);
      checkTree(join(dest, "rootfs"), r.devices);
    });
  }
});
