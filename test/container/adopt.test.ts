/**
 * A second Node process finds a running container, re-adopts it (pidfd and
 * start-time check), execs into it and stops it.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

import { processInfo } from "../../src/container/proc.js";
import { Container } from "../../src/index.js";
import { busybox, cleanupAll, rootfs, runtime, startReady, stateRoot, trappingInit, uniqueName } from "../helpers/env.js";

afterAll(cleanupAll);
const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");

async function inOtherProcess(script: string): Promise<string> {
  const file = join(stateRoot(), `other-${Date.now()}.mts`);
  writeFileSync(file, script);
  const { stdout } = await run(process.execPath, ["--import", "tsx", file], { cwd: repo, timeout: 20_000 });
  return stdout;
}

describe("re-adoption from another process", () => {
  it("lists, execs into and stops a container started here", async () => {
    const c = await busybox("adopt", { init: trappingInit("TERM", 9) });
    await startReady(c);
    const pid = c.pid;
    const out = await inOtherProcess(`
      import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
      const opts = { root: ${JSON.stringify(stateRoot())} };
      const listed = (await Container.list(opts)).map((x) => x.name + ":" + x.state + ":" + x.pid);
      const c = await Container.get(${JSON.stringify(c.name)}, opts);
      const r = await c.execOutput(["hostname"]);
      const status = await c.stop({ timeout: 5000 });
      console.log(JSON.stringify({ listed, hostname: r.stdout, status, state: c.state }));
    `);
    const res = JSON.parse(out.trim().split("\n").pop()!);
    expect(res.listed).toContain(`${c.name}:running:${pid}`);
    expect(res.hostname).toBe(`${c.name}\n`);
    // The other process is not the init's parent: the kernel tells it the
    // status once this process (the parent) reaped the init; the stop it
    // asked for is the reason, here as there.
    expect(res.state).toBe("stopped");
    expect(res.status).toEqual({ code: 9, signal: null, reason: "halt" });
    expect(await c.exited).toEqual({ code: 9, signal: null, reason: "halt" });
    expect(c.state).toBe("stopped");
  });

  it("keeps running after the process that started it exits, and is adopted here", async () => {
    const name = uniqueName("outlive");
    const pid = Number(
      (
        await inOtherProcess(`
          import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
          const c = await Container.create(${JSON.stringify(name)}, { rootfs: { path: ${JSON.stringify(rootfs())}, mode: "ro" }, init: ${JSON.stringify(trappingInit("TERM", 0))} }, { root: ${JSON.stringify(stateRoot())} });
          await c.start();
          console.log(c.pid);
        `)
      ).trim(),
    );
    expect(pid).toBeGreaterThan(0);
    const c = await Container.get(name, runtime());
    expect(c.state).toBe("running");
    expect(c.pid).toBe(pid);
    expect((await c.execOutput(["hostname"])).stdout).toBe(`${name}\n`);
    await c.stop({ timeout: 5000 });
    expect(c.state).toBe("stopped");
    // Gone, or a zombie waiting for the host's init (its new parent) to reap it.
    expect(processInfo(pid)?.state ?? "gone").toMatch(/^(gone|Z|X)$/);
    await c.destroy();
  });

  it("does not mistake a reused pid for the init", async () => {
    const c = await busybox("reuse", { init: ["/bin/true"] });
    await c.start();
    await c.exited;
    // Forge a state that claims the container runs as this very process.
    writeFileSync(
      join(c.stateDir, "state.json"),
      JSON.stringify({ status: "running", pid: process.pid, startTime: 1, owner: 1 }),
    );
    const out = await inOtherProcess(`
      import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
      const c = await Container.get(${JSON.stringify(c.name)}, { root: ${JSON.stringify(stateRoot())} });
      console.log(JSON.stringify({ state: c.state, pid: c.pid ?? null }));
    `);
    expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ state: "stopped", pid: null });
  });

  it("follows runs started and stopped by another process (events with follow)", async () => {
    const c = await busybox("follow", { init: trappingInit("TERM", 3) });
    const events: string[] = [];
    const it = c.events({ follow: true });
    const done = (async () => {
      for await (const e of it) events.push(e.type === "stopped" ? `stopped:${e.status.code}` : e.type);
    })();
    await inOtherProcess(`
      import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
      const c = await Container.get(${JSON.stringify(c.name)}, { root: ${JSON.stringify(stateRoot())} });
      await c.start({ stdio: ["ignore", "pipe", "ignore"] });
      await new Promise((r) => c.stdout.on("data", (b) => String(b).includes("ready") && r(undefined)));
      await c.stop({ timeout: 5000 });
    `);
    for (let i = 0; i < 50 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await it.return?.();
    await done;
    expect(events).toEqual(["started", "stopped:3"]);
  });
});
