/**
 * The CLI's start-up rule (docs/cli.md, "Start-up time"): commands that
 * only read state load no zod, because importing it and building the
 * schemas costs about as much as Node's own start. Checked on the real
 * bundle: the CLI entry of tsup.config.ts is built into a directory of its
 * own (so a stale dist/ cannot hide a regression), then run with a module
 * loader hook that logs every module Node loads.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build, type Options } from "tsup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import tsupConfig from "../../tsup.config.js";

const repo = resolve(import.meta.dirname, "../..");

/** Logs each loaded module's URL to the file given at registration. */
const HOOKS = `
import { appendFileSync } from "node:fs";
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  appendFileSync(log, url + "\\n");
  return next(url, context);
}
`;
const REGISTER = `
import { register } from "node:module";
register(new URL("./hooks.mjs", import.meta.url), { data: { log: process.env.WARREN_TEST_MODULE_LOG } });
`;

let out: string; // the bundle, inside the repository so that node_modules and the addon resolve
let root: string; // the CLI's state root
let rootfs: string;
let runs = 0;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** URLs of every module loaded, builtins included. */
  modules: string[];
}

function cli(...args: string[]): Run {
  const log = join(out, `modules-${runs++}.txt`);
  writeFileSync(log, "");
  const r = spawnSync(process.execPath, ["--import", join(out, "register.mjs"), join(out, "cli/main.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, WARREN_TEST_MODULE_LOG: log, WARREN_ROOT: root },
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules: readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

const isZod = (url: string) => url.includes("/node_modules/zod/");

beforeAll(async () => {
  mkdirSync(join(repo, ".cache"), { recursive: true });
  out = mkdtempSync(join(repo, ".cache/cli-startup-"));
  const configs = (Array.isArray(tsupConfig) ? tsupConfig : [tsupConfig]) as Options[];
  const cliConfig = configs.find((c) => c.entry && !Array.isArray(c.entry) && typeof c.entry === "object" && "cli/main" in c.entry);
  if (!cliConfig) throw new Error("tsup.config.ts has no cli/main entry");
  await build({ ...cliConfig, config: false, outDir: out, sourcemap: false, silent: true });
  writeFileSync(join(out, "hooks.mjs"), HOOKS);
  writeFileSync(join(out, "register.mjs"), REGISTER);
  root = mkdtempSync(join(tmpdir(), "warren-startup-"));
  rootfs = join(root, "rootfs-dir");
  mkdirSync(rootfs);
}, 60_000);

afterAll(() => {
  // The probe was created, never started: it is only files in the state root.
  if (out) rmSync(out, { recursive: true, force: true });
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("CLI start-up", () => {
  it("create validates its config, so it loads zod (and the hook sees it)", () => {
    // With a rootfs directory of its own, create needs no privileges and
    // touches nothing outside the state root.
    const r = cli("create", "--root", root, "probe", "--rootfs", rootfs);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.modules.some((u) => u.endsWith("/cli/main.js"))).toBe(true);
    expect(r.modules.some(isZod)).toBe(true);
  }, 30_000);

  it.each([
    ["list", ["list"]],
    ["ls --json", ["ls", "--json"]],
    ["info", ["info"]],
    ["--help", ["--help"]],
    ["config show", ["config", "show", "probe"]],
    ["config show --expanded --json", ["config", "show", "--expanded", "--json", "probe"]],
  ])("%s loads no zod", (_label, args) => {
    const r = cli(...args);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.modules.filter(isZod)).toEqual([]);
    if (args[0] === "list") expect(r.stdout).toMatch(/^probe\s+created\s/m);
  }, 30_000);
});
