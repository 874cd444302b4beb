/**
 * A Debian container per test file, as testcontainers gives a database per
 * suite: booted once before the file's first test that asks for it,
 * destroyed after its last, by `await using` in a file-scoped fixture.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

import { Container, ImageStore } from "warren";
import { test as base } from "vitest";

/** warren's state root: $WARREN_ROOT, else its default. */
export const root = process.env.WARREN_ROOT ?? "/var/lib/warren";

/**
 * Waits until `probe` resolves true (it is called again every 200 ms while
 * it resolves false or throws), or fails after `timeoutMs` with its last error.
 */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
    await sleep(200);
  }
}

/**
 * A running Debian bookworm container: systemd has said READY=1 (`wait:
 * "ready"`), and the ready probe saw the system settle (`systemctl
 * is-system-running` says `running`, or `degraded` for a unit a container
 * cannot run). `ephemeral`: if the test process dies, the container goes too.
 */
export async function bootDebian(): Promise<Container> {
  const store = new ImageStore(root);
  await store.get("debian/bookworm").catch(() => store.build("debian/bookworm")); // debootstrap once, cached after that
  const c = await Container.create(`test-${randomBytes(4).toString("hex")}`, { image: "debian/bookworm", ephemeral: true }, { root });
  try {
    await c.start({ wait: "ready" });
    await waitFor(async () => /^(running|degraded)$/m.test((await c.execOutput(["systemctl", "is-system-running"])).stdout), 60_000, `container ${c.name}`);
    return c;
  } catch (e) {
    await c[Symbol.asyncDispose]();
    throw e;
  }
}

/** `test` with a `debian` fixture: one container for the whole file. */
export const test = base.extend<{ debian: Container }>({
  debian: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      await using c = await bootDebian(); // stopped and destroyed when the file's tests are done
      await use(c);
    },
    { scope: "file" },
  ],
});
