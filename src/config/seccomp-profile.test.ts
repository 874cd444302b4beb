import { describe, expect, it } from "vitest";

import { ConfigError } from "../errors.js";
import { resolveConfig } from "./resolve.js";
import type { ContainerConfig } from "./schema.js";
import type { SeccompProfileConfig } from "./seccomp-profile.js";

const issues = (config: unknown) => {
  try {
    resolveConfig(config as ContainerConfig);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
};

describe("seccomp: {profile}", () => {
  it("takes an OCI profile in place of the deny list", () => {
    const profile: SeccompProfileConfig = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_GT" }] }],
    };
    expect(resolveConfig({ seccomp: { profile } }).seccomp).toEqual({ profile });
    expect(resolveConfig({}).seccomp).toMatchObject({ errno: 1 });
  });

  it("names the field inside the profile, not the union", () => {
    expect(issues({ seccomp: { profile: { defaultAction: "SCMP_ACT_NOTIFY" } } })).toEqual([
      { path: "seccomp.profile.defaultAction", message: expect.stringContaining("SCMP_ACT_ALLOW") },
    ]);
    expect(issues({ seccomp: { profile: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", includes: {} }] } } })).toEqual([
      { path: "seccomp.profile.syscalls[0].includes", message: "unknown field" },
    ]);
    expect(issues({ seccomp: { deny: ["not_a_call"] } })).toEqual([{ path: "seccomp.deny[0]", message: 'unknown system call "not_a_call"' }]);
    expect(issues({ seccomp: "yes" })).toEqual([{ path: "seccomp", message: expect.any(String) }]);
  });
});
