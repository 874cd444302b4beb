/**
 * Restart policies (config `restart`, `onReboot`), applied by the
 * container's monitor, also after the process that started the container
 * is gone; Incus's limit of 10 restarts a minute; exit statuses that every
 * process learns; and stop/destroy cancelling a pending restart.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { StateStore } from "../../src/container/state.js";
import { Container, type ContainerEvent } from "../../src/index.js";
import { withLock } from "../../src/linux/lock.js";
import { cliFor } from "../helpers/cli.js";
import { busybox, cleanupAll, stateRoot } from "../helpers/env.js";

afterAll(cleanupAll);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The monitors' `warren after-exit` runs for container `name` still going. */
function hooksOf(name: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if (argv.includes("after-exit") && argv.includes(name)) out.push(e);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Waits until no restart hook of `name` runs any more. */
async function hooksDone(name: string): Promise<void> {
  await waitFor(`the restart hooks of ${name} to end`, () => hooksOf(name).length === 0 || undefined);
}

/** A new init of `c` (another pid than `old`), as any process sees it. */
async function restarted(c: Container, old: number): Promise<number> {
  return waitFor(`a restart of ${c.name}`, async () => {
    await c.refresh();
    return c.state === "running" && c.pid !== undefined && c.pid !== old ? c.pid : undefined;
  });
}

describe("restart policies", () => {
  it("restarts after kill -9 of the init (restart: always), and the holding object follows", async () => {
    const c = await busybox("always", { restart: "always" });
    await c.start();
    const first = c.pid!;
    const events: ContainerEvent[] = [];
    const iter = c.events();
    const collecting = (async () => {
      for await (const e of iter) {
        events.push(e);
        if (e.type === "started") break;
      }
    })();
    const exited = c.exited;
    process.kill(first, "SIGKILL");
    expect(await exited).toEqual({ code: null, signal: "SIGKILL", reason: "kill" });
    await collecting;
    expect(events.map((e) => e.type)).toEqual(["stopped", "started"]);
    expect(events[0]).toMatchObject({ restarting: true });
    // The object adopted the new init: pid, exec and exited follow it.
    expect(c.state).toBe("running");
    expect(c.pid).not.toBe(first);
    expect((await c.execOutput(["echo", "again"])).stdout).toBe("again\n");
    expect(c.restartRefused).toBeNull();
    expect(await c.stop()).toEqual({ code: 0, signal: null, reason: "halt" });
    await hooksDone(c.name);
    await sleep(300);
    await c.refresh();
    expect(c.state).toBe("stopped");
  });

  it("restarts after kill -9 when the process that started it is gone, and stop() from another process reports the real status", async () => {
    const c = await busybox("gone", { restart: "always" });
    const cli = cliFor(stateRoot());
    const r = await cli("start", [c.name]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    await c.refresh();
    const first = c.pid!;
    expect(first).toBeGreaterThan(0);
    process.kill(first, "SIGKILL");
    // This process is not the init's parent: it learns the status from the kernel (a pidfd).
    expect(await c.exited).toEqual({ code: null, signal: "SIGKILL", reason: "kill" });
    const second = await restarted(c, first);
    // The state on disk says how the last run ended (the monitor recorded it).
    const other = await Container.get(c.name, { root: stateRoot() });
    expect(other.pid).toBe(second);
    // Stopped by the halt signal: the IDLE init traps SIGTERM and exits 0.
    expect(await c.stop()).toEqual({ code: 0, signal: null, reason: "halt" });
    await hooksDone(c.name);
    await c.refresh();
    expect(c.state).toBe("stopped");
    expect(c.lastExit).toEqual({ code: 0, signal: null, reason: "halt" });
  });

  it("records the exit of a container nobody watched, for every process (the monitor saw it)", async () => {
    const c = await busybox("unwatched", { init: ["/bin/sh", "-c", "sleep 0.3; exit 5"], console: true });
    const r = await cliFor(stateRoot())("start", [c.name]);
    expect(r.code).toBe(0);
    await sleep(1000);
    const other = await Container.get(c.name, { root: stateRoot() });
    expect(other.state).toBe("stopped");
    expect(other.lastExit).toEqual({ code: 5, signal: null, reason: "exit" });
    expect(await other.stop()).toEqual({ code: 5, signal: null, reason: "exit" });
  });

  it("restarts after a reboot from inside (onReboot: restart, the default), by the monitor", async () => {
    // A console gives it a monitor, which answers the reboot.
    const c = await busybox("reboot", { console: true });
    await c.start();
    const first = c.pid!;
    await c.execOutput(["/bin/busybox", "reboot", "-f"], { check: false });
    // This process is the init's parent: wait(2) tells the reboot.
    expect(await c.exited).toEqual({ code: null, signal: "SIGHUP", reason: "reboot" });
    await restarted(c, first);
    await c.stop({ timeout: 0 });
    await hooksDone(c.name);
  });

  it("restarts after a reboot from inside when the process that started it is gone (restart: always)", async () => {
    const c = await busybox("reboot-gone", { restart: "always" });
    const r = await cliFor(stateRoot())("start", [c.name]);
    expect(r.code).toBe(0);
    await c.refresh();
    const first = c.pid!;
    await c.execOutput(["/bin/busybox", "reboot", "-f"], { check: false });
    // Not the parent: the kernel keeps SIGKILL for everyone else (docs/system-containers.md).
    expect(await c.exited).toMatchObject({ code: null, signal: "SIGKILL" });
    await restarted(c, first);
    await c.stop({ timeout: 0 });
    await hooksDone(c.name);
  });

  it("on-failure: no restart after exit 0", async () => {
    const c = await busybox("ok", { restart: "on-failure", init: ["/bin/sh", "-c", "sleep 0.2; exit 0"] });
    await c.start();
    const first = c.pid!;
    expect(await c.exited).toEqual({ code: 0, signal: null, reason: "exit" });
    await sleep(200);
    await hooksDone(c.name);
    await c.refresh();
    expect(c.state).toBe("stopped");
    expect(readFileSync(`${c.stateDir}/state.json`, "utf8")).toContain(`"pid":${first}`);
  });

  it("on-failure: restarts after exit 1, and the 11th restart within a minute is refused with the reason recorded", async () => {
    const c = await busybox("fail", { restart: "on-failure", init: ["/bin/sh", "-c", "sleep 2; exit 1"] });
    await c.start();
    const first = c.pid!;
    expect(await c.exited).toEqual({ code: 1, signal: null, reason: "exit" });
    const second = await restarted(c, first);
    // Ten restarts within the minute, as far as the policy knows (each takes
    // a Node start here, too slow to reach eleven in a test's time): the
    // next end is the 11th and is refused.
    await withLock(c.stateDir + "/lock", async () => {
      const store = new StateStore(stateRoot());
      const state = (await store.readState(c.name))!;
      expect(state.restarts).toHaveLength(1);
      await store.writeState(c.name, { ...state, restarts: Array.from({ length: 10 }, (_, i) => Date.now() - 1000 * i) });
    });
    await waitFor("the restart limit", async () => {
      await c.refresh();
      return c.restartRefused ?? undefined;
    });
    await hooksDone(c.name);
    await c.refresh();
    expect(c.state).toBe("stopped");
    expect(readFileSync(`${c.stateDir}/state.json`, "utf8")).toContain(`"pid":${second}`);
    expect(c.lastExit).toEqual({ code: 1, signal: null, reason: "exit" });
    expect(c.restartRefused).toMatchObject({ reason: "restart-limit", message: "more than 10 restarts within 60 s" });
    // warren list shows why it stays stopped.
    const list = await cliFor(stateRoot())("list", []);
    expect(list.stdout).toMatch(new RegExp(`${c.name}\\s+stopped \\(exit 1, restart-limit\\)`));
    // A start by hand begins afresh.
    await c.start();
    expect(c.restartRefused).toBeNull();
    await c.stop({ timeout: 0 });
    await hooksDone(c.name);
  });

  it("stop() while a restart is pending leaves it stopped", async () => {
    const c = await busybox("pending-stop", { restart: "always" });
    await c.start();
    const first = c.pid!;
    process.kill(first, "SIGKILL");
    await c.stop({ timeout: 0 });
    await hooksDone(c.name);
    await c.refresh();
    expect(c.state).toBe("stopped");
    expect(existsSync(c.cgroupPath)).toBe(false);
  });

  it("destroy() while a restart is pending leaves nothing behind", async () => {
    const c = await busybox("pending-destroy", { restart: "always" });
    await c.start();
    const dir = c.stateDir;
    const cgroup = c.cgroupPath;
    process.kill(c.pid!, "SIGKILL");
    await c.destroy({ force: true });
    await hooksDone(c.name);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(cgroup)).toBe(false);
  });
});
