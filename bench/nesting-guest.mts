/**
 * The timed half of bench/nesting.mjs, run once on the host (level 1
 * containers) and once inside a nesting container (level 2): N starts of
 * a container whose init is /bin/true (`await c.start(); await c.exited`),
 * on the embedded default rootfs (the /usr of wherever it runs), after 5
 * untimed ones. Prints the samples as one JSON line.
 *
 *   node --import tsx bench/nesting-guest.mts ROOT RUNS
 */
import { Container } from "../src/index.js";

const [root, runsArg] = process.argv.slice(2);
const runs = Number(runsArg);
const c = await Container.create("bench-nest-true", { init: ["/bin/true"] }, { root: root! });
const samples: number[] = [];
try {
  for (let i = 0; i < runs + 5; i++) {
    const t0 = performance.now();
    await c.start();
    await c.exited;
    if (i >= 5) samples.push(performance.now() - t0);
  }
} finally {
  await c.destroy({ force: true });
}
console.log(JSON.stringify(samples));
