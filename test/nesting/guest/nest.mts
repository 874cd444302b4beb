/**
 * Runs INSIDE a warren container (test/nesting/nested-warren.test.ts): warren
 * from the read-only bind at /opt/warren, node from the container's own
 * /usr. At level N < MAX it creates and starts level N+1 through the API
 * and runs itself there (level N+1 is nesting too while N+1 < MAX); the
 * innermost level, started with warren's defaults, runs /bin/true, an
 * exec, and reports its namespaces and what it may not do. Every level is
 * left running: the host stops level 1, which takes the rest down.
 * Prints one JSON line: this level's report with its child's inside.
 */
import { existsSync, readFileSync, readlinkSync } from "node:fs";

import { Container, type ContainerConfig } from "../../../src/index.js";

if (process.argv[2] === "--try-create") {
  // What a nested create says when this container has no ids to spare.
  process.env.WARREN_ID_RANGES = "/tmp/warren-ids-try.jsonl";
  try {
    await Container.create("inner", {}, { root: "/tmp/warren-try" });
    console.log(JSON.stringify({ created: true }));
  } catch (e) {
    console.log(JSON.stringify({ name: (e as Error).name, message: (e as Error).message }));
  }
  process.exit(0);
}

const [level, max] = process.argv.slice(2).map(Number) as [number, number];
const NS = ["pid", "user", "net", "mnt", "uts", "ipc", "cgroup"] as const;
const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

const own = {
  level,
  uidMap: readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/).map(Number),
  ns: Object.fromEntries(NS.map((n) => [n, readlinkSync(`/proc/self/ns/${n}`)])),
  // The limit its parent set, seen at its cgroup namespace's root.
  hugetlbMax: existsSync("/sys/fs/cgroup/hugetlb.2MB.max") ? readFileSync("/sys/fs/cgroup/hugetlb.2MB.max", "utf8").trim() : undefined,
};

async function child(): Promise<unknown> {
  const next = level + 1;
  const nesting = next < max;
  const config: ContainerConfig = {
    init: IDLE,
    stopTimeout: 1000,
    ...(nesting
      ? { nesting: true, idmap: { size: 300_000 }, mounts: [{ type: "bind", source: "/opt/warren", target: "/opt/warren", readonly: true }] }
      : {}),
    // A limit set from inside a container: its processes first leave the
    // root of its cgroup namespace, so that controllers reach children.
    ...(level === 1 ? { limits: { hugetlb: { "2MB": "8MiB" } } } : {}),
  };
  // This level's own state and id record, on its own filesystem.
  process.env.WARREN_ID_RANGES = `/tmp/warren-ids-l${level}.jsonl`;
  const c = await Container.create(`l${next}`, config, { root: `/tmp/warren-l${level}` });
  await c.start();
  evacuated = existsSync("/sys/fs/cgroup/warren.init") && readFileSync("/sys/fs/cgroup/cgroup.procs", "utf8").trim() === "";
  if (nesting) {
    const r = await c.execOutput(["node", "--import", "tsx", "/opt/warren/test/nesting/guest/nest.mts", String(next), String(max)], { cwd: "/opt/warren" });
    if (r.code !== 0) throw new Error(`level ${next} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  }
  // The innermost, with warren's defaults.
  const t = await c.execOutput(["/bin/true"]);
  const sh = async (cmd: string) => {
    const r = await c.execOutput(["/bin/sh", "-c", cmd]);
    return `${r.code} ${(r.stdout + r.stderr).trim()}`;
  };
  return {
    level: next,
    trueCode: t.code,
    uidMap: (await sh("cat /proc/self/uid_map")).split(/\s+/).slice(1).map(Number),
    ns: Object.fromEntries(await Promise.all(NS.map(async (n) => [n, (await sh(`readlink /proc/self/ns/${n}`)).slice(2)]))),
    pid1: await sh("cat /proc/1/cmdline | tr '\\0' ' '"),
    // No fully visible proc, no host (level N) paths, limits not writable.
    devLxc: await sh("ls /dev/.lxc"),
    optWarren: await sh("ls /opt/warren"),
    timerList: await sh("wc -c < /proc/timer_list"),
    maxDepth: await sh("echo 5 > /sys/fs/cgroup/cgroup.max.depth"),
    // A runtime inside it (a new user namespace) may not mount proc: no
    // fully visible one is there for it, as in a top-level container.
    procMount: await sh("unshare --user --map-root-user --pid --fork --mount --mount-proc true"),
  };
}

let evacuated: boolean | undefined;
const below = level < max ? await child() : undefined;
console.log(JSON.stringify({ ...own, evacuated, child: below }));
