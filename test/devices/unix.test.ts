/**
 * unix-char devices on real containers: host nodes made by warren, bound
 * in at start and injected live, shared by two containers at once, with
 * their owner and mode; removal; bad specs refused with nothing done.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { busybox, cleanupAll, runtime } from "../helpers/env.js";

afterAll(cleanupAll);

const STAT = (path: string) => ["stat", "-c", "%F %a %t %T %u %g", path];
/** Opens the node read-write (what a FUSE daemon or a VPN does first). */
const OPEN = (path: string) => ["sh", "-c", `exec 3<>${path} && echo opened`];

describe("unix-char", () => {
  it("passes /dev/fuse and /dev/net/tun to two running containers at once", async () => {
    const a = await busybox("dev-a", { devices: { fuse: { type: "unix-char", source: "/dev/fuse", mode: 0o666 } } });
    const b = await busybox("dev-b");
    await a.start();
    await b.start();
    // a got fuse at start, from its config; tun is added live to both.
    await a.addDevice("tun", { type: "unix-char", source: "/dev/net/tun" });
    await b.addDevice("tun", { type: "unix-char", source: "/dev/net/tun", mode: "0600" });
    await b.addDevice("fuse", { type: "unix-char", source: "/dev/fuse" });
    for (const c of [a, b]) {
      expect((await c.execOutput(OPEN("/dev/fuse"))).stdout).toBe("opened\n");
      expect((await c.execOutput(OPEN("/dev/net/tun"))).stdout).toBe("opened\n");
      // TUNSETIFF: a tap interface made through the node, in the container's own network namespace.
      const tap = await c.execOutput(["sh", "-c", "tunctl -t tap7 >/dev/null && ip link show tap7 | head -1 | cut -d: -f2"]);
      expect(tap.stdout).toBe(" tap7\n");
    }
    expect((await a.execOutput(STAT("/dev/fuse"))).stdout).toBe("character special file 666 a e5 0 0\n");
    expect((await b.execOutput(STAT("/dev/net/tun"))).stdout).toBe("character special file 600 a c8 0 0\n");
    expect((await a.devices()).map((d) => [d.name, d.state, d.paths])).toEqual([
      ["fuse", "attached", ["/dev/fuse"]],
      ["tun", "attached", ["/dev/net/tun"]],
    ]);
    await a.stop({ timeout: 0 });
    await b.stop({ timeout: 0 });
  });

  it("makes a node from explicit numbers with its owner and mode, and removes it", async () => {
    const c = await busybox("dev-num");
    await c.start();
    await c.addDevice("null2", { type: "unix-char", major: 1, minor: 3, path: "/dev/null2", uid: 1000, gid: 100, mode: "0640" });
    expect((await c.execOutput(STAT("/dev/null2"))).stdout).toBe("character special file 640 1 3 1000 100\n");
    expect((await c.execOutput(["sh", "-c", "echo x > /dev/null2 && echo written"])).stdout).toBe("written\n");
    // The host node: owned by the container's mapped ids, in its state directory.
    expect(readdirSync(join(c.stateDir, "devices")).filter((f) => !f.startsWith("."))).toEqual(["null2.0"]);
    await c.removeDevice("null2");
    expect((await c.execOutput(["sh", "-c", "test -e /dev/null2 && echo there || echo gone"])).stdout).toBe("gone\n");
    expect(existsSync(join(c.stateDir, "devices", "null2.0"))).toBe(false);
    expect(c.config.devices).toEqual({});
    await c.stop({ timeout: 0 });
  });

  it("refuses bad specs with a typed error naming the field, and does nothing", async () => {
    const c = await busybox("dev-bad");
    await c.start();
    const before = (await c.execOutput(["ls", "-a", "/dev"])).stdout;
    const bad: [unknown, string][] = [
      [{ type: "unix-sock", source: "/dev/fuse" }, "devices.x.type"],
      [{ type: "unix-char", path: "/dev/x" }, "devices.x.source"],
      [{ type: "unix-char", major: 1, minor: 3 }, "devices.x.path"],
      [{ type: "unix-char", source: "/dev/fuse", mode: "0999" }, "devices.x.mode"],
      [{ type: "unix-char", source: "/dev/fuse", mode: 0o70000 }, "devices.x.mode"],
      [{ type: "unix-char", source: "/dev/does-not-exist" }, "devices.x.source"],
      [{ type: "unix-block", source: "/dev/fuse" }, "devices.x.source"],
      [{ type: "disk", source: "/etc/hostname" }, "devices.x.path"],
    ];
    for (const [spec, path] of bad) {
      await expect(c.addDevice("x", spec as never), JSON.stringify(spec)).rejects.toMatchObject({
        code: "ERR_WARREN_CONFIG",
        issues: expect.arrayContaining([expect.objectContaining({ path })]),
      });
    }
    // A path through a symlink the container planted (to its own root, or
    // anywhere): refused before anything is mounted.
    await c.execOutput(["ln", "-s", "/", "/dev/up"]);
    await expect(c.addDevice("x", { type: "unix-char", source: "/dev/fuse", path: "/dev/up/fuse" })).rejects.toMatchObject({
      code: "ERR_WARREN_CONFIG",
      issues: [expect.objectContaining({ path: "devices.x.path", message: expect.stringMatching(/symbolic link/) })],
    });
    await c.execOutput(["rm", "/dev/up"]);
    expect((await c.execOutput(["ls", "-a", "/dev"])).stdout).toBe(before);
    expect((await c.execOutput(["sh", "-c", "test -e /fuse && echo there || echo absent"])).stdout).toBe("absent\n");
    expect(c.config.devices).toEqual({});
    const dir = join(c.stateDir, "devices");
    expect(existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith(".")) : []).toEqual([]);
    await c.stop({ timeout: 0 });
  });

  it("keeps the devices through stop/start, and for a second process that adopts the container", async () => {
    const c = await busybox("dev-keep");
    await c.addDevice("fuse", { type: "unix-char", source: "/dev/fuse", path: "/dev/fuse", mode: 0o666 });
    expect((await c.devices())[0]).toMatchObject({ name: "fuse", state: "configured", paths: [] });
    await c.start();
    expect((await c.execOutput(OPEN("/dev/fuse"))).stdout).toBe("opened\n");
    await c.stop({ timeout: 0 });
    await c.start();
    expect((await c.execOutput(STAT("/dev/fuse"))).stdout).toBe("character special file 666 a e5 0 0\n");
    // Another process finds it with its device, and can remove it.
    const script = `
      import { Container } from ${JSON.stringify(join(process.cwd(), "src/index.ts"))};
      const c = await Container.get(${JSON.stringify(c.name)}, ${JSON.stringify(runtime())});
      const before = (await c.devices()).map((d) => d.name + ":" + d.state).join(",");
      await c.removeDevice("fuse");
      const after = (await c.execOutput(["sh", "-c", "test -e /dev/fuse && echo there || echo gone"])).stdout.trim();
      console.log(before + " " + after);
    `;
    const { execFileSync } = await import("node:child_process");
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(out.trim()).toBe("fuse:attached gone");
    const again = await Container.get(c.name, runtime());
    expect(await again.devices()).toEqual([]);
    await c.stop({ timeout: 0 });
  });
});
