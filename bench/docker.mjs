/**
 * Section 10 of bench/run.mjs: from a nesting Debian container's start to
 * `docker run` output inside it (bench/docker-guest.mts does the timing in
 * a Node process of its own; this runs it and summarizes). Needs the
 * Debian image with Docker (built into .cache/images the first time, a few
 * minutes) and the network the bridged NIC reaches nothing beyond.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

import { summarize } from "./stats.mjs";

export function measureDocker({ runs, log, repoRoot, busybox }) {
  const n = Math.max(1, Math.min(runs, 3));
  log(`  docker in a nesting container: ${n} cold starts to \`docker run\` output`);
  const root = mkdtempSync(join(os.tmpdir(), "warren-bench-docker-"));
  try {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "bench/docker-guest.mts"), root, String(n), busybox], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 15 * 60_000,
    });
    const last = String(r.stdout ?? "").trim().split("\n").pop();
    let samples;
    try {
      samples = JSON.parse(last);
    } catch {
      throw new Error(`docker bench: ${String(r.stderr || r.stdout || r.error).trim().split("\n").slice(-3).join(" / ")}`);
    }
    return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The report lines. */
export function dockerLines(d) {
  const ms = (s) => `${(s.median_ms / 1000).toFixed(2)} s`;
  return [
    `docker in a nesting Debian container (medians of ${d.total.runs} cold starts): start → ready ${ms(d.ready)}, → dockerd answering ${ms(d.dockerd)}, docker import of busybox ${ms(d.import)}, first docker run output ${ms(d.firstRun)}; start → docker run output ${ms(d.total)}`,
  ];
}
