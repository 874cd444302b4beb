/**
 * Importing an OCI image layout built by hand from the busybox rootfs: two
 * gzip layers (the second whites out /bin/ls and adds a file), digest
 * verification, and platform selection through an image index.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import { ImageError } from "../../src/errors.js";
import { importOciLayout, ociArchitecture, type Descriptor } from "../../src/image/oci.js";

const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

let tmp: string;
let busyboxLayer: Buffer;
let upperLayer: Buffer;

function tgz(dir: string): Buffer {
  const tar = execFileSync("tar", ["--format=pax", "--sort=name", "-cf", "-", "-C", dir, "."], { maxBuffer: 256 << 20 });
  return execFileSync("gzip", ["-nc"], { input: tar, maxBuffer: 256 << 20 });
}

function diffId(gz: Buffer): string {
  return `sha256:${createHash("sha256").update(execFileSync("gzip", ["-dc"], { input: gz, maxBuffer: 256 << 20 })).digest("hex")}`;
}

/** Writes a blob into the layout; returns its descriptor. */
function blob(layout: string, mediaType: string, data: Buffer | string, extra: Partial<Descriptor> = {}): Descriptor {
  const buf = Buffer.from(data);
  const hex = createHash("sha256").update(buf).digest("hex");
  mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(layout, "blobs", "sha256", hex), buf);
  return { mediaType, digest: `sha256:${hex}`, size: buf.length, ...extra };
}

/** An image (config + manifest blobs) for the given layers; returns the manifest descriptor. */
function image(layout: string, arch: string, layers: Buffer[], opts: { docker?: boolean } = {}): Descriptor {
  const layerDescs = layers.map((l) => blob(layout, opts.docker ? DOCKER_LAYER : OCI_LAYER, l));
  const config = blob(
    layout,
    opts.docker ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json",
    JSON.stringify({
      architecture: arch,
      os: "linux",
      config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: layers.map(diffId) },
    }),
  );
  const mediaType = opts.docker
    ? "application/vnd.docker.distribution.manifest.v2+json"
    : "application/vnd.oci.image.manifest.v1+json";
  return blob(layout, mediaType, JSON.stringify({ schemaVersion: 2, mediaType, config, layers: layerDescs }), {
    platform: { os: "linux", architecture: arch },
  });
}

function layoutDir(name: string, manifests: Descriptor[]): string {
  const layout = join(tmp, name);
  mkdirSync(layout, { recursive: true });
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
  return layout;
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "warren-oci-"));
  const rootfs = inject("rootfs");
  busyboxLayer = tgz(rootfs);
  const upper = join(tmp, "upper-src");
  mkdirSync(join(upper, "bin"), { recursive: true });
  mkdirSync(join(upper, "etc"), { recursive: true });
  writeFileSync(join(upper, "bin", ".wh.ls"), "");
  writeFileSync(join(upper, "etc", "added-by-layer-2"), "hello from layer 2\n");
  upperLayer = tgz(upper);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("importOciLayout", () => {
  it("imports a two-layer image: layers in order, whiteout applied, config written", async () => {
    const layout = join(tmp, "simple");
    mkdirSync(layout);
    const m = image(layout, "amd64", [busyboxLayer, upperLayer]);
    const ref = { ...m, annotations: { "org.opencontainers.image.ref.name": "latest" } };
    delete ref.platform;
    layoutDir("simple", [ref]);
    const dest = join(tmp, "dest-simple");
    const r = await importOciLayout(layout, dest, { ref: "latest", platform: { os: "linux", architecture: "amd64" } });
    expect(r.manifestDigest).toBe(m.digest);
    expect(r.layers).toHaveLength(2);
    expect(r.rootfs).toBe(join(dest, "rootfs"));
    expect(lstatSync(join(dest, "rootfs/bin/busybox")).isFile()).toBe(true);
    expect(lstatSync(join(dest, "rootfs/bin/sh")).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dest, "rootfs/bin/ls"))).toBe(false);
    expect(readFileSync(join(dest, "rootfs/etc/added-by-layer-2"), "utf8")).toBe("hello from layer 2\n");
    expect(r.config.config?.Cmd).toEqual(["/bin/sh"]);
    expect(JSON.parse(readFileSync(join(dest, "config.json"), "utf8"))).toEqual(r.config);
    // The busybox binary runs from the imported tree.
    expect(execFileSync(join(dest, "rootfs/bin/busybox"), ["echo", "ok"], { encoding: "utf8" })).toBe("ok\n");
  });

  it("fails with ImageError naming a corrupted blob", async () => {
    const layout = join(tmp, "corrupt");
    mkdirSync(layout);
    const m = image(layout, "amd64", [busyboxLayer, upperLayer]);
    layoutDir("corrupt", [m]);
    const manifest = JSON.parse(readFileSync(join(layout, "blobs", "sha256", m.digest.slice(7)), "utf8")) as {
      layers: Descriptor[];
    };
    const victim = manifest.layers[1]!.digest;
    const file = join(layout, "blobs", "sha256", victim.slice(7));
    const data = readFileSync(file);
    data[Math.floor(data.length / 2)]! ^= 0xff;
    writeFileSync(file, data);
    const err = await importOciLayout(layout, join(tmp, "dest-corrupt"), { platform: { os: "linux", architecture: "amd64" } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe("ERR_WARREN_IMAGE");
    expect((err as ImageError).blob).toBe(victim);
    expect((err as Error).message).toContain(victim);
    // Every blob is verified before anything is extracted.
    expect(existsSync(join(tmp, "dest-corrupt", "rootfs", "bin"))).toBe(false);
  });

  it("follows an image index to the manifest of the requested platform", async () => {
    const layout = join(tmp, "multi");
    mkdirSync(layout);
    const archLayer = (arch: string) => {
      const d = join(tmp, `src-${arch}`);
      mkdirSync(join(d, "etc"), { recursive: true });
      writeFileSync(join(d, "etc", "arch"), arch);
      return tgz(d);
    };
    const amd = image(layout, "amd64", [archLayer("amd64")], { docker: true });
    const arm = image(layout, "arm64", [archLayer("arm64")], { docker: true });
    const list = blob(
      layout,
      "application/vnd.docker.distribution.manifest.list.v2+json",
      JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", manifests: [arm, amd] }),
    );
    layoutDir("multi", [list]);

    for (const arch of ["amd64", "arm64"]) {
      const dest = join(tmp, `dest-multi-${arch}`);
      const r = await importOciLayout(layout, dest, { platform: { os: "linux", architecture: arch } });
      expect(readFileSync(join(dest, "rootfs/etc/arch"), "utf8")).toBe(arch);
      expect(r.manifestDigest).toBe(arch === "amd64" ? amd.digest : arm.digest);
      expect(r.config.architecture).toBe(arch);
    }
    // Default: this process's architecture.
    const host = ociArchitecture();
    if (host === "amd64" || host === "arm64") {
      const dest = join(tmp, "dest-multi-default");
      await importOciLayout(layout, dest);
      expect(readFileSync(join(dest, "rootfs/etc/arch"), "utf8")).toBe(host);
    }
    await expect(importOciLayout(layout, join(tmp, "dest-none"), { platform: { os: "linux", architecture: "s390x" } })).rejects.toThrow(
      /no manifest for linux\/s390x/,
    );
  });
});

describe("importOciLayout: diff_ids", () => {
  it("refuses a layer whose uncompressed digest differs from the config's diff_id", async () => {
    const layout = join(tmp, "bad-diffid");
    mkdirSync(layout);
    const layer = blob(layout, OCI_LAYER, upperLayer);
    const config = blob(
      layout,
      "application/vnd.oci.image.config.v1+json",
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diffId(busyboxLayer)] } }),
    );
    const m = blob(layout, "application/vnd.oci.image.manifest.v1+json", JSON.stringify({ schemaVersion: 2, config, layers: [layer] }));
    layoutDir("bad-diffid", [m]);
    const dest = join(tmp, "dest-bad-diffid");
    const err = await importOciLayout(layout, dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).blob).toBe(layer.digest);
    expect((err as Error).message).toMatch(/diff_id/);
    expect(existsSync(join(dest, "rootfs/etc"))).toBe(false);
  });
});
