/**
 * OCI seccomp profiles (`seccomp: {profile}`, the form `linux.seccomp`
 * takes) installed for real: each action happens in a busybox container,
 * for the init's children and for exec'd processes, and Docker's default
 * profile runs a container.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { ConfigError } from "../../src/index.js";
import type { SeccompProfileConfig } from "../../src/config/seccomp-profile.js";
import { busybox, cleanupAll } from "../helpers/env.js";

afterAll(cleanupAll);

const SIGSYS = "SIGSYS";

const profile: SeccompProfileConfig = {
  defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  flags: ["SECCOMP_FILTER_FLAG_LOG"],
  syscalls: [
    { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" },
    { names: ["rmdir"], action: "SCMP_ACT_ERRNO", errnoRet: 95 },
    // personality(0) only: linux64 passes PER_LINUX (0), linux32 PER_LINUX32 (8).
    { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value: 0, op: "SCMP_CMP_NE" }] },
    // Not uname or getpid: busybox sh, the init, calls those itself.
    { names: ["sync"], action: "SCMP_ACT_KILL_PROCESS" },
  ],
};

describe("an OCI seccomp profile", () => {
  for (const noNewPrivileges of [false, true]) {
    it(`does what each rule says${noNewPrivileges ? " (installed last, with no_new_privs)" : ""}`, async () => {
      const c = await busybox("ocisec", { seccomp: { profile }, noNewPrivileges, mounts: [{ type: "tmpfs", target: "/mnt" }] });
      await c.start();
      const sh = (script: string) => c.execOutput(["sh", "-c", script]);
      const mkdir = await sh("mkdir /mnt/d");
      expect(mkdir.code).toBe(1);
      expect(mkdir.stderr).toContain("Operation not permitted");
      // The init's own children get it too (the filter is inherited from the init).
      const status = await sh("grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/1/status");
      expect(status.stdout).toBe(`NoNewPrivs:\t${noNewPrivileges ? 1 : 0}\nSeccomp:\t2\nSeccomp_filters:\t1\n`);
      const rmdir = await sh("rmdir /mnt");
      expect(rmdir.stderr).toContain("Operation not supported"); // errno 95
      expect((await sh("linux64 echo ok")).stdout).toBe("ok\n");
      const per32 = await sh("linux32 echo ok");
      expect(per32.code).not.toBe(0);
      expect(per32.stderr).toContain("Invalid argument");
      const killed = await c.execOutput(["sync"]);
      expect(killed.signal).toBe(SIGSYS);
      expect(killed.stdout).toBe("");
      // Everything else runs.
      expect((await sh("touch /mnt/f && ls /mnt")).stdout).toBe("f\n");
    });
  }

  it("runs a container under Docker's default profile", async () => {
    const template = JSON.parse(readFileSync(new URL("../fixtures/seccomp/docker-default.json", import.meta.url), "utf8"));
    // Rendered as Docker does for amd64 without CAP_SYS_ADMIN (the template's includes/excludes).
    const syscalls = template.syscalls
      .filter((s: { includes?: { arches?: string[]; caps?: string[] }; excludes?: { caps?: string[] } }) => {
        if (s.includes?.arches && !s.includes.arches.includes("amd64")) return false;
        if (s.includes?.caps) return false;
        return true;
      })
      .map(({ includes: _i, excludes: _e, comment: _c, ...rule }: Record<string, unknown>) => rule);
    const docker = { defaultAction: template.defaultAction, defaultErrnoRet: template.defaultErrnoRet, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls };
    const c = await busybox("ocidocker", { seccomp: { profile: docker } });
    await c.start();
    const out = await c.execOutput(["sh", "-c", "cat /proc/1/status | grep -c Seccomp; ls / >/dev/null && echo ls; mount -t tmpfs t /mnt; unshare -U true; echo done"]);
    expect(out.stdout).toBe("2\nls\ndone\n");
    // mount and unshare need CAP_SYS_ADMIN in Docker's profile: EPERM here.
    expect(out.stderr).toContain("mount: permission denied"); // busybox words EPERM so
    expect(out.stderr).toMatch(/unshare: .*Operation not permitted/);
  });

  it("refuses at create a profile that cannot be installed", async () => {
    const syscalls = Array.from({ length: 1200 }, (_, i) => ({ names: ["ioctl"], action: "SCMP_ACT_ERRNO" as const, args: [{ index: 1, value: i, op: "SCMP_CMP_EQ" as const }] }));
    const e = await busybox("ocibig", { seccomp: { profile: { defaultAction: "SCMP_ACT_ALLOW", syscalls } } }).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues[0].path).toBe("seccomp.profile");
    expect(e.message).toMatch(/over the kernel's limit of 4096/);
  });
});
