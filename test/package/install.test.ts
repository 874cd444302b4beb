/**
 * `npm install warren` without a compiler: the package as `npm pack` makes
 * it (with the prebuilds scripts/prebuild.sh built) is installed with
 * --ignore-scripts and --offline into a clean project inside a nesting
 * warren container made from the Debian image, which has no compiler, no
 * make, no python3, and gets node and npm from this host through read-only
 * binds; its dependencies (node-addon-api, node-gyp-build, zod) are packed
 * from this checkout's node_modules and installed beside it, so nothing
 * comes from the network. From there a script imports "warren" and runs a
 * container (test/package/guest/run-container.mjs) with the prebuilt addon
 * and helpers.
 *
 * musl is not tested this way: the registry has no musl Node
 * (`node-linux-x64-musl` does not exist; unofficial-builds.nodejs.org is
 * not a registry), and Debian packages no libstdc++ for musl, which a musl
 * Node needs, so no musl rootfs with a Node can be made from Debian
 * packages. The musl binaries are checked by test/package/prebuilds.test.ts.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Container } from "../../src/index.js";
import { cleanupAll, debian, debianSkipReason } from "../helpers/env.js";

const repo = resolve(import.meta.dirname, "../..");
const skip = debianSkipReason();
const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
let pkgs: string;
let tarball: string;

afterAll(async () => {
  await cleanupAll();
  if (pkgs) rmSync(pkgs, { recursive: true, force: true });
});

beforeAll(() => {
  const missing = ["dist/index.js", "prebuilds/linux-x64/warren.glibc.node", "prebuilds/linux-x64/warren-exec.glibc", "prebuilds/linux-x64/warren-monitor.glibc"].filter(
    (f) => !existsSync(join(repo, f)),
  );
  if (missing.length) throw new Error(`not built: ${missing.join(", ")} (npm run build; bash scripts/prebuild.sh)`);
  pkgs = mkdtempSync(join(tmpdir(), "warren-pack-"));
  chmodSync(pkgs, 0o755);
  const pack = (dir: string) => {
    const out = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", pkgs, dir], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
    return out[0] as { filename: string; files: { path: string }[] };
  };
  const own = pack(repo);
  tarball = own.filename;
  const files = own.files.map((f) => f.path);
  expect(files).toContain("prebuilds/linux-x64/warren.glibc.node");
  expect(files).toContain("prebuilds/linux-arm64/warren.musl.node");
  expect(files.some((f) => f.startsWith("build/"))).toBe(false);
  for (const dep of ["node-addon-api", "node-gyp-build", "zod"]) pack(realpathSync(join(repo, "node_modules", dep)));
  copyFileSync(join(repo, "test/package/guest/run-container.mjs"), join(pkgs, "run-container.mjs"));
  for (const f of readdirSync(pkgs)) chmodSync(join(pkgs, f), 0o644);
}, 120_000);

describe.skipIf(skip !== undefined)(`install without a compiler${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("installs the packed tarball with --ignore-scripts offline in a Debian container with no compiler, and runs a container from it", async () => {
    const node = realpathSync(process.execPath);
    // The npm on PATH, wherever it is installed (the registry's Node
    // packages, which the Node 22/24 passes run under, carry none, and
    // `npm root -g` answers from the running Node's prefix).
    const npmCliJs = realpathSync(execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim());
    const npm = resolve(dirname(npmCliJs), "..");
    const c: Container = await debian("install", {
      nesting: true,
      idmap: { size: 200_000 },
      init: IDLE,
      stopTimeout: 1000,
      mounts: [
        { type: "bind", source: node, target: "/usr/local/bin/node", readonly: true },
        { type: "bind", source: npm, target: "/usr/local/lib/node_modules/npm", readonly: true },
        { type: "bind", source: pkgs, target: "/pkgs", readonly: true },
      ],
    });
    await c.start();
    const sh = (cmd: string) => c.execOutput(["/bin/sh", "-c", `export HOME=/tmp/home npm_config_cache=/tmp/npm-cache npm_config_update_notifier=false; ${cmd}`]);

    // No toolchain for a source build.
    const tools = await sh("for t in gcc cc g++ c++ clang make python3; do command -v $t; done; true");
    expect(tools.stdout).toBe("");

    const npmCli = "node /usr/local/lib/node_modules/npm/bin/npm-cli.js";
    const install = await sh(
      `mkdir -p /tmp/proj && cd /tmp/proj && echo '{"name":"proj","private":true}' > package.json && ` +
        `${npmCli} install --offline --ignore-scripts --no-audit --no-fund /pkgs/${tarball} /pkgs/node-addon-api-*.tgz /pkgs/node-gyp-build-*.tgz /pkgs/zod-*.tgz 2>&1`,
    );
    expect(install.stdout + install.stderr).not.toMatch(/ERR!/);
    expect(install.code).toBe(0);

    const r = await sh("cp /pkgs/run-container.mjs /tmp/proj/ && cd /tmp/proj && node run-container.mjs");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe("hello from installed");
    expect(out.libc).toBe("glibc");
    expect(out.build).toBe(false);
    expect(out.addon).toEqual(["/tmp/proj/node_modules/warren/prebuilds/linux-x64/warren.glibc.node"]);
    expect(out.node).toBe(process.version);
    await c.stop({ timeout: 0 });
  }, 240_000);
});

