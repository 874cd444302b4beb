/**
 * Nesting measurements for bench/run.mjs (section 9): start→exit of a
 * `/bin/true` container started from the host (level 1) and from inside a
 * `nesting: true` container (level 2), both by bench/nesting-guest.mts in
 * a Node process of their own, so that only the level differs. Reported
 * as medians and their ratio (goal: level 2 ≤ 1.3× level 1).
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

import { ratio, summarize } from "./stats.mjs";

const IDLE_INIT = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

function samplesOf(out, where) {
  const last = String(out.stdout ?? "").trim().split("\n").pop();
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`nesting bench at ${where}: ${String(out.stderr ?? out.stdout).trim().split("\n").slice(-3).join(" / ")}`);
  }
}

export async function measureNesting({ Container, runtime, runs, log, repoRoot }) {
  const n = Math.min(runs, 50);
  log(`  nesting: ${n} starts of /bin/true at level 1 and at level 2`);
  const dir = mkdtempSync(join(os.tmpdir(), "warren-bench-nest-"));
  let level1;
  try {
    const out = spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "bench/nesting-guest.mts"), dir, String(n)], { cwd: repoRoot, encoding: "utf8", env: { ...process.env } });
    level1 = samplesOf(out, "level 1");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const outer = await Container.create(
    "bench-nest-outer",
    { nesting: true, idmap: { size: 262144 }, init: IDLE_INIT, stopTimeout: 1000, mounts: [{ type: "bind", source: repoRoot, target: "/opt/warren", readonly: true }] },
    runtime,
  );
  try {
    await outer.start();
    const r = await outer.execOutput(["node", "--import", "tsx", "/opt/warren/bench/nesting-guest.mts", "/tmp/warren-bench", String(n)], {
      cwd: "/opt/warren",
      env: { WARREN_ID_RANGES: "/tmp/warren-ids.jsonl" },
    });
    const level2 = samplesOf(r, "level 2");
    const l1 = summarize(level1);
    const l2 = summarize(level2);
    return { level1: l1, level2: l2, ratio: ratio(l2.median_ms, l1.median_ms) };
  } finally {
    await outer.stop({ timeout: 0 }).catch(() => undefined);
    await outer.destroy({ force: true }).catch(() => undefined);
  }
}

/** The section's lines for bench/run.mjs's tables. */
export function nestingLines(d, fmt) {
  if (!d) return [];
  if (d.error) return [`nesting                   skipped: ${d.error}`];
  return [`start→exit /bin/true, level 2 ${fmt(d.level2.median_ms)} ms vs level 1 ${fmt(d.level1.median_ms)} ms median: ${fmt(d.ratio)}× (goal ≤ 1.3×)`];
}
