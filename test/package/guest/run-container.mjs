// Runs INSIDE the Debian container of test/package/install.test.ts, from the
// clean project that installed the packed tarball: warren as any user gets
// it (`import "warren"`), its addon and helpers from the package's
// prebuilds/. Creates, starts and execs in a container (warren's defaults:
// this container's /usr as its root), then destroys it. Prints one JSON line.
import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import { Container } from "warren";

const pkg = dirname(createRequire(import.meta.url).resolve("warren/package.json"));
process.env.WARREN_ID_RANGES = "/tmp/warren-ids.jsonl";
const c = await Container.create("installed", { init: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"], stopTimeout: 1000 }, { root: "/tmp/warren-state" });
let out;
try {
  await c.start();
  out = await c.execOutput(["/bin/sh", "-c", "echo hello from $(cat /proc/sys/kernel/hostname)"]);
  await c.stop({ timeout: 0 });
} finally {
  await c.destroy({ force: true });
}
const libc = process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl";
// Which files the process has mapped: the prebuilt addon, no build/.
const maps = (await import("node:fs")).readFileSync("/proc/self/maps", "utf8");
console.log(JSON.stringify({
  code: out.code,
  stdout: out.stdout.trim(),
  node: process.version,
  libc,
  build: existsSync(join(pkg, "build")),
  addon: [...new Set(maps.split("\n").map((l) => l.split(/\s+/)[5]).filter((p) => p && p.endsWith(".node")))].map((p) => realpathSync(p)),
}));
