/**
 * Inits other than systemd on a console: busybox init (its askfirst shell
 * on /dev/console, SIGUSR2 to power off), and a plain shell.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";

import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Container } from "../../src/index.js";
import { busybox, cleanupAll, rootfs, stateRoot, uniqueName } from "../helpers/env.js";

afterAll(cleanupAll);

async function until(read: () => string | Promise<string>, re: RegExp): Promise<string> {
  let text = "";
  for (let i = 0; i < 100; i++) {
    text = await read();
    if (re.test(text)) return text;
    await sleep(30);
  }
  expect(text).toMatch(re);
  return text;
}

describe("other inits", () => {
  it("busybox init: a console shell with job control, powered off by its own signal", async () => {
    const c = await busybox("bbinit", { init: ["/sbin/init"], console: true, haltSignal: undefined, stopTimeout: 5000 });
    await c.start();
    expect(c.effectiveConfig().haltSignal).toBe("SIGUSR2");
    await until(async () => (await c.consoleLog()).toString(), /Please press Enter to activate this console/);
    const con = await c.console();
    let out = "";
    con.on("data", (b: Buffer) => (out += b.toString()));
    con.write("\r");
    await until(() => out, /# /);
    // The shell got /dev/console as its controlling terminal: no "job control turned off".
    expect(out).not.toMatch(/job control turned off/);
    con.write("echo $((6*7))\r");
    await until(() => out, /\r\n42\r\n/);
    con.resize(100, 30);
    con.write("stty size\r");
    await until(() => out, /30 100/);
    con.end();
    // Detached, the console goes on and keeps what was said.
    expect((await c.consoleLog()).toString()).toMatch(/30 100/);
    expect(await c.stop()).toEqual({ code: null, signal: "SIGINT", reason: "halt" });
  });

  it("keeps its console under a state directory too long for a unix socket address", async () => {
    const base = mkdtempSync(join(tmpdir(), "warren-long-"));
    chmodSync(base, 0o755); // searchable: the container's root must reach its state directory
    const root = join(base, "a-state-root-whose-path-is-long".repeat(4));
    const c = await Container.create(uniqueName("longpath"), { rootfs: { path: rootfs(), mode: "ro" }, init: ["/sbin/init"], stopTimeout: 5000 }, { root });
    try {
      expect(join(c.stateDir, "monitor.sock").length).toBeGreaterThan(108);
      await c.start();
      await until(async () => (await c.consoleLog()).toString(), /Please press Enter/);
      expect(await c.stop()).toMatchObject({ reason: "halt" });
    } finally {
      await c.destroy({ force: true });
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("a plain shell init: its output is kept, its exit code is the container's", async () => {
    const c = await busybox("shinit", { init: ["/bin/sh", "-c", "echo booted; read line; echo got:$line; exit 4"], console: true });
    await c.start();
    await until(async () => (await c.consoleLog()).toString(), /booted/);
    const con = await c.console({ replay: true });
    let out = "";
    con.on("data", (b: Buffer) => (out += b.toString()));
    await until(() => out, /booted/);
    con.write("x\r");
    expect(await c.exited).toEqual({ code: 4, signal: null, reason: "exit" });
    await until(() => out, /got:x/);
    con.destroy();
    // Stopped, the console's last output is still there.
    expect((await c.consoleLog()).toString()).toMatch(/booted\r\nx\r\ngot:x/);
  });
});
