/**
 * warren inside warren inside warren: level 1 from this host, level 2
 * started through the API from inside level 1, level 3 from inside level 2
 * (test/nesting/guest/nest.mts). Each level's id range lies inside its
 * parent's, each has namespaces of its own, the innermost (warren's
 * defaults) is as confined as a top-level container, and stopping level 1
 * takes everything below it down, leaving nothing on the host (the suite's
 * leftover check).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { runtime, uniqueName } from "../helpers/env.js";

const repo = resolve(import.meta.dirname, "../..");
const made: Container[] = [];

afterAll(async () => {
  for (const c of made) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
});

describe("nesting", () => {
  it("runs warren three levels deep, each range inside its parent's, and stops it all from the top", async () => {
    const c = await Container.create(
      uniqueName("nest"),
      {
        nesting: true,
        idmap: { size: 1_000_000 },
        init: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"],
        stopTimeout: 1000,
        mounts: [{ type: "bind", source: repo, target: "/opt/warren", readonly: true }],
      },
      runtime(),
    );
    made.push(c);
    await c.start();
    const r = await c.execOutput(["node", "--import", "tsx", "/opt/warren/test/nesting/guest/nest.mts", "1", "3"], { cwd: "/opt/warren" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const l1 = JSON.parse(r.stdout.trim().split("\n").pop()!);
    const l2 = l1.child;
    const l3 = l2.child;
    expect([l1.level, l2.level, l3.level]).toEqual([1, 2, 3]);

    // uid_map lines: [inside, outside, count]; outside is in the parent's ids.
    expect(l1.uidMap).toEqual([0, c.idmap!.hostUid, 1_000_000]);
    expect(l2.uidMap[0]).toBe(0);
    expect(l2.uidMap[2]).toBe(300_000);
    expect(l2.uidMap[1]).toBeGreaterThanOrEqual(65536); // above level 1's own ids
    expect(l2.uidMap[1] + l2.uidMap[2]).toBeLessThanOrEqual(1_000_000);
    expect(l3.uidMap).toEqual([0, expect.any(Number), 65536]);
    expect(l3.uidMap[1]).toBeGreaterThanOrEqual(65536);
    expect(l3.uidMap[1] + 65536).toBeLessThanOrEqual(300_000);

    // Namespaces of its own at every level.
    for (const ns of ["pid", "user", "net", "mnt", "uts", "ipc", "cgroup"]) {
      expect(new Set([l1.ns[ns], l2.ns[ns], l3.ns[ns]]).size, ns).toBe(3);
    }
    // Level 1's processes left its cgroup namespace's root for a leaf, so
    // that the limit it gave level 2 applies there.
    expect(l1.evacuated).toBe(true);
    expect(l2.hugetlbMax).toBe(String(8 << 20));
    expect(l3.trueCode).toBe(0);
    expect(l3.pid1).toMatch(/^0 \/bin\/sh -c trap/);
    // The innermost, with warren's defaults, is as confined as a top-level one.
    expect(l3.devLxc).toMatch(/^[12] .*No such file or directory/);
    expect(l3.optWarren).toMatch(/^[12] .*No such file or directory/);
    expect(l3.timerList).toBe("0 0"); // masked with /dev/null
    expect(l3.maxDepth).toMatch(/^[12] .*(Permission denied|Read-only file system)/);
    expect(l3.procMount).toMatch(/^1 unshare: mount \/proc failed: Operation not permitted/);

    // Stopping level 1 takes levels 2 and 3 down; destroy leaves no cgroup.
    const cgroup = c.cgroupPath;
    await c.stop({ timeout: 0 });
    await c.destroy();
    expect(existsSync(cgroup)).toBe(false);
  }, 180_000);

  it("a nesting container with the default 65536 ids has none to give: a nested create says so", async () => {
    const c = await Container.create(
      uniqueName("nest-small"),
      { nesting: true, init: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"], stopTimeout: 1000, mounts: [{ type: "bind", source: repo, target: "/opt/warren", readonly: true }] },
      runtime(),
    );
    made.push(c);
    await c.start();
    const r = await c.execOutput(["node", "--import", "tsx", "/opt/warren/test/nesting/guest/nest.mts", "--try-create"], { cwd: "/opt/warren" });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.name).toBe("StateError");
    expect(out.message).toMatch(/no free host id range of 65536 ids left \(0 ranges .*this user namespace maps 65536 ids .*idmap: \{size: N\}/);
    await c.stop({ timeout: 0 });
  }, 60_000);
});
