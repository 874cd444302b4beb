#!/usr/bin/env node
// `npm test`: type-check, build, the docs site (typedoc with warnings as
// errors), then every vitest project (unit and kernel), then a subset of the
// kernel suite under Node 22 and 24, then one summary line
// "N passed, N failed[, N skipped]" over all of them that CI can read.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (n) => join(repo, "node_modules/.bin", n);
const results = join(repo, ".cache/test-results.json");

const tsc = spawnSync(bin("tsc"), ["--noEmit", "-p", repo], { stdio: "inherit", cwd: repo });
if (tsc.status !== 0) {
  console.log("typecheck: 0 passed, 1 failed");
  process.exit(tsc.status ?? 1);
}

// The public-API check and the CLI tests read dist/: build what is tested.
const build = spawnSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "inherit"], cwd: repo });
if (build.status !== 0) {
  console.log("build: 0 passed, 1 failed");
  process.exit(build.status ?? 1);
}

// The docs site: typedoc.json treats every warning (a broken {@link}, a type
// referenced but not exported, a guide's link to a missing file) as an error.
// Not a vitest test: it takes most of a minute and only needs to run once.
const docs = spawnSync("npm", ["run", "--silent", "docs", "--", "--logLevel", "Warn"], { stdio: ["ignore", "inherit", "inherit"], cwd: repo });
if (docs.status !== 0) {
  console.log("docs: 0 passed, 1 failed");
  process.exit(docs.status ?? 1);
}

mkdirSync(dirname(results), { recursive: true });
rmSync(results, { force: true });
const args = ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`, ...process.argv.slice(2)];
const vitest = spawnSync(bin("vitest"), args, { stdio: "inherit", cwd: repo });

let code = vitest.status ?? 1;
const total = { passed: 0, failed: 0, skipped: 0 };
const count = (file) => {
  if (!existsSync(file)) return false;
  const r = JSON.parse(readFileSync(file, "utf8"));
  total.passed += r.numPassedTests;
  total.failed += r.numFailedTests;
  total.skipped += r.numPendingTests + r.numTodoTests;
  return r.numTotalTests > 0;
};
if (!count(results)) {
  total.failed += existsSync(results) ? 0 : 1;
  code = code || 1;
}

// The supported range beyond this Node: a subset of the kernel suite (the
// addon and spawn, exec, files, cgroups, network, the prebuilt install)
// under the registry's Node 22 and 24 (scripts/fetch-nodes.sh), with that
// Node first on PATH so whatever the tests start runs under it too. Only
// in a whole run (no arguments).
const SUBSET = [
  "test/container/lifecycle.test.ts",
  "test/container/exec.test.ts",
  "test/container/files.test.ts",
  "test/cgroup/limits.test.ts",
  "test/network/container-network.test.ts",
  "test/package/install.test.ts",
];
if (process.argv.length === 2) {
  for (const major of [22, 24]) {
    const nodeBin = join(repo, `.cache/node/x64-${major}/bin`);
    const passResults = join(repo, `.cache/test-results-node${major}.json`);
    rmSync(passResults, { force: true });
    if (!existsSync(join(nodeBin, "node"))) {
      console.log(`node ${major}: not installed (bash scripts/fetch-nodes.sh): the kernel subset did not run`);
      total.failed += 1;
      code = code || 1;
      continue;
    }
    const version = spawnSync(join(nodeBin, "node"), ["-p", "process.version"], { encoding: "utf8" }).stdout.trim();
    console.log(`\nnode ${version}: ${SUBSET.join(" ")}`);
    const pass = spawnSync(join(nodeBin, "node"), [join(repo, "node_modules/vitest/vitest.mjs"), "run", "--project", "kernel", "--reporter=default", "--reporter=json", `--outputFile.json=${passResults}`, ...SUBSET], {
      stdio: "inherit",
      cwd: repo,
      env: { ...process.env, PATH: `${nodeBin}:${process.env.PATH}` },
    });
    if (pass.status !== 0) code = code || pass.status || 1;
    if (!count(passResults)) {
      total.failed += existsSync(passResults) ? 0 : 1;
      code = code || 1;
    }
  }
}

console.log(`tests: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`);
process.exit(code);
