/**
 * CLI cold start for bench/run.mjs: whole `warren` invocations, the way
 * hyperfine -N times them (spawned directly, no shell, output discarded),
 * reported as medians and as ratios to `node -e 0` timed in the same run.
 *
 * - `node -e 0`: Node's own start, the floor every CLI pays.
 * - `node empty.mjs`: Node's start plus its ES module loader, which any ESM
 *   program (warren's CLI included) pays on top of the floor.
 * - `warren list`: an empty state root; the path must not load zod or the
 *   config schema (goal ≤ 1.5× of `node -e 0`).
 * - `warren run --rm -- /bin/true`: a container on the embedded default
 *   rootfs created, started, waited for and destroyed (validation, the
 *   rootfs skeleton, namespaces, cgroup).
 *
 * The commands are interleaved run by run (a, b, c, d, a, b, ...) after
 * warm-up runs, so drift in the machine's load hits them alike.
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { num, ratio, summarize, times } from "./stats.mjs";

export const CLI_GOAL_LIST_RATIO = 1.5;
const WARMUP = 3;

/**
 * Times the commands; `root` is a state root of their own (removed by the
 * caller), `check` throws when the bench was interrupted.
 * Returns {runs, results: {name: summary}, ratios: {name: ×}, errors: {name: message}}.
 */
export async function measureCliStartup({ repoRoot, root, runs, check, log }) {
  const main = join(repoRoot, "dist/cli/main.js");
  if (!existsSync(main)) return { error: "dist/cli/main.js is missing: run `npm run build` first" };
  mkdirSync(root, { recursive: true });
  const empty = join(root, "empty.mjs");
  writeFileSync(empty, "");
  const node = process.execPath;
  const commands = {
    "node -e 0": [node, "-e", "0"],
    "node empty.mjs": [node, empty],
    "warren list": [node, main, "list", "--root", root],
    "warren run --rm -- /bin/true": [node, main, "run", "--rm", "--root", root, "--", "/bin/true"],
  };
  const once = (argv) => spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const errors = {};
  for (const [name, argv] of Object.entries(commands)) {
    const r = once(argv);
    if (r.status !== 0) {
      errors[name] = (r.stderr || r.error?.message || `exit ${r.status ?? r.signal}`).trim().split("\n")[0];
      delete commands[name];
    }
  }
  const entries = Object.entries(commands);
  const samples = Object.fromEntries(entries.map(([name]) => [name, []]));
  const tty = process.stderr.isTTY;
  for (let i = 0; i < WARMUP + runs; i++) {
    for (const [name, argv] of entries) {
      check();
      const t0 = performance.now();
      const r = once(argv);
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`${name} failed during the timed runs: ${(r.stderr || `exit ${r.status ?? r.signal}`).trim()}`);
      if (i >= WARMUP) samples[name].push(ms);
    }
    if (tty && i >= WARMUP && ((i - WARMUP) % 5 === 4 || i === WARMUP + runs - 1)) process.stderr.write(`\r  CLI cold start: ${i - WARMUP + 1}/${runs}`);
  }
  process.stderr.write(tty ? "\n" : `  CLI cold start: ${runs} runs of ${entries.length} commands\n`);
  if (Object.keys(errors).length) log(`  CLI cold start: left out ${Object.keys(errors).join(", ")}`);
  const results = Object.fromEntries(entries.map(([name]) => [name, summarize(samples[name])]));
  const floor = results["node -e 0"]?.median_ms;
  const ratios = Object.fromEntries(entries.map(([name]) => [name, ratio(results[name].median_ms, floor)]));
  return { runs, warmup: WARMUP, results, ratios, errors };
}

/** The section's lines for the tables (through `line`). */
export function printCliStartup(c, line) {
  line();
  if (c.error) {
    line(`CLI cold start: ${c.error}`);
    return;
  }
  line(`CLI cold start: whole invocations, ${c.runs} interleaved runs after ${c.warmup} warm-up runs, times in ms`);
  line(`${"".padEnd(34)}${"median".padStart(8)}${"p10".padStart(8)}${"p90".padStart(8)}${"min".padStart(8)}${"/ node -e 0".padStart(13)}`);
  for (const [name, s] of Object.entries(c.results)) {
    const r = c.ratios[name];
    const goal = name === "warren list" && r != null ? `   goal ≤ ${CLI_GOAL_LIST_RATIO.toFixed(1)}×: ${r <= CLI_GOAL_LIST_RATIO ? "met" : "not met"}` : "";
    line(`${name.padEnd(34)}${num(s.median_ms)}${num(s.p10_ms)}${num(s.p90_ms)}${num(s.min_ms)}${times(r, 13)}${goal}`);
  }
  for (const [name, e] of Object.entries(c.errors)) line(`${name}: not timed: ${e}`);
}
