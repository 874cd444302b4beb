import { describe, expect, it } from "vitest";

import { ConfigError } from "../errors.js";
import { validateName } from "./constants.js";
import { resolveConfig } from "./resolve.js";
import { signalName, signalNumber } from "./signals.js";
import { configIssues } from "./testing.js";

const issues = configIssues;

describe("resolveConfig", () => {
  it("fills defaults: all namespaces but time, a user namespace, the deny list; halt signal and console left to the init found", () => {
    const c = resolveConfig({});
    expect(c.namespaces).toEqual({ user: true, pid: true, net: true, uts: true, ipc: true, cgroup: true, time: false });
    expect(c.user).toEqual({ uid: 0, gid: 0, groups: [] });
    expect(c.haltSignal).toBeUndefined();
    expect(c.console).toBeUndefined();
    expect(c.onReboot).toBe("restart");
    expect(c.restart).toBe("no");
    expect(c.rootfs).toBeUndefined();
    expect(c.seccomp && "deny" in c.seccomp && c.seccomp.deny).toContain("kexec_load");
    expect(c.capabilities).toEqual({});
    expect(c.oomScoreAdj).toBeUndefined();
  });

  it("takes a restart policy, but not for an ephemeral container", () => {
    expect(resolveConfig({ restart: "on-failure" }).restart).toBe("on-failure");
    expect(issues({ restart: "always", ephemeral: true })).toEqual([
      { path: "restart", message: "an ephemeral container is destroyed when it stops; it cannot be restarted" },
    ]);
    expect(issues({ restart: "sometimes" } as never).map((i) => i.path)).toEqual(["restart"]);
  });

  it("takes capabilities.keep or .drop (canonical names), not both, and oomScoreAdj within -1000..1000", () => {
    expect(resolveConfig({ capabilities: { drop: ["sys_admin", "CAP_MKNOD", "net_raw"] } }).capabilities).toEqual({ drop: ["CAP_SYS_ADMIN", "CAP_MKNOD", "CAP_NET_RAW"] });
    expect(resolveConfig({ capabilities: { keep: ["chown"] } }).capabilities).toEqual({ keep: ["CAP_CHOWN"] });
    expect(issues({ capabilities: { keep: ["chown"], drop: ["mknod"] } })).toEqual([
      { path: "capabilities.keep", message: "give either keep (exactly these) or drop (in addition to the defaults), not both" },
    ]);
    expect(issues({ capabilities: { keep: ["CAP_SYS_ADMIN", "ALL"] } })).toEqual([
      { path: "capabilities.keep[1]", message: 'unknown capability "ALL" (names like CAP_SYS_ADMIN or sys_admin)' },
    ]);
    expect(issues({ capabilities: { drop: ["CAP_SYS_ADMIN "] } })[0]?.path).toBe("capabilities.drop[0]");
    expect(resolveConfig({ oomScoreAdj: -1000 }).oomScoreAdj).toBe(-1000);
    expect(issues({ oomScoreAdj: 1001 })[0]?.path).toBe("oomScoreAdj");
    expect(issues({ oomScoreAdj: -1000.5 })[0]?.path).toBe("oomScoreAdj");
  });

  it("refuses an unknown system call in seccomp.deny up front, naming its index", () => {
    expect(issues({ seccomp: { deny: ["mount", "kexec_lod", ""] } })).toEqual([
      { path: "seccomp.deny[1]", message: 'unknown system call "kexec_lod"' },
      { path: "seccomp.deny[2]", message: 'unknown system call ""' },
    ]);
    // A call of another arch's table is known (the list is shared across hosts).
    expect(resolveConfig({ seccomp: { deny: ["vm86", "umount2"] } }).seccomp).toMatchObject({ deny: ["vm86", "umount2"] });
    expect(issues({ seccomp: { deny: ["constructor"] } })[0]?.path).toBe("seccomp.deny[0]");
  });

  it("refuses a cwd or mount target that names a process's /proc links (the way out of the root), naming the field", () => {
    for (const p of ["/proc/self/fd/7", "/proc/thread-self/cwd", "/proc/1/root", "//proc/./self", "/dev/fd/3", "/dev/stdin"]) {
      expect(issues({ cwd: p })[0]?.path, p).toBe("cwd");
      expect(issues({ mounts: [{ type: "tmpfs", target: p }] })[0]?.path, p).toBe("mounts[0].target");
    }
    expect(issues({ mounts: [{ type: "bind", source: "/a", target: "/proc/self/fd/3" }] })[0]?.path).toBe("mounts[0].target");
    // Places in the tree are fine, /proc and /dev themselves included.
    for (const p of ["/proc", "/proc/sys", "/dev", "/dev/shm", "/srv/proc/self", "/selfish"]) expect(resolveConfig({ cwd: p }).cwd).toBe(p);
  });

  it("normalizes a rootfs string to {path, mode: rw}", () => {
    expect(resolveConfig({ rootfs: "/srv/r" }).rootfs).toEqual({ path: "/srv/r", mode: "rw", idmap: false });
  });

  it("allows idmapped mounts only with a user namespace (an overlay's lower layer too)", () => {
    expect(issues({ rootfs: { path: "/r", idmap: true }, namespaces: { user: false } })[0]?.path).toBe("rootfs.idmap");
    expect(resolveConfig({ rootfs: { path: "/r", mode: "overlay", idmap: true } }).rootfs).toEqual({ path: "/r", mode: "overlay", idmap: true });
    expect(issues({ mounts: [{ type: "bind", source: "/a", target: "/b", idmap: true }], namespaces: { user: false } })[0]?.path).toBe("mounts[0].idmap");
  });

  it("names unknown and invalid fields with their paths", () => {
    expect(issues({ nope: 1 })).toEqual([{ path: "nope", message: "unknown field" }]);
    expect(issues({ namespaces: { usr: true } })).toEqual([{ path: "namespaces.usr", message: "unknown field" }]);
    expect(issues({ rootfs: "rel" })[0]).toMatchObject({ path: "rootfs", message: "must be an absolute path" });
    expect(issues({ mounts: [{ type: "bind", source: "/a", target: "b" }] })[0]?.path).toBe("mounts[0].target");
    expect(issues({ haltSignal: "SIGNOPE" })[0]?.path).toBe("haltSignal");
    expect(issues({ capabilities: { drop: ["CAP_NOPE"] } })[0]?.path).toBe("capabilities.drop[0]");
    expect(issues({ rootfs: { path: "/a,b", mode: "overlay" } })[0]?.path).toBe("rootfs.path");
    expect(issues({ idmap: { hostUid: 1, hostGid: 1 }, namespaces: { user: false } })[0]?.path).toBe("idmap");
  });

  it("accepts rlimits as numbers, 'unlimited' or {soft, hard}", () => {
    const c = resolveConfig({ rlimits: { nofile: 1024, core: "unlimited", nproc: { soft: 10, hard: 20 } } });
    expect(c.rlimits).toEqual({ nofile: { soft: 1024, hard: 1024 }, core: { soft: "unlimited", hard: "unlimited" }, nproc: { soft: 10, hard: 20 } });
  });
});

describe("validateName", () => {
  it("accepts LXC-style names and rejects paths", () => {
    expect(validateName("web-1.prod_a")).toBe("web-1.prod_a");
    for (const bad of ["", "a/b", "../x", ".hidden", "-x", "a".repeat(64), 5]) {
      expect(() => validateName(bad)).toThrow(ConfigError);
    }
  });
});

describe("signals", () => {
  it("knows real-time signals the way glibc numbers them", () => {
    expect(signalNumber("SIGTERM")).toBe(15);
    expect(signalNumber("term")).toBe(15);
    expect(signalNumber("SIGRTMIN+3")).toBe(37);
    expect(signalNumber("SIGRTMAX-1")).toBe(63);
    expect(signalNumber("SIGRTMIN+40")).toBeUndefined();
    expect(signalNumber("SIGNOPE")).toBeUndefined();
    expect(signalName(9)).toBe("SIGKILL");
    expect(signalName(37)).toBe("SIGRTMIN+3");
  });
});
