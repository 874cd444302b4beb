/**
 * The process test/container/concurrent-kill.test.ts kills: it starts and
 * stops its 8 containers over and over, all at the same time, so that a
 * kill lands while several spawns are between clone and "go" (argv: root,
 * rootfs). Prints "running" once the first round is under way.
 */
import { Container } from "../../src/index.js";

const [root, rootfs] = process.argv.slice(2) as [string, string];
const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
// The containers of an earlier (killed) round are taken over, stopped first.
const cs = await Promise.all(
  Array.from({ length: 8 }, async (_, i) => {
    const old = await Container.get(`k${i}`, { root }).catch(() => undefined);
    if (old) {
      await old.stop({ timeout: 0 });
      return old;
    }
    return Container.create(`k${i}`, { rootfs: { path: rootfs, mode: "ro" }, init: IDLE, stopTimeout: 0 }, { root });
  }),
);
console.log("running");
for (;;) {
  await Promise.all(cs.map((c) => c.start()));
  await Promise.all(cs.map((c) => c.stop({ timeout: 0 })));
}
