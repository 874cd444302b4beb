import { describe, expect, it } from "vitest";

import { resolveConfig } from "../config/resolve.js";
import { effectiveConfig } from "./effective.js";
import { findLxcfsMount, LXCFS_PATHS, lxcfsBinds, lxcfsMissing, probeLxcfs, resolveLxcfs, type LxcfsProbe } from "./lxcfs.js";

// This host's mountinfo, trimmed: a hybrid layout and lxcfs at its Debian place.
const HOST = [
  "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
  "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
  "46 26 0:42 / /var/lib/lxcfs rw,nosuid,nodev,relatime - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other",
].join("\n");

const served = new Set(["/var/lib/lxcfs/proc", ...LXCFS_PATHS.filter((p) => p !== "/proc/loadavg").map((p) => `/var/lib/lxcfs${p}`)]);
const stat = (p: string) => served.has(p);

describe("lxcfs", () => {
  it("finds the mount by its fs type, wherever it is, and unescapes the path", () => {
    expect(findLxcfsMount(HOST)).toBe("/var/lib/lxcfs");
    expect(findLxcfsMount("7 1 0:9 / /srv/my\\040lxcfs rw - fuse.lxcfs lxcfs rw,allow_other\n")).toBe("/srv/my lxcfs");
    // A bind of one of its files is not the mount; another FUSE filesystem is not lxcfs.
    expect(findLxcfsMount("7 1 0:9 /proc/meminfo /x rw - fuse.lxcfs lxcfs rw\n8 1 0:10 / /y rw - fuse.sshfs h rw\n")).toBeUndefined();
  });

  it("binds what the mount serves, and says why when it is absent or dead", () => {
    const probe = probeLxcfs(HOST, stat);
    expect(probe).toEqual({ ok: true, views: { mount: "/var/lib/lxcfs", paths: LXCFS_PATHS.filter((p) => p !== "/proc/loadavg") } });
    expect(probeLxcfs(HOST.split("\n").slice(0, 4).join("\n"), stat)).toMatchObject({ ok: false, errno: "ENOENT", reason: expect.stringMatching(/no lxcfs mount/) });
    expect(probeLxcfs(HOST, () => "ENOTCONN")).toEqual({
      ok: false,
      errno: "ENOTCONN",
      reason: "the lxcfs mount `/var/lib/lxcfs` does not answer (`/var/lib/lxcfs/proc`: ENOTCONN)",
    });
  });

  it("resolves auto, true and false against the probe", () => {
    const on = probeLxcfs(HOST, stat);
    const off: LxcfsProbe = { ok: false, errno: "ENOENT", reason: "none" };
    expect(resolveLxcfs("auto", on)).toEqual((on as { views: unknown }).views);
    expect(resolveLxcfs(true, on)).toEqual((on as { views: unknown }).views);
    expect(resolveLxcfs(false, on)).toBe(false);
    expect(resolveLxcfs("auto", off)).toBe(false);
    expect(resolveLxcfs("auto", undefined)).toBe(false);
    expect(lxcfsMissing(true, off)).toEqual({ errno: "ENOENT", reason: "none" });
    expect(lxcfsMissing("auto", off)).toBeUndefined();
    expect(lxcfsMissing(true, on)).toBeUndefined();
  });

  it("shows the resolved views in the effective config", () => {
    const config = resolveConfig({});
    expect(config.lxcfs).toBe("auto");
    const base = { name: "t", config, rootfs: { kind: "directory", path: "/r", mode: "rw" } as const, initKind: "other" as const };
    expect(effectiveConfig({ ...base, lxcfs: probeLxcfs(HOST, stat) }).lxcfs).toMatchObject({ mount: "/var/lib/lxcfs" });
    expect(effectiveConfig(base).lxcfs).toBe(false);
    expect(effectiveConfig({ ...base, config: resolveConfig({ lxcfs: false }), lxcfs: probeLxcfs(HOST, stat) }).lxcfs).toBe(false);
  });

  it("binds files over proc's and the cpu directory over sysfs's", () => {
    expect(lxcfsBinds({ mount: "/m", paths: ["/proc/uptime", "/sys/devices/system/cpu"] })).toEqual([
      { source: "/m/proc/uptime", target: "/proc/uptime", isDir: false },
      { source: "/m/sys/devices/system/cpu", target: "/sys/devices/system/cpu", isDir: true },
    ]);
  });
});
