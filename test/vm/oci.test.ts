/**
 * warren-oci under its real clients, podman (through conmon) and
 * containerd (through its runc shim), and runc's command-line contract
 * compared with crun's on one bundle. They run only in the pure cgroup v2
 * VM (test/vm/guest/oci.mts): on the hybrid host podman, containerd and
 * crun would write cgroups into its v1 hierarchies.
 */
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, inject, it } from "vitest";

import { runGuestScript, vmAvailable, type GuestReport } from "../helpers/vm.js";

const vm = await vmAvailable();
const missing = ["podman", "ctr", "containerd", "crun", "skopeo"].filter((tool) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
});
const skip = !vm.ok ? vm.reason : missing.length ? `not installed (scripts/setup.sh installs them): ${missing.join(", ")}` : undefined;
let guest: GuestReport | undefined;

beforeAll(async () => {
  if (skip) return;
  // TCG: every podman or ctr command is seconds, warren-oci's node start included.
  guest = await runGuestScript("oci", {
    timeoutMs: 900_000,
    memMiB: 3072,
    env: { WARREN_TEST_ROOTFS: inject("rootfs"), WARREN_GUEST_SCENARIOS: "podman,containerd,contract" },
  });
}, 960_000);

type Step = { code: number | null; out: string; status?: string };

describe("warren-oci driven by podman and containerd, and against crun, in a pure cgroup v2 VM", () => {
  it("podman: run --rm, run -d + exec + stop + rm, run -it, --memory enforced, --network none and podman's default network", (ctx) => {
    if (skip) ctx.skip(skip);
    const p: Record<string, Step> = guest!.result("podman");
    expect(p.echo, p.echo!.out).toMatchObject({ code: 0, out: expect.stringMatching(/(^|\n)hi$/) });
    expect(p.detached!.code, p.detached!.out).toBe(0);
    expect(p.exec, p.exec!.out).toMatchObject({ code: 0, out: expect.stringContaining("exec-ok\nsleep 1000") });
    expect(p.ps!.out).toMatch(/^d1 Up/m);
    expect(p.stop!.code, p.stop!.out).toBe(0);
    expect(p.rm!.code, p.rm!.out).toBe(0);
    // The terminal is the container's own devpts, through conmon's console socket.
    expect(p.tty!.code, p.tty!.out).toBe(0);
    expect(p.tty!.out).toMatch(/\/dev\/pts\/\d+\r?\ntty-ok/);
    expect(p.memoryMax!.out).toMatch(new RegExp(`^${64 * 1024 * 1024}$`, "m"));
    // Killed by the OOM killer at the limit (128 + SIGKILL), and fits under a larger one.
    expect(p.memoryLimited!.code, p.memoryLimited!.out).toBe(137);
    expect(p.memoryRoomy!.code, p.memoryRoomy!.out).toBe(0);
    expect(p.networkNone!.out.trim().split(/\s+/)).toEqual(["lo"]);
    expect(p.networkDefault!.code, p.networkDefault!.out).toBe(0);
    expect(p.networkDefault!.out).toMatch(/inet 10\.88\.\d+\.\d+\/16/);
    expect(p.networkDefault!.out).toContain("default via 10.88.0.1");
    expect(p.networkDefault!.out).toMatch(/ping_group_range=0\s+0/); // podman's sysctl, in its namespace
    expect(p.networkDefault!.out).toContain("hello-from-the-host");
    expect(p.crunDefault!.out).toMatch(/inet 10\.88\.\d+\.\d+\/16/); // the same network under crun
    expect(p.leftovers!.out.trim()).toBe("");
  });

  it("containerd: ctr run --rm, a long-running task with exec, ps, kill and rm", (ctx) => {
    if (skip) ctx.skip(skip);
    const c: Record<string, Step> = guest!.result("containerd");
    expect(c.import!.code, c.import!.out).toBe(0);
    expect(c.echo, c.echo!.out).toMatchObject({ code: 0, out: expect.stringContaining("hi-ctr") });
    expect(c.detached!.code, c.detached!.out).toBe(0);
    expect(c.list!.out).toMatch(/^c2\s+\d+\s+RUNNING$/m);
    expect(c.exec, c.exec!.out).toMatchObject({ code: 0, out: expect.stringContaining("exec-ctr\nc2") });
    expect(c.ps!.out).toMatch(/^\d+\s/m);
    expect(c.kill!.code, c.kill!.out).toBe(0);
    expect(c.stopped!.out).toMatch(/^c2\s+\d+\s+STOPPED$/m);
    expect(c.rm!.code, c.rm!.out).toBe(0);
    expect(c.crm!.code, c.crm!.out).toBe(0);
    expect(c.leftovers!.out.trim()).toBe("");
  });

  it("answers runc's command line as crun does: exit codes, state fields and status transitions", (ctx) => {
    if (skip) ctx.skip(skip);
    const { warren, crun } = guest!.result("contract") as { warren: Record<string, any>; crun: Record<string, any> };
    const shape = (r: Record<string, any>) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          v && typeof v === "object" && "code" in v
            ? { ok: v.code === 0, status: v.status }
            : k === "stateFields" // runc's fields; crun adds its own `systemd-scope`
              ? (v as string[]).filter((f) => f !== "systemd-scope")
              : v,
        ]),
      );
    // Exit status (0 or not: runc, crun and warren-oci all exit 1 on an error) and the status after each step.
    expect(shape(warren)).toEqual(shape(crun));
    expect(warren.create.status).toBe("created");
    expect(warren.start.status).toBe("running");
    expect(warren.pause.status).toBe("paused");
    expect(warren.afterKill).toBe("stopped");
    expect(warren.stateFields).toEqual(expect.arrayContaining(["bundle", "id", "ociVersion", "pid", "status"]));
    // runc's messages.
    expect(warren.stateMissing.out).toContain("container does not exist");
    expect(warren.createDuplicate.out).toContain("container with id exists: c1");
    expect(warren.startTwice.out).toContain("cannot start an already running container");
    expect(warren.deleteRunning.out).toContain("cannot delete container c1 that is not stopped: running");
    expect(warren.startStopped.out).toContain("cannot start a container that has stopped");
    expect(warren.createNoBundle.out).toContain("/run/no-such-bundle/config.json not found");
  });

  it("update --resources sets memory.max and pids.max on cgroup v2", (ctx) => {
    if (skip) ctx.skip(skip);
    const { limits } = guest!.result("contract");
    expect(limits.update.code, limits.update.out).toBe(0);
    expect(limits.memoryMax).toBe(String(64 * 1024 * 1024));
    expect(limits.pidsMax).toBe("42");
  });
});
