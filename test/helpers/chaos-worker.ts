/**
 * The process the crash-safety test kills: it runs random multi-step
 * operations on a few containers of one state root, printing each step
 * before it begins, until it is killed with SIGKILL (argv: root, seed).
 */
import { Container } from "../../src/index.js";
import type { ContainerConfig } from "../../src/config/schema.js";

const [root, seedText, rootfs] = process.argv.slice(2) as [string, string, string];
let seed = Number(seedText) >>> 0 || 1;
/** xorshift: the same seed, the same run (a failure names its seed). */
function rand(n: number): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
}

const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
const names = ["c0", "c1", "c2", "c3"];
const opts = { root };

function configFor(): ContainerConfig {
  const base: ContainerConfig = { init: IDLE, stopTimeout: 2000 };
  const nic = rand(2) === 0 ? { nics: [{ type: "bridged" as const, subnet: "10.231.7.0/24" }] } : {};
  switch (rand(3)) {
    case 0:
      return { ...base, ...nic, image: "busybox" };
    case 1:
      return { ...base, ...nic, rootfs: { path: rootfs, mode: "ro" } };
    default:
      return { ...base, ...nic };
  }
}

async function step(): Promise<void> {
  const name = names[rand(names.length)]!;
  const c = await Container.get(name, opts).catch(() => undefined);
  const op = c ? ["start", "exec", "snapshot", "stop", "destroy", "clone"][rand(6)]! : "create";
  process.stdout.write(`${op} ${name}\n`);
  if (!c) {
    await Container.create(name, configFor(), opts);
    return;
  }
  switch (op) {
    case "start":
      if (c.state !== "running") await c.start();
      break;
    case "exec":
      if (c.state === "running") await c.execOutput(["true"]);
      break;
    case "snapshot":
      if (c.config.image) await c.snapshot(`s${rand(3)}`);
      break;
    case "stop":
      await c.stop({ timeout: 2000 });
      break;
    case "destroy":
      await c.destroy({ force: true });
      break;
    case "clone": {
      const to = names[rand(names.length)]!;
      if (c.config.image && to !== name) await c.clone(to);
      break;
    }
  }
}

for (;;) {
  // Errors are expected (a name taken, a snapshot that exists): the test is about what a kill leaves.
  await step().catch((e: Error) => process.stdout.write(`error ${e.message.split("\n")[0]}\n`));
}
