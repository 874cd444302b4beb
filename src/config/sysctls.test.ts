import { describe, expect, it } from "vitest";

import { resolveConfig } from "./resolve.js";
import { sysctlNamespace, sysctlPath, sysctlProblem } from "./sysctls.js";
import { configIssues as issues } from "./testing.js";

const own = { net: true, ipc: true };

describe("sysctls", () => {
  it("allows the keys of the container's own namespaces, as runc does", () => {
    for (const k of ["net.ipv4.ip_forward", "net.ipv6.conf.all.disable_ipv6", "net.ipv4.conf.eth-0.rp_filter", "net.core.somaxconn"]) {
      expect(sysctlNamespace(k)).toBe("net");
      expect(sysctlProblem(k, own)).toBeUndefined();
    }
    for (const k of ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "fs.mqueue.msg_max"]) {
      expect(sysctlNamespace(k)).toBe("ipc");
      expect(sysctlProblem(k, own)).toBeUndefined();
    }
  });

  it("refuses host-global keys, namespaced ones without the namespace, and the uts keys", () => {
    for (const k of ["vm.swappiness", "kernel.pid_max", "kernel.sysrq", "fs.file-max", "kernel.shmmax_not", "fs.mqueue"]) {
      expect(sysctlProblem(k, own)).toMatch(/^not namespaced, so it would change the host/);
    }
    expect(sysctlProblem("net.ipv4.ip_forward", { net: false, ipc: true })).toMatch(/needs the container's own network namespace/);
    expect(sysctlProblem("net.ipv4.ip_forward", { net: { container: "a" }, ipc: true })).toMatch(/needs the container's own network namespace/);
    // One joined by path is the caller's to give (checked against the host's at start).
    expect(sysctlProblem("net.ipv4.ip_forward", { net: { path: "/run/netns/x" }, ipc: true })).toBeUndefined();
    expect(sysctlProblem("kernel.shmmax", { net: true, ipc: { path: "/proc/9/ns/ipc" } })).toBeUndefined();
    expect(sysctlProblem("kernel.shmmax", { net: true, ipc: false })).toMatch(/needs the container's own ipc namespace/);
    expect(sysctlProblem("kernel.hostname", own)).toBe("set with the `hostname` field instead");
    expect(sysctlProblem("kernel.domainname", own)).toBe("set with the `domainname` field instead");
  });

  it("refuses keys that are no sysctl name: a `/`, an empty component, a path", () => {
    for (const k of ["net/ipv4/ip_forward", "net..ipv4", "net.ipv4.", ".net.ipv4", "net.ipv4.conf.eth0/100.forwarding", "net", "", "net.ipv4.ip forward", "net.ipv4.\0"]) {
      expect(sysctlProblem(k, own), k).toMatch(/^must be a sysctl name/);
    }
    expect(sysctlPath("net.ipv4.conf.all.forwarding")).toBe("/proc/sys/net/ipv4/conf/all/forwarding");
  });
});

describe("the sysctls, proc and sys config fields", () => {
  it("defaults to mixed /proc and /sys and no sysctls; takes numbers as strings", () => {
    const c = resolveConfig({});
    expect([c.proc, c.sys, c.sysctls]).toEqual(["mixed", "mixed", {}]);
    expect(resolveConfig({ sysctls: { "net.core.somaxconn": 1024, "kernel.sem": "250 32000 32 128" } }).sysctls).toEqual({
      "net.core.somaxconn": "1024",
      "kernel.sem": "250 32000 32 128",
    });
  });

  it("names sysctls.<key> for a refused key or value", () => {
    expect(issues({ sysctls: { "vm.swappiness": "10" } })).toEqual([
      { path: "sysctls.vm.swappiness", message: expect.stringMatching(/^not namespaced, so it would change the host/) },
    ]);
    expect(issues({ namespaces: { net: false }, sysctls: { "net.ipv4.ip_forward": "1" } })[0]?.path).toBe("sysctls.net.ipv4.ip_forward");
    expect(issues({ namespaces: { ipc: false }, sysctls: { "fs.mqueue.msg_max": "20" } })[0]?.path).toBe("sysctls.fs.mqueue.msg_max");
    expect(issues({ sysctls: { "net.ipv4.ip_forward": "1\nvm.swappiness=0" } })).toEqual([
      { path: "sysctls.net.ipv4.ip_forward", message: "must not contain NUL or a newline" },
    ]);
    expect(issues({ sysctls: { "net.ipv4.ip_forward": "" } })[0]?.path).toBe("sysctls.net.ipv4.ip_forward");
    expect(issues({ sysctls: { "net.ipv4.ip_forward": 1.5 } })[0]?.path).toBe("sysctls.net.ipv4.ip_forward");
    expect(issues({ sysctls: { "net/../../kernel/core_pattern": "|/x" } })[0]?.path).toBe("sysctls.net/../../kernel/core_pattern");
  });

  it("refuses rw for a container whose root is the host's, unless privileged", () => {
    expect(issues({ namespaces: { user: false }, proc: "rw" })).toEqual([
      { path: "proc", message: expect.stringContaining("makes the host's /proc/sys writable") },
    ]);
    expect(issues({ namespaces: { user: false }, sys: "rw" })).toEqual([
      { path: "sys", message: expect.stringContaining("makes the host's /sys writable") },
    ]);
    expect(resolveConfig({ namespaces: { user: false }, privileged: true, proc: "rw", sys: "rw" }).proc).toBe("rw");
    expect(resolveConfig({ proc: "rw", sys: "rw" }).sys).toBe("rw");
    expect(issues({ proc: "writable" })[0]?.path).toBe("proc");
  });
});
