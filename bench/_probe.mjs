const { register } = await import("tsx/esm/api");
register();
const { Container } = await import("../src/index.ts");
import { mkdtempSync, rmSync } from "node:fs";
const root = mkdtempSync("/tmp/warren-probe-");
const BUSYBOX = new URL("../.cache/rootfs/busybox", import.meta.url).pathname;
const c = await Container.create("bench-exec", { rootfs: { path: BUSYBOX, mode: "ro" }, init: ["/bin/sh","-c","trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"] }, { root });
try {
  await c.start();
  console.log(await c.execOutput(["/bin/sh","-c","echo hi; cat /proc/self/cgroup; id"]));
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const p = await c.exec(["/bin/true"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    const st = await p.exited;
    const t1 = performance.now();
    console.log(i, (t1 - t0).toFixed(2), JSON.stringify(st));
  }
  const t0 = performance.now();
  console.log(await c.stop({ timeout: 2000 }), (performance.now() - t0).toFixed(1));
} finally {
  await c.destroy({ force: true }).catch((e) => console.error(e));
  rmSync(root, { recursive: true, force: true });
}
