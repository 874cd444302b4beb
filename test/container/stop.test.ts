/**
 * stop() with an init that has no handler for the halt signal: a pid
 * namespace's init never receives such a signal, so waiting for it is
 * pointless; stop() goes straight to SIGKILL instead of waiting out the timeout.
 */
import { afterAll, describe, expect, it } from "vitest";

import { receivesSignal } from "../../src/container/stop.js";
import { busybox, cleanupAll, startReady, trappingInit } from "../helpers/env.js";

afterAll(cleanupAll);

describe("stop", () => {
  it("reads whether a process receives a signal (handles, blocks or waits for it)", () => {
    const handler = () => undefined;
    process.on("SIGUSR2", handler);
    try {
      expect(receivesSignal(process.pid, 12)).toBe(true);
    } finally {
      process.off("SIGUSR2", handler);
    }
    expect(receivesSignal(process.pid, 21)).toBe(false); // SIGTTIN: nobody installs that
    expect(receivesSignal(2 ** 22 + 7, 15)).toBeUndefined();
  });

  it("kills at once an init that ignores the halt signal, instead of waiting the timeout", { timeout: 30_000 }, async () => {
    // `sleep` as PID 1 has no SIGTERM handler: the signal is discarded.
    const c = await busybox("nohandler", { init: ["/bin/sleep", "3600"], stopTimeout: 120_000 });
    await c.start();
    const t0 = Date.now();
    const status = await c.stop();
    expect(status).toMatchObject({ signal: "SIGKILL", reason: "kill" });
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it("still waits for an init that handles it", { timeout: 30_000 }, async () => {
    const c = await busybox("handler", { init: trappingInit("TERM", 7), stopTimeout: 20_000 });
    await startReady(c);
    expect(await c.stop()).toMatchObject({ code: 7, reason: "halt" });
  });
});
