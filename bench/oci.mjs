/**
 * Section 11 of bench/run.mjs: warren-oci against crun as podman's runtime
 * and on runc's command line, in the pure cgroup v2 VM (scripts/vm: podman
 * and crun must not run on a hybrid host). The guest side is the `bench`
 * scenario of test/vm/guest/oci.mts; this bundles it, boots the VM once and
 * summarizes. Under TCG every process start is slow, warren-oci's node
 * start most of all: read the ratios, not the milliseconds.
 * @module
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

import { summarize } from "./stats.mjs";

const STEPS = ["podmanRun", "create", "start", "state", "delete"];

export async function measureOci({ runs, log, repoRoot, busybox }) {
  const n = Math.max(1, Math.min(runs, 5));
  log(`  warren-oci vs crun in the cgroup v2 VM: ${n} runs of podman run --rm and of create/start/state/delete each`);
  const { bundleGuestScript } = await import("../scripts/vm/bundle-guest.mjs");
  const bundle = await bundleGuestScript(repoRoot, "oci", "oci-bench");
  const r = spawnSync("bash", [join(repoRoot, "scripts/vm/run.sh"), "--timeout", "1500", "--mem", "3072", "--", process.execPath, bundle], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 1600_000,
    env: { ...process.env, WARREN_GUEST_SCENARIOS: "bench", WARREN_BENCH_RUNS: String(n), WARREN_TEST_ROOTFS: busybox },
  });
  const line = String(r.stdout ?? "").split("\n").find((l) => l.startsWith("@@RESULT bench "));
  if (!line) throw new Error(`oci bench: the VM said ${String(r.stderr || r.stdout || r.error).trim().split("\n").slice(-3).join(" / ")}`);
  const result = JSON.parse(line.slice("@@RESULT bench ".length));
  if (!result.ok) throw new Error(`oci bench: ${String(result.error).split("\n")[0]}`);
  const out = {};
  for (const [key, samples] of Object.entries(result.value.samples)) out[key] = summarize(samples);
  return out;
}

/** The report lines: each step's medians and warren-oci's ratio to crun. */
export function ociLines(o) {
  const label = { podmanRun: "podman run --rm IMG true", create: "create", start: "start", state: "state", delete: "delete" };
  return [
    "warren-oci vs crun (cgroup v2 VM, TCG: compare the ratios)",
    ...STEPS.filter((s) => o[`warren.${s}`] && o[`crun.${s}`]).map((s) => {
      const w = o[`warren.${s}`].median_ms;
      const c = o[`crun.${s}`].median_ms;
      return `  ${label[s].padEnd(26)} warren-oci ${w.toFixed(0).padStart(6)} ms   crun ${c.toFixed(0).padStart(6)} ms   ${(w / c).toFixed(2)}x`;
    }),
    ...(o["node.floor"] ? [`  (node -e 0 in the same VM: ${o["node.floor"].median_ms.toFixed(0)} ms, the floor of every warren-oci command)`] : []),
  ];
}
