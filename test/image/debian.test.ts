/**
 * A real distro image: Debian bookworm minbase built by the image store
 * (debootstrap, once per machine; see test/helpers/global-setup.ts).
 * Containers are made from it without copying it, each sees it owned by its
 * own root, and what they write lands in their own host id range.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ImageStore } from "../../src/index.js";
import { cleanupAll, debian, debianSkipReason, runtime } from "../helpers/env.js";

afterAll(cleanupAll);

const skip = debianSkipReason();

/** Disk used under a directory, in KiB (du counts each inode once). */
const du = (dir: string) => Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split("\t")[0]);

describe.skipIf(skip !== undefined)(`Debian bookworm image${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("is a minbase tree with an init, neutral for containers", async () => {
    const img = await new ImageStore(runtime().root).get("debian/bookworm");
    expect(statSync(join(img.rootfs, "lib/systemd/systemd")).isFile()).toBe(true);
    expect(statSync(join(img.rootfs, "etc/machine-id")).size).toBe(0);
    expect(() => statSync(join(img.rootfs, "etc/hostname"))).toThrow();
    expect(img.config.config?.StopSignal).toBe("SIGRTMIN+3");
  });

  it("creates 20 containers without copying the image", async () => {
    const img = await new ImageStore(runtime().root).get("debian/bookworm");
    const imageKiB = du(img.rootfs);
    expect(imageKiB).toBeGreaterThan(100_000);
    const times: number[] = [];
    const made = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      made.push(await debian(`deb20-${i}`));
      times.push(performance.now() - t0);
    }
    // The bench measures create time; here only that it does not scale with the image.
    times.sort((a, b) => a - b);
    console.log(`create from a ${Math.round(imageKiB / 1024)} MiB image: median ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms`);
    for (const c of made) expect(du(c.stateDir)).toBeLessThan(1024);
    for (const c of made) await c.destroy();
  });

  it("owns the image through each container's own root, and writes land in its own host range", async () => {
    const a = await debian("deb-own-a", { init: ["/bin/sleep", "infinity"], haltSignal: "SIGKILL" });
    const b = await debian("deb-own-b", { init: ["/bin/sleep", "infinity"], haltSignal: "SIGKILL" });
    expect(a.idmap!.hostUid).not.toBe(b.idmap!.hostUid);
    await a.start();
    await b.start();
    for (const c of [a, b]) {
      const owners = await c.execOutput(["/bin/sh", "-c", "stat -c %u /usr/bin/* | sort -u"]);
      expect(owners.stdout).toBe("0\n");
      // Not only root: the image's other ids keep their meaning too (group shadow).
      expect((await c.execOutput(["stat", "-c", "%U:%G", "/usr/bin/chage"])).stdout).toBe("root:shadow\n");
      expect((await c.execOutput(["apt-get", "--version"])).stdout).toMatch(/^apt 2\.6/);
    }
    await a.execOutput(["/bin/sh", "-c", "echo hello > /root/made-inside && mkdir -p /home/u && chown 1000:1000 /home/u"]);
    const upper = join(a.stateDir, "upper");
    expect(statSync(join(upper, "root/made-inside")).uid).toBe(a.idmap!.hostUid);
    expect(statSync(join(upper, "home/u")).uid).toBe(a.idmap!.hostUid + 1000);
    // b sees none of it.
    expect((await b.execOutput(["ls", "/home"])).stdout).toBe("");
    await a.stop();
    await b.stop();
  });

  it("has no nameservers of the build host; on the host's network it gets the host's", async () => {
    const img = await new ImageStore(runtime().root).get("debian/bookworm");
    expect(readFileSync(join(img.rootfs, "etc/resolv.conf"), "utf8")).toBe("");
    const c = await debian("deb-hostnet", { init: ["/bin/sleep", "infinity"], haltSignal: "SIGKILL", namespaces: { net: false } });
    await c.start();
    expect((await c.execOutput(["cat", "/etc/resolv.conf"])).stdout).toBe(readFileSync("/etc/resolv.conf", "utf8"));
    await c.stop();
  });
});
