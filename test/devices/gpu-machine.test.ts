/**
 * scripts/gpu-check.sh, the NVIDIA check of issue 13: two containers share
 * one GPU through a `gpu` device with `nvidiaRuntime: true` and run
 * nvidia-smi and an NVML query at the same time. It needs an NVIDIA GPU;
 * elsewhere the real test skips with the reason, and the script's own
 * refusal is what is checked.
 */
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../..");
const script = resolve(repo, "scripts/gpu-check.sh");
const hasNvidia = (() => {
  try {
    return statSync("/dev/nvidia0").isCharacterDevice();
  } catch {
    return false;
  }
})();

async function gpuCheck(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const r = await promisify(execFile)("bash", [script, ...args], { cwd: repo, maxBuffer: 16 << 20, env: { ...process.env, OUT: "" } });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, output: (err.stdout ?? "") + (err.stderr ?? "") };
  }
}

describe("gpu device on an NVIDIA machine (scripts/gpu-check.sh)", () => {
  it("shares one GPU between two containers: nvidia-smi -L and an NVML query in both at once, the driver read-only", { timeout: 600_000 }, async (ctx) => {
    if (!hasNvidia) ctx.skip("no NVIDIA GPU on this machine");
    const packed = await gpuCheck("pack", "--no-node");
    expect(packed.code, packed.output).toBe(0);
    const r = await gpuCheck("run");
    if (r.code === 77) ctx.skip(/SKIP: (.*)/.exec(r.output)?.[1] ?? r.output);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^gpu-check: PASS$/m);
  });

  it.skipIf(hasNvidia)("without a GPU, the script skips (exit 77) and says why", async () => {
    const r = await gpuCheck("run");
    expect(r).toEqual({ code: 77, output: expect.stringMatching(/^gpu-check: SKIP: no \/dev\/nvidia0 \(no NVIDIA GPU on this machine\)$/m) });
  });
});
