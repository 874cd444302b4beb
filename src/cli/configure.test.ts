import { describe, expect, it } from "vitest";

import { usageError } from "./testing.js";
import { parseSettings } from "./configure.js";

describe("config set KEY=VALUE", () => {
  it("splits live limits from stopped-only keys and merges env.NAME into the env", () => {
    expect(parseSettings(["limits.memory.max=256MiB", "limits.cpu.weight=200", "hostname=web", "env.B=2", "stopTimeout=500", "user=1000:1000"], { A: "1" })).toEqual({
      limits: { memory: { max: "256MiB" }, cpu: { weight: 200 } },
      patch: { hostname: "web", env: { A: "1", B: "2" }, stopTimeout: 500, user: { uid: 1000, gid: 1000 } },
    });
  });

  it("an empty value unsets a stopped-only key", () => {
    expect(parseSettings(["hostname=", "cwd="], {}).patch).toEqual({ hostname: undefined, cwd: undefined });
  });

  it("names the key in errors", () => {
    expect(usageError(() => parseSettings(["limits.pids.max=lots"], {})).message).toMatch(/^limits\.pids\.max: expected an integer/);
    expect(usageError(() => parseSettings(["rootfs=/x"], {})).message).toMatch(/unknown key "rootfs"/);
    expect(usageError(() => parseSettings(["hostname"], {})).message).toMatch(/expected KEY=VALUE/);
  });
});
