/**
 * Image archives: an OCI layout packed in a tar, and a docker save tarball
 * (manifest.json, config, one layer tar), made here from the busybox rootfs
 * as the tools write them, imported and run.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container, ImageStore } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { cleanupAll, IDLE, rootfs, runtime, uniqueName } from "../helpers/env.js";

const work = mkdtempSync(join(tmpdir(), "warren-archive-"));
afterAll(async () => {
  await cleanupAll();
  rmSync(work, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function runs(store: ImageStore, ref: string, expectEnv = "/root\n\n"): Promise<void> {
  const c = await Container.create(uniqueName("arch"), { image: ref, init: IDLE, stopTimeout: 2000 }, runtime());
  await c.start();
  expect((await c.execOutput(["busybox", "echo", "from", "archive"])).stdout).toBe("from archive\n");
  // The image config's WorkingDir and Env are the container's defaults
  // (without a WorkingDir, exec starts in the user's home, as Incus's does).
  expect((await c.execOutput(["sh", "-c", "pwd; echo $FOO"])).stdout).toBe(expectEnv);
  await c.stop();
  await c.destroy();
  await store.remove(ref);
}

describe("image archives", () => {
  it("imports an OCI archive (a layout in a tar) with its ref name as tag", async () => {
    const layout = join(work, "layout");
    await ociLayoutFromDirectory(rootfs(), layout);
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    index.manifests[0].annotations = { "org.opencontainers.image.ref.name": "archived:oci" };
    writeFileSync(join(layout, "index.json"), JSON.stringify(index));
    const tar = join(work, "oci.tar");
    execFileSync("tar", ["-C", layout, "-cf", tar, "."]);
    const store = new ImageStore(runtime().root);
    const img = await store.importArchive(tar);
    expect(img.tags).toEqual(["archived:oci"]);
    await runs(store, "archived:oci");
  });

  it("imports a docker save tarball (uncompressed layer, digest = diff_id)", async () => {
    const dir = join(work, "docker");
    mkdirSync(join(dir, "layer0"), { recursive: true });
    const layerTar = join(dir, "layer0/layer.tar");
    execFileSync("tar", ["-C", rootfs(), "--numeric-owner", "-cf", layerTar, "."]);
    const layer = readFileSync(layerTar);
    // The same layer twice: docker save writes the second as a link to the first.
    mkdirSync(join(dir, "layer1"));
    symlinkSync("../layer0/layer.tar", join(dir, "layer1/layer.tar"));
    const config = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"], WorkingDir: "/tmp", Env: ["FOO=bar"] }, rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layer)}`, `sha256:${sha256(layer)}`] } }),
    );
    const configName = `${sha256(config)}.json`;
    writeFileSync(join(dir, configName), config);
    writeFileSync(join(dir, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: ["busybox:saved"], Layers: ["layer0/layer.tar", "layer1/layer.tar"] }]));
    const tar = join(work, "docker.tar");
    execFileSync("tar", ["-C", dir, "-cf", tar, "manifest.json", configName, "layer0", "layer1"]);
    const store = new ImageStore(runtime().root);
    const img = await store.importArchive(tar, { tag: "busybox:mine" });
    expect(img.tags).toEqual(["busybox:mine"]);
    await runs(store, "busybox:mine", "/tmp\nbar\n");
  });

  it("refuses what is neither, and members that point outside", async () => {
    const store = new ImageStore(runtime().root);
    const plain = join(work, "plain.tar");
    writeFileSync(join(work, "hello"), "hi");
    execFileSync("tar", ["-C", work, "-cf", plain, "hello"]);
    await expect(store.importArchive(plain)).rejects.toThrow(/neither an OCI archive .* nor a docker save/);
    const evil = join(work, "evil.tar");
    execFileSync("tar", ["-C", work, "-cf", evil, "--transform", "s,^hello$,../../escaped,", "hello"]);
    await expect(store.importArchive(evil)).rejects.toThrow(/points outside the archive/);
    expect(() => readFileSync(join(runtime().root, "escaped"))).toThrow();
    // Nothing half-made is left in the store.
    expect(execFileSync("ls", ["-a", join(runtime().root, ".images")], { encoding: "utf8" })).not.toMatch(/\.archive-|\.import-/);
  });
});

describe("telling image tarballs apart", () => {
  it("sees an archive or an LXC image from the first telling member", async () => {
    const { sniffImageTarball } = await import("../../src/image/archive.js");
    const lxcDir = join(work, "lxc");
    mkdirSync(join(lxcDir, "rootfs"), { recursive: true });
    writeFileSync(join(lxcDir, "metadata.yaml"), "architecture: x86_64\ncreation_date: 1\n");
    const lxc = join(work, "lxc.tar");
    execFileSync("tar", ["-C", lxcDir, "-cf", lxc, "metadata.yaml", "rootfs"]);
    expect(await sniffImageTarball(lxc)).toBe("lxc");
    const layout = join(work, "sniff-layout");
    await ociLayoutFromDirectory(rootfs(), layout);
    const oci = join(work, "sniff-oci.tar");
    execFileSync("tar", ["-C", layout, "-cf", oci, "."]);
    expect(await sniffImageTarball(oci)).toBe("archive");
  });
});
