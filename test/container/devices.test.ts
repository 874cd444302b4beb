/**
 * Device access of a privileged container (no user namespace): deny by
 * default through the eBPF program on its cgroup, the standard nodes
 * allowed, and rules replaced live.
 */
import { afterAll, describe, expect, it } from "vitest";

import { devicePrograms } from "../../src/cgroup/devices.js";
import { busybox, cleanupAll } from "../helpers/env.js";

afterAll(cleanupAll);

// /dev/loop-control (10:237): harmless to open, not in the standard list.
const PROBE =
  "mknod /dev/probe c 10 237 2>/dev/null && echo mknod-ok || echo mknod-denied; head -c0 /dev/probe 2>/dev/null && echo open-ok || echo open-denied; head -c1 /dev/zero | wc -c";

describe("device policy of a privileged container", () => {
  it("denies devices outside the allow list, allows the standard ones, and changes live", async () => {
    const c = await busybox("devs", { namespaces: { user: false }, rootfs: { path: (await import("../helpers/env.js")).rootfs(), mode: "overlay" } });
    await c.start();
    expect(devicePrograms(c.cgroupPath)).toHaveLength(1);
    let r = await c.execOutput(["sh", "-c", PROBE]);
    expect(r.stdout).toBe("mknod-denied\nopen-denied\n1\n");
    await c.setDeviceRules(["c 10:237 rm"]);
    r = await c.execOutput(["sh", "-c", PROBE]);
    expect(r.stdout).toBe("mknod-ok\nopen-ok\n1\n");
    expect(c.config.deviceRules).toEqual(["c 10:237 rm"]);
    // Still one program: replaced, not stacked.
    expect(devicePrograms(c.cgroupPath)).toHaveLength(1);
    // bpf(2) is denied, so the container cannot detach its policy.
    const bpf = await c.execOutput(["sh", "-c", "cat /proc/self/status | grep ^Seccomp:"]);
    expect(bpf.stdout).toBe("Seccomp:\t2\n");
    await c.stop({ timeout: 0 });
  });

  it("refuses device rules for a container with a user namespace", async () => {
    const c = await busybox("devs-userns");
    await expect(c.setDeviceRules(["c 10:237 r"])).rejects.toMatchObject({ code: "ERR_WARREN_STATE" });
    await expect(busybox("devs-bad", { namespaces: { user: false }, deviceRules: ["q 1:1 r"] })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "deviceRules[0]" })],
    });
    await expect(busybox("devs-userns-rules", { deviceRules: ["c 10:237 r"] })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "deviceRules", message: expect.stringMatching(/without a user namespace/) })],
    });
  });
});
