/**
 * The programs in examples/, run for real so they cannot rot: the vitest
 * suite with a Debian container per file, the HTTP service, the
 * device-moving script.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { createService } from "../../examples/http-service/service.js";
import { moveDevice } from "../../examples/move-device/move-device.js";
import { Container } from "../../src/index.js";
import { repo } from "../helpers/cli.js";
import { busybox, cleanupAll, debianSkipReason, rootfs, runtime, stateRoot } from "../helpers/env.js";

afterAll(cleanupAll);

const skipDebian = debianSkipReason();

describe("examples", () => {
  it.skipIf(skipDebian !== undefined)(`vitest-debian: each test file boots its own Debian container and destroys it${skipDebian ? ` (skipped: ${skipDebian})` : ""}`, { timeout: 300_000 }, () => {
    const r = spawnSync(join(repo, "node_modules/.bin/vitest"), ["run", "--config", join(repo, "test/examples/vitest-debian.config.ts")], {
      cwd: join(repo, "examples/vitest-debian"),
      env: { ...process.env, WARREN_ROOT: stateRoot(), CI: "1", NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 280_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Test Files\s+2 passed/);
    expect(r.stdout).toMatch(/Tests\s+3 passed/);
  });

  it("http-service: creates, lists and destroys containers per user, with a quota", { timeout: 120_000 }, async () => {
    const service = createService({ root: stateRoot(), rootfs: rootfs(), quota: 2 });
    await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(service.address() as { port: number }).port}`;
    const call = async (method: string, path: string, user?: string) => {
      const res = await fetch(base + path, { method, headers: user ? { "x-user": user } : {} });
      return { status: res.status, body: (res.status === 204 ? null : await res.json()) as { name: string } & unknown[] };
    };
    try {
      expect((await call("GET", "/containers")).status).toBe(401);
      const a1 = await call("POST", "/containers", "alice");
      expect(a1.status).toBe(201);
      expect(a1.body).toMatchObject({ name: expect.stringMatching(/^alice--/), state: "running" });
      expect((await call("POST", "/containers", "alice")).status).toBe(201);
      expect((await call("POST", "/containers", "alice")).status).toBe(429);
      const b1 = await call("POST", "/containers", "bob");
      expect(b1.status).toBe(201);
      const alice = await call("GET", "/containers", "alice");
      expect(alice.body).toHaveLength(2);
      const mem = Container.statsAll(runtime()).then((s) => Object.values(s)[0]?.memory !== undefined);
      for (const c of alice.body as { name: string; state: string; memory: number | null }[]) {
        expect(c.name.startsWith("alice--") && c.state === "running").toBe(true);
        // A number where the memory controller is there, null where cgroup v1 holds it.
        expect(typeof c.memory).toBe((await mem) ? "number" : "object");
      }
      // Bob's container is not Alice's to destroy, nor to see.
      expect((await call("DELETE", `/containers/${b1.body.name}`, "alice")).status).toBe(404);
      expect((await call("DELETE", `/containers/${a1.body.name}`, "alice")).status).toBe(204);
      expect((await call("DELETE", `/containers/${a1.body.name}`, "alice")).status).toBe(404);
      expect((await call("GET", "/containers", "alice")).body).toHaveLength(1);
      expect((await Container.list(runtime())).map((c) => c.name)).not.toContain(a1.body.name);
    } finally {
      await new Promise((r) => service.close(r));
      for (const c of await Container.list(runtime())) {
        if (/^(alice|bob)--/.test(c.name)) {
          await c.stop({ timeout: 0 }).catch(() => undefined);
          await c.destroy({ force: true }).catch(() => undefined);
        }
      }
    }
  });

  it("move-device: a device goes from one running container to another, by the function and by the script", { timeout: 60_000 }, async () => {
    const a = await busybox("mv-a");
    const b = await busybox("mv-b");
    await a.start();
    await b.start();
    const has = async (c: Container) => (await c.execOutput(["test", "-c", "/dev/net/tun"])).code === 0;
    await a.addDevice("tun", { type: "unix-char", source: "/dev/net/tun" });
    expect([await has(a), await has(b)]).toEqual([true, false]);

    await moveDevice(a, b, "tun");
    expect([await has(a), await has(b)]).toEqual([false, true]);
    expect((await b.devices()).map((d) => d.name)).toEqual(["tun"]);
    await expect(moveDevice(a, b, "tun")).rejects.toThrow(/no device "tun"/);

    // And back, as the script run from a shell.
    const r = spawnSync(process.execPath, ["--import", "tsx", "examples/move-device/move-device.ts", b.name, a.name, "tun", "--root", stateRoot()], {
      cwd: repo, // tsx reads tsconfig.json's paths: `warren` is the sources
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`tun: ${b.name} -> ${a.name}\n`);
    expect([await has(a), await has(b)]).toEqual([true, false]);
  });
});
