#!/usr/bin/env node
// `npm test`: type-check, build, the docs site (typedoc with warnings as
// errors), then every vitest project (unit and kernel), then one summary
// line "N passed, N failed[, N skipped]" that CI can read.
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
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
  if (r.numTotalTests === 0) code = code || 1;
} else {
  console.log("tests: 0 passed, 1 failed");
  code = code || 1;
}
process.exit(code);
