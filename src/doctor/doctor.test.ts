import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { ConfigError } from "../errors.js";
import { doctor, sysctlConf } from "./doctor.js";
import { atLeast, parseKernelRelease, SYSCTLS } from "./requirements.js";

const sysctl = (key: string) => Number(readFileSync(`/proc/sys/${key.replace(/\./g, "/")}`, "utf8").trim());

describe("requirements", () => {
  it("parses kernel releases and compares them", () => {
    expect(parseKernelRelease("6.18.44-fc-v1045")).toEqual([6, 18]);
    expect(parseKernelRelease("5.4.0-150-generic")).toEqual([5, 4]);
    expect(parseKernelRelease("weird")).toBeUndefined();
    expect(atLeast([6, 1], [5, 12])).toBe(true);
    expect(atLeast([5, 12], [5, 12])).toBe(true);
    expect(atLeast([5, 11], [5, 12])).toBe(false);
  });

  it("scales host-wide limits with the container count and keeps per-uid ones fixed", () => {
    const pidMax = SYSCTLS.find((s) => s.key === "kernel.pid_max")!;
    expect(pidMax.min(5_000)).toBeGreaterThan(pidMax.min(100));
    const keys = SYSCTLS.find((s) => s.key === "kernel.keys.maxkeys")!;
    expect(keys.min(5_000)).toBe(keys.min(1));
  });
});

describe("doctor", () => {
  it("reads this host: the kernel passes, the sysctls are compared with what is set", () => {
    const r = doctor({ containers: 10 });
    expect(r.containers).toBe(10);
    for (const c of r.checks.filter((c) => c.id.startsWith("kernel.") && c.id !== "kernel.fchmodat2")) expect(c.status, c.id).toBe("ok");
    const pid = r.checks.find((c) => c.id === "sysctl.kernel.pid_max")!;
    expect(pid.value).toBe(String(sysctl("kernel.pid_max")));
    // Every check that is not met says how to meet it.
    for (const c of r.checks) if (c.status === "fail") expect(c.fix, c.id).toBeTruthy();
    expect(r.ok).toBe(r.checks.every((c) => c.status !== "fail"));
  });

  it("fails a sysctl that is too small for the count asked for, and writes the conf line", () => {
    const huge = doctor({ containers: 10_000_000 });
    const pid = huge.checks.find((c) => c.id === "sysctl.kernel.pid_max")!;
    expect(pid.status).toBe("fail");
    expect(pid.fix).toBe(`sysctl -w kernel.pid_max=${SYSCTLS.find((s) => s.key === "kernel.pid_max")!.min(10_000_000)}`);
    expect(huge.ok).toBe(false);
    expect(sysctlConf(huge)).toMatch(/^kernel\.pid_max = \d+$/m);
    expect(huge.checks.find((c) => c.id === "limits.nofile")!.status).toBe("fail");
  });

  it("names the field of a bad count", () => {
    expect(() => doctor({ containers: 0 })).toThrow(ConfigError);
    expect(() => doctor({ containers: 1.5 })).toThrow(/containers: must be a positive integer/);
  });
});
