import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { CgroupTree } from "./cgroup2.js";
import { findCgroup2, parseMountInfo, v1Controllers } from "./mountinfo.js";

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const PURE = `29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
300 29 0:26 /warren/x /mnt/some\\040dir rw - cgroup2 cgroup2 rw
`;

describe("cgroup2 discovery", () => {
  it("finds the unified mount on a hybrid host and names the v1 controllers", () => {
    const e = parseMountInfo(HYBRID);
    expect(findCgroup2(e)?.mountPoint).toBe("/sys/fs/cgroup/unified");
    expect(v1Controllers(e)).toEqual(["cpu", "memory", "pids"]);
  });

  it("prefers /sys/fs/cgroup on a pure v2 host and ignores bind mounts of subtrees", () => {
    const e = parseMountInfo(PURE);
    expect(e[1]?.mountPoint).toBe("/mnt/some dir");
    expect(findCgroup2(e)?.mountPoint).toBe("/sys/fs/cgroup");
    expect(v1Controllers(e)).toEqual([]);
  });

  it("returns nothing without cgroup2", () => {
    expect(findCgroup2(parseMountInfo("1 0 0:1 / / rw - ext4 /dev/vda rw\n"))).toBeUndefined();
  });
});

describe("CgroupTree on a plain directory", () => {
  it("creates and removes a container's directory and the empty subtree", async () => {
    const mount = mkdtempSync(join(tmpdir(), "cgtree-"));
    try {
      const t = new CgroupTree(mount, "warren-t");
      const dir = await t.create("c1");
      expect(dir).toBe(join(mount, "warren-t", "c1"));
      writeFileSync(join(dir, "cgroup.events"), "populated 0\nfrozen 0\n");
      expect(await t.populated("c1")).toBe(false);
      mkdirSync(join(dir, ".exec"));
      rmSync(join(dir, "cgroup.events")); // rmdir on a real cgroupfs ignores the interface files
      await t.remove("c1");
      expect(readdirSync(join(mount, "warren-t"))).toEqual([]);
      t.removeSubtreeIfEmpty();
      expect(readdirSync(mount)).toEqual([]);
      expect(() => new CgroupTree(mount, "../x")).toThrow();
    } finally {
      rmSync(mount, { recursive: true, force: true });
    }
  });
});
