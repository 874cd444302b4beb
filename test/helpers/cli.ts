/** Runs the `warren` CLI for real, as a subprocess (`node --import tsx src/cli/main.ts`), against a given state root. */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";

import { detectCgroupHost } from "../../src/cgroup/cgroup2.js";
import { resolveRuntime } from "../../src/config/runtime.js";
import { Container } from "../../src/index.js";

export const repo = resolve(import.meta.dirname, "../..");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The argv that runs `warren <command> --root <root> <args...>` (for wrapping it, e.g. in `script`). */
export function cliArgv(root: string, command: string, args: readonly string[]): string[] {
  return [process.execPath, "--import", "tsx", join(repo, "src/cli/main.ts"), command, "--root", root, ...args];
}

/** Runs `argv` to its end with `input` on stdin; WARREN_ROOT points nowhere so only `--root` counts. */
export function runArgv(argv: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: repo,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, WARREN_ROOT: "/nonexistent-warren-root-must-not-be-used", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.on("error", () => undefined); // EPIPE once it exited
    child.stdin.end(options.input ?? "");
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** A runner of `warren <command> ...` for one state root. */
export function cliFor(root: string) {
  return (command: string, args: readonly string[], options?: { input?: string; env?: Record<string, string> }) => runArgv(cliArgv(root, command, args), options);
}

/**
 * After a CLI test file: stops and destroys every container under `root`,
 * removes `root` and `dirs`, and returns the root's cgroup subtree, which
 * destroying its last container must have removed (the caller expects it gone).
 */
export async function removeRoot(root: string, ...dirs: string[]): Promise<string> {
  try {
    for (const c of await Container.list({ root })) {
      await c.stop({ timeout: 0 }).catch(() => undefined);
      await c.destroy({ force: true }).catch(() => undefined);
    }
  } finally {
    for (const d of [root, ...dirs]) rmSync(d, { recursive: true, force: true });
  }
  return join(detectCgroupHost().mount, resolveRuntime({ root }).cgroupParent);
}
