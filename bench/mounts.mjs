/**
 * Destroy with many mounts (bench/run.mjs section 12): a container from an
 * image whose processes made `dirs` directories in its writable layer (the
 * mount points a user's loop of `mkdir /mnt/$i; mount … /mnt/$i` leaves)
 * and 2^`doublings` mounts (a tmpfs bound recursively into itself: each
 * bind copies every mount below it, so thousands take a few commands where
 * one `mount` process each would take seconds). Timed per run: `stop()`
 * (the kernel tears the mount namespace down as the last process exits),
 * `destroy()` (its directory moved into the root's trash and removed from
 * there), and what a `Container.gc()` after it still takes (nothing left
 * for it but bookkeeping). Medians of `runs` (default 5).
 * @module
 */
import { summarize } from "./stats.mjs";

const IDLE_INIT = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

function script(dirs, doublings) {
  return [
    "set -e",
    "cd /mnt",
    `seq 0 ${dirs - 1} | xargs mkdir`,
    "mount -t tmpfs t /mnt/0",
    "mkdir /mnt/0/x",
    `for i in $(seq ${doublings}); do mount --rbind /mnt/0 /mnt/0/x; done`,
    "grep -c . /proc/self/mountinfo",
  ].join("\n");
}

export async function measureMountsDestroy({ lib, runtime, image, runs = 5, dirs = 5000, doublings = 12, live, log, check }) {
  const { Container } = lib;
  const stop = [];
  const destroy = [];
  const gone = [];
  let mounts = 0;
  for (let i = 0; i < runs; i++) {
    check();
    const c = await Container.create(`bench-mounts-${i}`, { image, init: IDLE_INIT, stopTimeout: 3000 }, runtime);
    live.add(c);
    await c.start();
    const out = await c.execOutput(["/bin/sh", "-c", script(dirs, doublings)]);
    if (out.code !== 0) throw new Error(`making the mounts failed: ${out.stderr.trim()}`);
    mounts = Number(out.stdout.trim());
    let t = performance.now();
    await c.stop();
    stop.push(performance.now() - t);
    t = performance.now();
    await c.destroy();
    destroy.push(performance.now() - t);
    live.delete(c);
    t = performance.now();
    await Container.gc(runtime);
    gone.push(performance.now() - t);
  }
  log(`  destroy with ${mounts} mounts: ${runs} runs`);
  return { dirs, mounts, stop: summarize(stop), destroy: summarize(destroy), files_gone: summarize(gone) };
}

export function mountsLines(m) {
  if (!m) return [];
  if (m.error) return [`destroy with many mounts: ${m.error}`];
  const ms = (s) => `${s.median_ms.toFixed(1)} ms`;
  return [
    `destroy with ${m.mounts} mounts and ${m.dirs} mount points in the writable layer (medians of ${m.stop.runs}): ` +
      `stop ${ms(m.stop)}, destroy ${ms(m.destroy)}, then the files gone (gc) ${ms(m.files_gone)}`,
  ];
}
