/**
 * Bad input is a typed error naming the field or the step, and leaves no
 * state directory, cgroup or mount behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container, ConfigError, SetupError } from "../../src/index.js";
import { busybox, cleanupAll, rootfs, runtime, stateRoot, uniqueName } from "../helpers/env.js";
import { copyRootfs } from "../helpers/rootfs-copy.js";

afterAll(cleanupAll);

function dirsUnderRoot(): string[] {
  return readdirSync(stateRoot()).filter((d) => !d.startsWith(".") && !d.endsWith(".mts"));
}

describe("bad input", () => {
  it("rejects an unknown field, naming it", async () => {
    const before = dirsUnderRoot();
    const e = await Container.create(uniqueName("unk"), { rootfs: rootfs(), bogus: 1 } as never, runtime()).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues).toContainEqual({ path: "bogus", message: "unknown field" });
    expect(e.message).toContain("bogus: unknown field");
    expect(dirsUnderRoot()).toEqual(before);
  });

  it("refuses a state root below a directory others cannot search (a container's root could not reach it)", async () => {
    const closed = mkdtempSync(join(tmpdir(), "warren-closed-"));
    try {
      const e = await Container.create(uniqueName("closed"), { rootfs: rootfs() }, { root: join(closed, "root") }).catch((x) => x);
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.issues[0]).toMatchObject({ path: "root", message: expect.stringContaining(closed) });
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });

  it("rejects a relative rootfs path", async () => {
    const e = await Container.create(uniqueName("rel"), { rootfs: "relative/dir" }, runtime()).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues[0].path).toBe("rootfs");
    expect(e.message).toMatch(/rootfs: must be an absolute path/);
  });

  it("rejects a nested field error with its full path", async () => {
    const e = await Container.create(uniqueName("mnt"), { rootfs: rootfs(), mounts: [{ type: "tmpfs", target: "/a" }, { type: "bind", source: "x", target: "/b" }] }, runtime()).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues.map((i: { path: string }) => i.path)).toContain("mounts[1].source");
  });

  it("rejects a name with a slash", async () => {
    const e = await Container.create("a/b", {}, runtime()).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues[0]).toMatchObject({ path: "name" });
    expect(e.message).toContain("must not contain `/`");
    expect(existsSync(join(stateRoot(), "a"))).toBe(false);
  });

  it("names the failing step on a second start too, whose plan was kept only encoded", async () => {
    const copy = copyRootfs("replan");
    try {
      const c = await Container.create(uniqueName("replan"), { rootfs: { path: copy.path }, init: ["/bin/x-true"] }, runtime());
      symlinkSync("busybox", join(copy.path, "bin/x-true"));
      await c.start();
      await c.exited;
      // Same plan (nothing it depends on changed), so the encoding is reused; the init is gone now.
      unlinkSync(join(copy.path, "bin/x-true"));
      const e = await c.start().catch((x) => x);
      expect(e).toBeInstanceOf(SetupError);
      expect(e).toMatchObject({ step: "exec", errno: "ENOENT", container: c.name });
      expect(e.message).toMatch(/start failed at exec: exec `\/bin\/x-true`: ENOENT/);
      await c.destroy();
    } finally {
      copy.remove();
    }
  });

  it("reports a missing init at the exec step and leaves no cgroup or mount", async () => {
    const mountsBefore = readFileSync("/proc/self/mountinfo", "utf8");
    const c = await busybox("noinit", { init: ["/sbin/does-not-exist"] });
    const e = await c.start().catch((x) => x);
    expect(e).toBeInstanceOf(SetupError);
    expect(e).toMatchObject({ step: "exec", errno: "ENOENT", container: c.name });
    expect(e.message).toMatch(/start failed at exec: exec `\/sbin\/does-not-exist`: ENOENT/);
    expect(existsSync(c.cgroupPath)).toBe(false);
    expect(c.state).toBe("created");
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(mountsBefore);
  });

  it("reports a non-executable init as such", async () => {
    const c = await busybox("noexec", { init: ["/etc/passwd"] });
    await expect(c.start()).rejects.toMatchObject({ step: "exec", errno: "EACCES" });
  });

  it("reports a rootfs without /proc that the container cannot make it in at the mount step, naming the path", async () => {
    // Host root's directory, which the container's root (an unmapped id there) may not write.
    const c = await busybox("noproc", { rootfs: { path: join(rootfs(), "etc"), mode: "rw" }, init: ["/bin/true"] });
    const e = await c.start().catch((x) => x);
    expect(e).toMatchObject({ step: "mount", errno: "EACCES" });
    expect(e.message).toContain("the rootfs has no `/proc` directory and it cannot be made there");
    expect(existsSync(c.cgroupPath)).toBe(false);
    // A read-only rootfs is locked read-only from the start: nothing can be made in it.
    const ro = await busybox("noproc-ro", { rootfs: { path: join(rootfs(), "etc"), mode: "ro" }, init: ["/bin/true"] });
    const e2 = await ro.start().catch((x) => x);
    expect(e2).toMatchObject({ step: "mount", errno: "EROFS" });
    expect(e2.message).toMatch(/`\/proc`/);
  });

  it("refuses a second container with the same name", async () => {
    const c = await busybox("dup");
    await expect(Container.create(c.name, { rootfs: rootfs() }, runtime())).rejects.toMatchObject({ code: "ERR_WARREN_STATE" });
  });

  it("rejects a rootfs that does not exist", async () => {
    const e = await Container.create(uniqueName("nofs"), { rootfs: "/does/not/exist" }, runtime()).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain("rootfs: `/does/not/exist` is not a directory");
  });
});
