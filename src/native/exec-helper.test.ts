import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { errnoName } from "../linux/errno.js";

// warren-exec (native/exec-helper/exec-helper.c), run here as a plain
// program: its argv contract and its report, which must read exactly like
// the child's own (native/child/plan.h, struct wr_report).
const helper = resolve(import.meta.dirname, "../../build/Release/warren-exec");
const dir = mkdtempSync(join(tmpdir(), "warren-exec-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the helper with argv (argv[0] included) and a pipe as fd 3; returns the status, stdout, stderr and what fd 3 received. */
function run(argv: string[], env: Record<string, string> = { PATH: "/usr/bin:/bin" }) {
  const r = spawnSync(helper, argv.slice(1), { argv0: argv[0], env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
  return { status: r.status, stdout: String(r.output[1]), stderr: String(r.output[2]), report: r.output[3] as Buffer };
}

function report(b: Buffer) {
  expect(b.length).toBe(16);
  return { kind: b.readInt32LE(0), opIndex: b.readInt32LE(4), errno: errnoName(b.readInt32LE(8)), pid: b.readInt32LE(12) };
}

describe.skipIf(!existsSync(helper))("warren-exec", () => {
  it("execs FILE with ARGV (a PATH search for a bare name), and fd 3 closes with that execve, no report", () => {
    const r = run(["warren-exec", "3", "7", "echo", "echo", "a b", "c"]);
    expect(r).toMatchObject({ status: 0, stdout: "a b c\n", stderr: "" });
    expect(r.report.length).toBe(0);
    // The environment goes through unchanged; argv[0] is the caller's.
    const env = run(["warren-exec", "3", "0", "/bin/sh", "custom-name", "-c", 'echo "$0 $X"'], { X: "kept" });
    expect(env.stdout).toBe("custom-name kept\n");
  });

  it("reports a failed execve as the child would: (op index, errno), exit 127", () => {
    const missing = run(["warren-exec", "3", "12", "/no/such/program", "x"]);
    expect(missing.status).toBe(127);
    expect(report(missing.report)).toEqual({ kind: 1, opIndex: 12, errno: "ENOENT", pid: 0 });
    expect(report(run(["warren-exec", "3", "4", "no-such-program", "x"]).report)).toMatchObject({ opIndex: 4, errno: "ENOENT" });
    // EACCES wins over ENOENT in the PATH search, as in the child before.
    writeFileSync(join(dir, "noexec"), "#!/bin/sh\n", { mode: 0o644 });
    const denied = run(["warren-exec", "3", "2", "noexec", "x"], { PATH: `/nonexistent:${dir}` });
    expect(report(denied.report)).toMatchObject({ opIndex: 2, errno: "EACCES" });
  });

  it("refuses any other invocation (as a `#!/proc/self/exe` interpreter, by hand) with 126 and a message", () => {
    for (const argv of [["/proc/self/exe", "/trick"], ["warren-exec"], ["warren-exec", "x", "0", "/bin/true", "true"], ["warren-exec", "1", "0", "/bin/true", "true"]]) {
      const r = run(argv);
      expect(r.status, argv.join(" ")).toBe(126);
      expect(r.stderr).toContain("warren-exec: this is warren's exec helper, not a program");
      expect(r.report.length).toBe(0);
    }
  });
});
