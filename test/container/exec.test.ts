/** exec: joining a running container's namespaces and cgroup. */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { detectCgroupHost } from "../../src/cgroup/cgroup2.js";
import { namespaceId } from "../../src/container/proc.js";
import { busybox, cleanupAll } from "../helpers/env.js";

afterAll(cleanupAll);

const KINDS = ["user", "mnt", "pid_for_children", "net", "uts", "ipc", "cgroup"];

describe("exec", () => {
  it("sees exactly the init's namespaces and lands in the container's cgroup", async () => {
    const c = await busybox("exec-ns");
    await c.start();
    const p = await c.exec(["/bin/sleep", "30"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    try {
      for (const kind of KINDS) {
        const want = await namespaceId(c.pid!, kind === "pid_for_children" ? "pid" : kind);
        const got = await namespaceId(p.pid, kind === "pid_for_children" ? "pid" : kind);
        expect(got, kind).toBe(want);
        expect(got, kind).not.toBe(await namespaceId("self", kind === "pid_for_children" ? "pid" : kind));
      }
      const cg = readFileSync(`/proc/${p.pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"))!;
      expect(cg).toBe(`0::${c.cgroupPath.slice(detectCgroupHost().mount.length)}/.exec`);
      // Inside, the process has a pid of the container's namespace.
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))![1]!.split(/\s+/);
      expect(nspid).toHaveLength(2);
      expect(Number(nspid[1])).toBeGreaterThan(1);
    } finally {
      p.kill("SIGKILL");
      expect(await p.exited).toEqual({ code: null, signal: "SIGKILL" });
    }
    await c.stop();
  });

  it("returns exit codes, output, env, cwd and user", async () => {
    const c = await busybox("exec-out", { env: { FROM_CONFIG: "a" } });
    await c.start();
    expect(await c.execOutput(["sh", "-c", "exit 5"])).toMatchObject({ code: 5, signal: null });
    const r = await c.execOutput(["sh", "-c", 'echo "$FROM_CONFIG $EXTRA $(pwd) $(id -u):$(id -g)"; echo oops >&2'], {
      env: { EXTRA: "b" },
      cwd: "/tmp",
      user: { uid: 1000, gid: 1001 },
    });
    expect(r).toEqual({ code: 0, signal: null, stdout: "a b /tmp 1000:1001\n", stderr: "oops\n" });
    // extendEnv: false: env alone, HOME filled in (and kept when given).
    const vars = async (env: Record<string, string>) => (await c.execOutput(["/bin/env"], { env, extendEnv: false })).stdout.split("\n").filter(Boolean).sort();
    const whole = await vars({ ONLY: "1", PATH: "/bin" });
    expect(whole.map((v) => v.split("=")[0])).toEqual(["HOME", "ONLY", "PATH"]);
    expect(whole[0]).toMatch(/^HOME=\//);
    expect(await vars({ HOME: "/x", PATH: "/bin" })).toEqual(["HOME=/x", "PATH=/bin"]);
    expect((await c.execOutput(["cat"], { input: "round trip" })).stdout).toBe("round trip");
    // Input the command never reads (more than a pipe holds): EPIPE is not an error of the call.
    expect(await c.execOutput(["true"], { input: Buffer.alloc(4 << 20) })).toMatchObject({ code: 0 });
    await expect(c.execOutput(["sh", "-c", "exit 3"], { check: true })).rejects.toMatchObject({ code: "ERR_WARREN_PROCESS_EXIT", exitCode: 3 });
    await c.stop();
  });

  it("reports a missing program as a typed error naming the step", async () => {
    const c = await busybox("exec-missing");
    await c.start();
    await expect(c.execOutput(["/no/such/program"])).rejects.toMatchObject({
      code: "ERR_WARREN_SETUP",
      step: "exec",
      errno: "ENOENT",
    });
    await c.stop();
  });

  it("gives a pty from the container's devpts, with a window size", async () => {
    const c = await busybox("exec-tty");
    await c.start();
    const p = await c.exec(["sh", "-c", "tty; stty size; test -t 0 && echo interactive"], { tty: { cols: 100, rows: 40 } });
    const chunks: Buffer[] = [];
    p.stdout!.on("data", (b: Buffer) => chunks.push(b));
    expect(await p.exited).toEqual({ code: 0, signal: null });
    await new Promise((r) => setTimeout(r, 50));
    const out = Buffer.concat(chunks).toString().replace(/\r/g, "");
    expect(out).toMatch(/^\/dev\/pts\/\d+\n40 100\ninteractive\n$/);
    await c.stop();
  });

  it("is refused on a container that is not running", async () => {
    const c = await busybox("exec-stopped");
    await expect(c.exec(["true"])).rejects.toMatchObject({ code: "ERR_WARREN_STATE" });
  });
});
