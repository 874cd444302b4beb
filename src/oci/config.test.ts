import { describe, expect, it } from "vitest";

import { resolveConfig } from "../config/resolve.js";
import { ConfigError } from "../errors.js";
import { ociToWarren, sharesToWeight } from "./config.js";

/** What `runc spec --rootless`-style tools write, trimmed to what matters. */
function baseSpec(): Record<string, any> {
  return {
    ociVersion: "1.2.0",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [10] },
      args: ["/bin/sh", "-c", "echo hi"],
      env: ["PATH=/usr/bin:/bin", "TERM=xterm", "EMPTY="],
      cwd: "/",
      capabilities: { bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_CHOWN"] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 512 }],
      noNewPrivileges: true,
      oomScoreAdj: 100,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "box",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
      { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro"] },
      { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["size=64m", "mode=1777"] },
    ],
    linux: {
      uidMappings: [{ containerID: 0, hostID: 2_000_000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 2_000_000, size: 65536 }],
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "user" }, { type: "cgroup" }, { type: "network", path: "/var/run/netns/n1" }],
      resources: {
        memory: { limit: 268435456, reservation: 134217728, swap: 536870912 },
        cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1" },
        pids: { limit: 64 },
      },
      maskedPaths: ["/proc/kcore"],
      readonlyPaths: ["/proc/sys"],
      sysctl: { "kernel.msgmax": "16384" },
      cgroupsPath: "/machine.slice/box",
    },
  };
}

function issuesOf(spec: unknown): { path: string; message: string }[] {
  try {
    ociToWarren(spec, "/bundles/b");
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

describe("ociToWarren", () => {
  it("translates a typical config.json, leaving the standard mounts to warren", () => {
    const t = ociToWarren(baseSpec(), "/bundles/b");
    expect(t.terminal).toBe(false);
    expect(t.cgroupsPath).toBe("/machine.slice/box");
    expect(t.warnings).toEqual([]);
    expect(t.config).toEqual({
      rootfs: { path: "/bundles/b/rootfs", mode: "ro" },
      init: ["/bin/sh", "-c", "echo hi"],
      env: { PATH: "/usr/bin:/bin", TERM: "xterm", EMPTY: "" },
      cwd: "/",
      user: { uid: 0, gid: 0, groups: [10] },
      noNewPrivileges: true,
      oomScoreAdj: 100,
      rlimits: { nofile: { soft: 512, hard: 1024 } },
      capabilities: { keep: ["CAP_CHOWN", "CAP_KILL"] },
      hostname: "box",
      mounts: [
        { type: "bind", source: "/srv/data", target: "/data", readonly: true, recursive: true, optional: false, idmap: false },
        { type: "tmpfs", target: "/scratch", size: "64m", mode: 0o1777, readonly: false },
      ],
      namespaces: { pid: true, net: { path: "/var/run/netns/n1" }, ipc: true, uts: true, user: true, cgroup: true, time: false },
      idmap: { hostUid: 2_000_000, hostGid: 2_000_000, size: 65536 },
      sysctls: { "kernel.msgmax": "16384" },
      maskedPaths: ["/proc/kcore"],
      readonlyPaths: ["/proc/sys"],
      // No linux.seccomp: no filter, as runc (podman's `seccomp=unconfined`).
      seccomp: false,
      limits: {
        memory: { max: 268435456, high: 134217728, swapMax: 268435456 },
        cpu: { weight: sharesToWeight(1024), max: 0.5, cpus: "0-1" },
        pids: { max: 64 },
      },
    });
    // And warren's own schema takes it.
    expect(() => resolveConfig(t.config)).not.toThrow();
  });

  it("converts cpu.shares as runc does", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
  });

  it("names every field it cannot honour, all at once", () => {
    const spec = baseSpec();
    spec.ociVersion = "0.9";
    spec.linux.namespaces = [{ type: "pid", path: "/proc/1/ns/pid" }, { type: "bogus" }, { type: "user" }];
    spec.linux.seccomp = { defaultAction: "SCMP_ACT_ERRNO", listenerPath: "/run/seccomp-agent.sock" };
    spec.linux.resources.unified = { "memory.high": "1G" };
    spec.mounts.push({ destination: "/mnt/nfs", type: "nfs", source: "server:/x" });
    spec.hooks = { prestart: [{ path: "/bin/true" }] };
    spec.process.rlimits.push({ type: "RLIMIT_BOGUS", soft: 1, hard: 1 });
    expect(issuesOf(spec).map((i) => i.path)).toEqual([
      "ociVersion",
      "process.rlimits[1].type",
      "mounts[9].type",
      "linux.namespaces[0].path",
      "linux.namespaces[1].type",
      "linux.namespaces",
      "linux.resources.unified",
      "linux.seccomp.listenerPath",
    ]);
  });

  it("refuses what warren cannot map: several id mappings, mappings without a user namespace, a missing root", () => {
    const two = baseSpec();
    two.linux.uidMappings.push({ containerID: 65536, hostID: 3_000_000, size: 10 });
    expect(issuesOf(two)).toEqual([{ path: "linux.uidMappings", message: "must be one mapping (warren maps one contiguous range)" }]);
    const noUser = baseSpec();
    noUser.linux.namespaces = noUser.linux.namespaces.filter((n: { type: string }) => n.type !== "user");
    expect(issuesOf(noUser).map((i) => i.path)).toEqual(["linux.uidMappings"]);
    const noRoot = baseSpec();
    delete noRoot.root;
    expect(issuesOf(noRoot).map((i) => i.path)).toEqual(["root.path"]);
  });

  it("warns about what it ignores, and a missing namespace is the host's", () => {
    const spec = baseSpec();
    spec.process.apparmorProfile = "docker-default";
    spec.process.terminal = true;
    spec.linux.namespaces = [{ type: "mount" }];
    delete spec.linux.uidMappings;
    delete spec.linux.gidMappings;
    const t = ociToWarren(spec, "/b");
    expect(t.terminal).toBe(true);
    expect(t.warnings).toEqual(["process.apparmorProfile is ignored (warren does not load AppArmor profiles)"]);
    expect(t.config.namespaces).toEqual({ pid: false, net: false, ipc: false, uts: false, user: false, cgroup: false, time: false });
  });

  it("carries linux.seccomp as a profile warren compiles, refusing what it cannot install", () => {
    const spec = baseSpec();
    spec.linux.seccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      flags: null,
      syscalls: [
        { names: ["read", "write", "not_a_call_anywhere"], action: "SCMP_ACT_ALLOW", args: null },
        { name: "personality", action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
      ],
    };
    const t = ociToWarren(spec, "/b");
    expect(t.config.seccomp).toEqual({
      profile: {
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [
          { names: ["read", "write", "not_a_call_anywhere"], action: "SCMP_ACT_ALLOW" },
          { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
        ],
      },
    });
    expect(t.warnings).toEqual([]);
    expect(t.notes).toEqual(["linux.seccomp: no system call table knows not_a_call_anywhere (skipped)"]);
    expect(() => resolveConfig(t.config)).not.toThrow();
    spec.linux.seccomp.syscalls.push({ names: ["ioctl"], action: "SCMP_ACT_NOTIFY" });
    spec.linux.seccomp.flags = ["SECCOMP_FILTER_FLAG_NEW_LISTENER"];
    expect(issuesOf(spec).map((i) => i.path)).toEqual(["linux.seccomp.flags[0]", "linux.seccomp.syscalls[2].action"]);
  });
});
