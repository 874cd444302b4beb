/**
 * Start, exit codes, signals, stop (graceful and forced), ephemeral
 * containers, and the state a container leaves on disk.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { busybox, cleanupAll, rootfs, runtime, startReady, stateRoot, trappingInit, uniqueName } from "../helpers/env.js";

afterAll(cleanupAll);

describe("exit status", () => {
  it("propagates the init's exit code", async () => {
    const c = await busybox("exit7", { init: ["/bin/sh", "-c", "exit 7"] });
    await c.start();
    expect(await c.exited).toEqual({ code: 7, signal: null, reason: "exit" });
    expect(c.state).toBe("stopped");
    expect(c.lastExit).toEqual({ code: 7, signal: null, reason: "exit" });
    // Stopped means cleaned up: no cgroup left.
    expect(existsSync(c.cgroupPath)).toBe(false);
  });

  it("propagates a killing signal", async () => {
    const c = await busybox("sig");
    await c.start();
    await c.kill("SIGKILL");
    expect(await c.exited).toEqual({ code: null, signal: "SIGKILL", reason: "kill" });
  });

  it("can start the same container again with fresh namespaces", async () => {
    const c = await busybox("restart", { init: ["/bin/true"] });
    await c.start();
    const first = c.pid;
    expect(await c.exited).toEqual({ code: 0, signal: null, reason: "exit" });
    await c.start();
    expect(c.pid).not.toBe(first);
    expect(await c.exited).toEqual({ code: 0, signal: null, reason: "exit" });
  });

  it("passes stdio through pipes", async () => {
    const c = await busybox("stdio", { init: ["/bin/sh", "-c", "read x; echo got:$x; echo err >&2"] });
    await c.start({ stdio: "pipe" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout!.on("data", (b: Buffer) => out.push(b));
    c.stderr!.on("data", (b: Buffer) => err.push(b));
    c.stdin!.end("hello\n");
    expect(await c.exited).toEqual({ code: 0, signal: null, reason: "exit" });
    await new Promise((r) => setTimeout(r, 20));
    expect(Buffer.concat(out).toString()).toBe("got:hello\n");
    expect(Buffer.concat(err).toString()).toBe("err\n");
  });

  it("starts the init with default signal dispositions (Node ignores SIGPIPE; the init must not)", async () => {
    const c = await busybox("sigpipe", { init: ["/bin/sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"] });
    await c.start({ stdio: ["ignore", "pipe", "ignore"] });
    const chunks: Buffer[] = [];
    c.stdout!.on("data", (b: Buffer) => chunks.push(b));
    await c.exited;
    await new Promise((r) => setTimeout(r, 20));
    const text = Buffer.concat(chunks).toString();
    expect(text).toContain("SigBlk:\t0000000000000000");
    // sh itself ignores nothing it did not ask for; SIGPIPE (bit 13) must not be ignored.
    const ign = BigInt("0x" + /SigIgn:\s+([0-9a-f]+)/.exec(text)![1]);
    expect(ign & (1n << 12n)).toBe(0n);
  });
});

describe("living beside child_process", () => {
  it("neither reaps Node's children nor lets Node reap the container's init", async () => {
    const { spawn } = await import("node:child_process");
    const c = await busybox("cp", { init: ["/bin/sh", "-c", "sleep 0.2; exit 11"] });
    await c.start();
    const child = spawn("/bin/sh", ["-c", "sleep 0.1; exit 12"]);
    const childCode = new Promise((r) => child.on("exit", (code) => r(code)));
    const [containerExit, code] = await Promise.all([c.exited, childCode]);
    expect(containerExit).toEqual({ code: 11, signal: null, reason: "exit" });
    expect(code).toBe(12);
  });
});

describe("stop", () => {
  it("is graceful when the init obeys its halt signal", async () => {
    const c = await busybox("graceful", {
      init: trappingInit("TERM", 42),
      stopTimeout: 5000,
    });
    await startReady(c);
    const t0 = Date.now();
    const status = await c.stop();
    expect(status).toEqual({ code: 42, signal: null, reason: "halt" });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(c.state).toBe("stopped");
  });

  it("kills everything after the timeout when the init handles the signal but does not exit", async () => {
    // (An init with no handler at all is killed at once: test/container/stop.test.ts.)
    const c = await busybox("forced", { init: ["/bin/sh", "-c", "trap 'echo not now' TERM; echo ready; while :; do sleep 3600 & wait $!; done"], stopTimeout: 300 });
    await startReady(c);
    const t0 = Date.now();
    const status = await c.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(status).toEqual({ code: null, signal: "SIGKILL", reason: "kill" });
    expect(existsSync(c.cgroupPath)).toBe(false);
  });

  it("uses a configured halt signal (SIGRTMIN+3, as for systemd)", async () => {
    const c = await busybox("rtmin", {
      // glibc's SIGRTMIN is 34, so systemd's SIGRTMIN+3 is 37.
      init: trappingInit("37", 3),
      haltSignal: "SIGRTMIN+3",
      stopTimeout: 5000,
    });
    await startReady(c);
    expect(await c.stop()).toEqual({ code: 3, signal: null, reason: "halt" });
  });

  it("is a no-op on a stopped container, and destroy is idempotent", async () => {
    const c = await busybox("idem", { init: ["/bin/true"] });
    await c.start();
    await c.exited;
    expect(await c.stop()).toEqual({ code: 0, signal: null, reason: "exit" });
    await c.destroy();
    await c.destroy();
    expect(existsSync(c.stateDir)).toBe(false);
  });

  it("refuses to destroy a running container unless forced", async () => {
    const c = await busybox("force");
    await c.start();
    await expect(c.destroy()).rejects.toMatchObject({ code: "ERR_WARREN_STATE" });
    await c.destroy({ force: true });
    expect(existsSync(c.stateDir)).toBe(false);
    expect(existsSync(c.cgroupPath)).toBe(false);
  });
});

describe("state on disk", () => {
  it("records the init's pid and start time, and its exit", async () => {
    const c = await busybox("state", { init: trappingInit("TERM", 0) });
    await startReady(c);
    const state = JSON.parse(readFileSync(`${c.stateDir}/state.json`, "utf8"));
    expect(state).toMatchObject({ status: "running", pid: c.pid, owner: process.pid });
    const stat = readFileSync(`/proc/${c.pid}/stat`, "utf8");
    expect(state.startTime).toBe(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]));
    await c.stop();
    const after = JSON.parse(readFileSync(`${c.stateDir}/state.json`, "utf8"));
    expect(after).toMatchObject({ status: "stopped", exit: { code: 0, signal: null } });
  });

  it("lists containers and finds them by name", async () => {
    const c = await busybox("listed");
    // Another tool's directory under the root is not a container, and does not break a listing.
    const foreign = join(stateRoot(), "not a container!");
    mkdirSync(foreign);
    const all = await Container.list(runtime()).finally(() => rmdirSync(foreign));
    expect(all.map((x) => x.name)).toContain(c.name);
    const again = await Container.get(c.name, runtime());
    expect(again).toBe(c); // one handle per container per process
    await expect(Container.get(uniqueName("missing"), runtime())).rejects.toMatchObject({ code: "ERR_WARREN_NOT_FOUND" });
  });

  it("destroys an ephemeral container when it stops", async () => {
    const c = await Container.create(uniqueName("eph"), { rootfs: { path: rootfs(), mode: "ro" }, init: ["/bin/true"], ephemeral: true }, runtime());
    await c.start();
    await c.exited;
    expect(existsSync(c.stateDir)).toBe(false);
  });

  it("supports await using", async () => {
    let dir = "";
    let cg = "";
    {
      await using c = await busybox("using", { init: trappingInit("TERM", 0) });
      await startReady(c);
      dir = c.stateDir;
      cg = c.cgroupPath;
      expect(existsSync(cg)).toBe(true);
    }
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(cg)).toBe(false);
  });
});
