/**
 * sysvinit as PID 1: Debian bookworm built with `init: "sysvinit"` (cached
 * like the systemd image), booting to runlevel 2 with a getty on its
 * console, powered off by SIGPWR (its inittab's powerwait entry).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container, ImageStore } from "../../src/index.js";
import { linkCachedImage } from "../helpers/images.js";
import { cleanupAll, debianSkipReason, runtime, stateRoot, uniqueName } from "../helpers/env.js";

afterAll(async () => {
  await cleanupAll();
  // The link to the cached image goes (the cache keeps the image).
  if (!skip) await new ImageStore(runtime().root).remove(TAG).catch(() => undefined);
});

const skip = debianSkipReason();
const TAG = "debian/bookworm:sysvinit";

describe.skipIf(skip !== undefined)(`Debian with sysvinit${skip ? ` (skipped: ${skip})` : ""}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await linkCachedImage(stateRoot(), { distro: "debian", release: "bookworm", init: "sysvinit" }, TAG, true);
  }, 600_000);

  it("boots to runlevel 2 with a console getty, and powers off on SIGPWR", async () => {
    const c = await Container.create(uniqueName("sysv"), { image: TAG, stopTimeout: 10_000, ready: { exec: ["/bin/sh", "-c", "/sbin/runlevel | grep -q ' 2$'"] } }, runtime());
    try {
      const eff = c.effectiveConfig();
      expect([eff.initKind, eff.haltSignal, eff.console]).toEqual(["sysvinit", "SIGPWR", true]);
      await c.start({ wait: "ready", readyTimeout: 60_000 });
      let log = "";
      for (let i = 0; i < 100 && !/login:/.test(log); i++) {
        await sleep(50);
        log = (await c.consoleLog()).toString();
      }
      expect(log).toMatch(/INIT: Entering runlevel: 2/);
      expect(log).toMatch(/login:/);
      expect(await c.stop()).toEqual({ code: null, signal: "SIGINT", reason: "halt" });
    } finally {
      await c.destroy({ force: true });
    }
  });
});
