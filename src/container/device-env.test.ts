import { describe, expect, it } from "vitest";

import { withDeviceEnv } from "./device-env.js";

describe("withDeviceEnv", () => {
  it("adds what devices need, after the config's own directories, and never overrides another variable", () => {
    const devices = {
      gpu: { mounts: [], env: { LD_LIBRARY_PATH: "/usr/local/nvidia/lib64:/usr/lib/x86_64-linux-gnu", NVIDIA_X: "1" } },
      usb: { mounts: [] },
    };
    expect(withDeviceEnv({}, devices)).toEqual({ LD_LIBRARY_PATH: "/usr/local/nvidia/lib64:/usr/lib/x86_64-linux-gnu", NVIDIA_X: "1" });
    expect(withDeviceEnv({ LD_LIBRARY_PATH: "/opt/lib:/usr/lib/x86_64-linux-gnu", NVIDIA_X: "mine" }, devices)).toEqual({
      LD_LIBRARY_PATH: "/opt/lib:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64",
      NVIDIA_X: "mine",
    });
    expect(withDeviceEnv({ A: "1" }, undefined)).toEqual({ A: "1" });
  });
});
