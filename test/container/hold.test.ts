/**
 * start({ hold: true }): the init is set up and waits right before its
 * program's execve (the OCI runtime's "created"); release() from this or
 * another process runs it.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

import { Container, SetupError, StateError } from "../../src/index.js";
import { busybox, cleanupAll, rootfs, runtime, stateRoot, uniqueName } from "../helpers/env.js";

afterAll(cleanupAll);
const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, "utf8").trim();

describe("a held start", () => {
  it("holds the init before its program, then runs it on release", async () => {
    const c = await busybox("hold", { init: ["/bin/sh", "-c", "echo started; exec sleep 60"] });
    await c.start({ hold: true, stdio: ["ignore", "pipe", "ignore"] });
    expect(c.held).toBe(true);
    const pid = c.pid!;
    // Still warren's helper, not the program.
    expect(comm(pid)).toBe("memfd:warren-ex"); // warren-exec, run from its memfd
    let out = "";
    c.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    await new Promise((r) => setTimeout(r, 100));
    expect(out).toBe("");
    await c.release();
    expect(c.held).toBe(false);
    for (let i = 0; i < 100 && !out.includes("started"); i++) await new Promise((r) => setTimeout(r, 20));
    expect(out).toBe("started\n");
    expect(c.pid).toBe(pid);
    await expect(c.release()).rejects.toBeInstanceOf(StateError);
    await c.stop({ timeout: 0 });
  });

  it("fails the held start when the program does not exist", async () => {
    const c = await busybox("hold-noent", { init: ["/no/such/program"] });
    const e = await c.start({ hold: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SetupError);
    expect((e as SetupError).message).toMatch(/ENOENT/);
    expect(c.held).toBe(false);
    expect(c.state).not.toBe("running");
  });

  it("is released by another process after the one that held it exited", async () => {
    const name = uniqueName("hold-other");
    const script = (body: string) => {
      const file = join(stateRoot(), `hold-${Date.now()}-${Math.random()}.mts`);
      writeFileSync(file, `import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};\nconst opts = { root: ${JSON.stringify(stateRoot())} };\n${body}`);
      return run(process.execPath, ["--import", "tsx", file], { cwd: repo, timeout: 20_000 }).then((r) => r.stdout.trim());
    };
    const pid = Number(
      await script(`
        const c = await Container.create(${JSON.stringify(name)}, { rootfs: { path: ${JSON.stringify(rootfs())}, mode: "ro" }, init: ["/bin/sleep", "60"] }, opts);
        await c.start({ hold: true });
        console.log(c.pid);
      `),
    );
    const c = await Container.get(name, runtime());
    expect(c.pid).toBe(pid);
    expect(c.held).toBe(true);
    expect(await script(`const c = await Container.get(${JSON.stringify(name)}, opts); await c.release(); console.log(c.held);`)).toBe("false");
    for (let i = 0; i < 100 && comm(pid) !== "sleep"; i++) await new Promise((r) => setTimeout(r, 20));
    expect(comm(pid)).toBe("sleep");
    await c.stop({ timeout: 0 });
    await c.destroy();
  });

  it("refuses release of a container that was never held", async () => {
    const c = await busybox("hold-none");
    await c.start();
    await expect(c.release()).rejects.toThrow(/not waiting to start/);
    expect(c.held).toBe(false);
    await c.stop({ timeout: 0 });
  });
});
