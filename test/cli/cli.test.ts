/**
 * The `warren` CLI run for real, as a subprocess (`node --import tsx
 * src/cli/main.ts`), against a state root of its own. Containers use the
 * embedded default rootfs unless a test says otherwise.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import { Container, detectCgroupHost } from "../../src/index.js";

const repo = resolve(import.meta.dirname, "../..");
const TIMEOUT = 30_000;

let root: string;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  input?: string;
  /** Called with the process and the output so far on each stdout chunk. */
  onStdout?: (child: ReturnType<typeof spawn>, stdout: string) => void;
}

/** Runs `warren <command> --root <root> <args...>`. */
function cli(command: string, args: string[], options: CliOptions = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(repo, "src/cli/main.ts"), command, "--root", root, ...args], {
      cwd: repo,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, WARREN_ROOT: "/nonexistent-warren-root-must-not-be-used" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      options.onStdout?.(child, stdout);
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

function uniqueName(prefix: string): string {
  return `cli-${prefix}-${randomBytes(3).toString("hex")}`;
}

/** What `warren list --json` says. */
async function list(): Promise<{ name: string; state: string; pid: number | null; exit: { code: number | null } | null }[]> {
  const r = await cli("list", ["--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(() => {
  expect(existsSync(join(repo, "node_modules/tsx"))).toBe(true);
  root = mkdtempSync("/tmp/warren-cli-test-");
});

afterAll(async () => {
  // Whatever a failed test left: stop and destroy it, then drop the root.
  try {
    for (const c of await Container.list({ root })) {
      await c.stop({ timeout: 0 }).catch(() => undefined);
      await c.destroy({ force: true }).catch(() => undefined);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, TIMEOUT);

describe("warren run", () => {
  it("exits with the command's exit code and, with --rm, leaves nothing", async () => {
    const r = await cli("run", ["--rm", "--", "sh", "-c", "exit 7"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(7);
    expect(await list()).toEqual([]);
    expect(readdirSync(root).filter((e) => !e.startsWith("."))).toEqual([]);
  }, TIMEOUT);

  it("sets the hostname and passes the command's stdout through", async () => {
    const r = await cli("run", ["--rm", "--hostname", "h1", "--", "sh", "-c", "hostname"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("h1\n");
    expect(r.code).toBe(0);
  }, TIMEOUT);

  it("exits 127 naming the exec step when the command does not exist", async () => {
    const r = await cli("run", ["--rm", "--", "/nonexistent"]);
    expect(r.code).toBe(127);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^warren: container "run-[0-9a-f]{8}": start failed at exec: exec `\/nonexistent`: ENOENT/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await list()).toEqual([]);
  }, TIMEOUT);

  it("exits 126 when the command is not executable", async () => {
    const r = await cli("run", ["--rm", "--", "/etc/hostname"]);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/failed at exec: .*EACCES/);
  }, TIMEOUT);

  it("without --rm leaves the container stopped, with its exit code", async () => {
    const name = uniqueName("keep");
    try {
      const r = await cli("run", ["--name", name, "-e", "GREETING=hello", "--", "sh", "-c", 'echo "$GREETING"; exit 3']);
      expect(r.stdout).toBe("hello\n");
      expect(r.code).toBe(3);
      expect(await list()).toEqual([{ name, state: "stopped", pid: null, rootfs: null, exit: { code: 3, signal: null } }]);
      const d = await cli("destroy", [name]);
      expect(d.stdout).toBe(`${name}\n`);
      expect(d.code).toBe(0);
      expect(await list()).toEqual([]);
    } finally {
      await cli("destroy", ["--force", name]); // when an assertion above failed
    }
  }, TIMEOUT);

  it("forwards SIGTERM to the init", async () => {
    const script = 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 1; done';
    let sent = false;
    const r = await cli("run", ["--rm", "--", "sh", "-c", script], {
      onStdout: (child, out) => {
        if (!sent && out.includes("ready\n")) {
          sent = true;
          child.kill("SIGTERM");
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.stdout).toBe("ready\ngot-term\n");
    expect(r.signal).toBeNull();
    expect(r.code).toBe(9);
  }, TIMEOUT);

  it("maps --rootfs DIR --ro to a read-only root", async (ctx) => {
    let rootfs: string | undefined;
    try {
      rootfs = inject("rootfs");
    } catch {
      rootfs = undefined;
    }
    if (!rootfs || !existsSync(join(rootfs, "bin/sh"))) ctx.skip();
    const r = await cli("run", ["--rm", "--rootfs", rootfs!, "--ro", "--", "/bin/sh", "-c", "touch /x; echo $?"]);
    expect(r.stdout).toBe("1\n");
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.code).toBe(0);
  }, TIMEOUT);

  it("rejects bad flags with 125 before creating anything", async () => {
    const r = await cli("run", ["--rm", "--ro", "--", "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("warren: --ro needs --rootfs DIR\nSee 'warren run --help'.\n");
    expect(await list()).toEqual([]);
  }, TIMEOUT);
});

describe("warren create, start, exec, list, stop, destroy", () => {
  const name = uniqueName("life");

  it("goes through a container's whole life", async () => {
    const created = await cli("create", [name]);
    expect(created.stderr).toBe("");
    expect(created.stdout).toBe(`${name}\n`);
    expect(created.code).toBe(0);
    expect((await list()).map((c) => [c.name, c.state])).toEqual([[name, "created"]]);

    const started = await cli("start", [name]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);

    const hostname = await cli("exec", [name, "--", "cat", "/etc/hostname"]);
    expect(hostname.stderr).toBe("");
    expect(hostname.stdout).toBe(`${name}\n`);
    expect(hostname.code).toBe(0);

    // stdin is passed through when it is not a terminal; the exit code comes back.
    const piped = await cli("exec", ["-e", "X=42", name, "sh", "-c", 'cat; echo "x=$X"; echo oops >&2; exit 5'], { input: "from stdin\n" });
    expect(piped.stdout).toBe("from stdin\nx=42\n");
    expect(piped.stderr).toBe("oops\n");
    expect(piped.code).toBe(5);

    const missing = await cli("exec", [name, "--", "/no/such/command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/exec failed at exec: .*ENOENT/);

    const table = await cli("list", []);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+PID\s+ROOTFS$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${name}\\s+running\\s+\\d+\\s+`));

    const stopped = await cli("stop", ["--timeout", "5000", name]);
    expect(stopped.stderr).toBe("");
    expect(stopped.code).toBe(0);
    expect((await list()).map((c) => [c.name, c.state, c.pid])).toEqual([[name, "stopped", null]]);

    const notRunning = await cli("exec", [name, "--", "true"]);
    expect(notRunning.code).toBe(125);
    expect(notRunning.stderr).toBe(`warren: container "${name}" is not running\n`);

    const destroyed = await cli("destroy", [name]);
    expect(destroyed.stderr).toBe("");
    expect(destroyed.code).toBe(0);
    expect(await list()).toEqual([]);

    const again = await cli("destroy", [name]);
    expect(again.code).toBe(125);
    expect(again.stderr).toBe(`warren: container "${name}" does not exist under \`${root}\`\n`);
  }, TIMEOUT);
});

describe("warren info", () => {
  it("shows the cgroup2 mount and the layout", async () => {
    const host = detectCgroupHost();
    const r = await cli("info", []);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^cgroup2 mount:\\s+${host.mount}$`, "m"));
    expect(r.stdout).toMatch(host.pureV2 ? /^cgroup layout:\s+pure cgroup v2/m : /^cgroup layout:\s+hybrid/m);
    expect(r.stdout).toMatch(new RegExp(`^state directory:\\s+${root}$`, "m"));
  }, TIMEOUT);
});
