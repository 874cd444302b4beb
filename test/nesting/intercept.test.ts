/**
 * `security.intercept` (docs/nesting.md): mknod of the standard character
 * nodes and setxattr of trusted.overlay.opaque, which a user namespace
 * refuses, made by the container's monitor for its processes (the init and
 * exec'd ones); every other device, name or escape refused; nothing of it
 * without the option.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, StateError, type Container } from "../../src/index.js";
import { native } from "../../src/native/binding.js";
import { busybox, cleanupAll, IDLE, startReady } from "../helpers/env.js";

const INTERCEPT = { security: { intercept: { mknod: true, setxattr: true } } };
const TMP = { mounts: [{ type: "tmpfs" as const, target: "/tmp" }] };

let work: string;
let xattrBin: Buffer;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "warren-intercept-"));
  // busybox has no setfattr: a static helper, copied into the container.
  execFileSync("gcc", ["-static", "-O2", "-o", join(work, "xattr"), join(import.meta.dirname, "fixtures", "xattr.c")]);
  xattrBin = readFileSync(join(work, "xattr"));
});

afterAll(async () => {
  await cleanupAll();
  rmSync(work, { recursive: true, force: true });
});

async function sh(c: Container, script: string, user?: number): Promise<string> {
  const out = await c.execOutput(["sh", "-c", script], user === undefined ? {} : { user });
  expect(out.stderr.replace(/mknod: [^\n]*\n/g, "")).toBe("");
  return out.stdout;
}

async function withXattr(c: Container): Promise<void> {
  await c.execOutput(["sh", "-c", "cat > /tmp/xattr && chmod 755 /tmp/xattr"], { input: xattrBin, check: true });
}

/** The host path of `path` in the running container (its root, as host root sees it). */
const hostPath = (c: Container, path: string) => `/proc/${c.pid}/root${path}`;

describe("security.intercept", () => {
  it("makes the standard nodes, owned by the caller, and refuses every other device", async () => {
    const c = await busybox("icpt-mknod", { ...INTERCEPT, ...TMP });
    await c.start();
    const out = await sh(
      c,
      [
        "mknod /tmp/null c 1 3 && stat -c '%F %t:%T %U:%G %a' /tmp/null",
        "mknod -m 600 /dev/zero2 c 1 5 && stat -c '%t:%T %a' /dev/zero2",
        "cd /tmp && mknod rel c 5 0 && stat -c '%t:%T' /tmp/rel",
        // a whiteout, which the kernel makes itself in a user namespace
        "mknod /tmp/w c 0 0 && stat -c '%t:%T' /tmp/w",
        "mknod /tmp/mem c 1 1; echo mem=$?",
        "mknod /tmp/console c 5 1; echo console=$?",
        "mknod /tmp/ptmx c 5 2; echo ptmx=$?",
        "mknod /tmp/disk b 8 0; echo disk=$?",
        "mknod /tmp/null c 1 3; echo again=$?",
        "mknod /tmp/fifo p && stat -c %F /tmp/fifo",
        "ls /tmp | tr '\\n' ' '",
      ].join("; "),
    );
    expect(out).toBe(
      [
        "character special file 1:3 root:root 644",
        "1:5 600",
        "5:0",
        "0:0",
        "mem=1",
        "console=1",
        "ptmx=1",
        "disk=1",
        "again=1",
        "fifo",
        "fifo null rel w ",
      ].join("\n"),
    );
    // Owned by the container's root on the host: its mapped id, not host root.
    const { uid } = statSync(hostPath(c, "/tmp/null"));
    expect(uid).not.toBe(0);
    expect(uid).toBe(statSync(hostPath(c, "/tmp")).uid);
  });

  it("resolves mknodat's relative path from the caller's directory fd", async () => {
    const c = await busybox("icpt-at", { ...INTERCEPT, ...TMP });
    await c.start();
    await withXattr(c);
    const out = await sh(c, "mkdir /tmp/sub && /tmp/xattr -at /tmp/sub n && /tmp/xattr -at /tmp/sub ../up && stat -c '%t:%T' /tmp/sub/n /tmp/up");
    expect(out).toBe("ok\nok\n1:3\n1:3\n");
  });

  it("refuses a caller without CAP_MKNOD", async () => {
    const c = await busybox("icpt-user", { ...INTERCEPT, mounts: [{ type: "tmpfs", target: "/tmp", mode: 0o1777 }] });
    await c.start();
    expect(await sh(c, "mknod /tmp/n c 1 3; echo rc=$?; ls /tmp", 1000)).toBe("rc=1\n");
  });

  it("does it for the init as for an exec'd process", async () => {
    const init = ["/bin/sh", "-c", `mknod /tmp/from-init c 1 8; echo $? > /tmp/rc; ${IDLE[2]}`];
    const c = await busybox("icpt-init", { ...INTERCEPT, ...TMP, init });
    await c.start();
    let out = "";
    for (let i = 0; i < 100 && !out.endsWith("\n"); i++) {
      out = (await c.execOutput(["cat", "/tmp/rc"])).stdout;
      if (!out) await new Promise((r) => setTimeout(r, 50));
    }
    expect(out).toBe("0\n");
    expect(await sh(c, "stat -c '%t:%T' /tmp/from-init")).toBe("1:8\n");
    // The listeners went to the monitor: no process of the container holds one.
    const fds = await sh(c, "for p in /proc/[0-9]*; do ls -l $p/fd/ 2>/dev/null; done");
    expect(fds).toContain("/dev/null");
    expect(fds).not.toContain("seccomp");
  });

  it("resolves the path in the caller's root: a symlink to a host path or .. creates nothing outside", async () => {
    const host = mkdtempSync(join(work, "outside-"));
    const c = await busybox("icpt-escape", { ...INTERCEPT, ...TMP });
    await c.start();
    const out = await sh(
      c,
      [
        `ln -s ${host} /tmp/esc`,
        "mknod /tmp/esc/a c 1 3; echo link=$?",
        `mknod /../../../..${host}/b c 1 3; echo dotdot=$?`,
        `cd /tmp && mknod ../../..${host}/c c 1 3; echo rel=$?`,
        // a magic link (/proc/PID/root) is not followed
        "mknod /proc/1/root/tmp/m c 1 3; echo magic=$?",
        "ls /tmp | tr '\\n' ' '",
      ].join("; "),
    );
    expect(out).toBe("link=1\ndotdot=1\nrel=1\nmagic=1\nesc ");
    expect(readdirSync(host)).toEqual([]);
  });

  it("sets trusted.overlay.opaque on a directory and refuses other trusted names", async () => {
    const c = await busybox("icpt-xattr", { ...INTERCEPT, ...TMP });
    await c.start();
    await withXattr(c);
    const out = await sh(
      c,
      [
        "mkdir /tmp/d /tmp/dl /tmp/df /tmp/e && touch /tmp/f && ln -s /tmp/e /tmp/link",
        "/tmp/xattr /tmp/d trusted.overlay.opaque y",
        "/tmp/xattr /tmp/dl trusted.overlay.opaque y l",
        "/tmp/xattr /tmp/df trusted.overlay.opaque y f",
        "/tmp/xattr /tmp/d trusted.foo y",
        "/tmp/xattr /tmp/d trusted.overlay.opaque z",
        "/tmp/xattr /tmp/d trusted.overlay.redirect yy",
        "/tmp/xattr /tmp/f trusted.overlay.opaque y",
        "/tmp/xattr /tmp/link trusted.overlay.opaque y l",
        // names the kernel allows anyway go on to it
        "/tmp/xattr /tmp/d user.test y",
      ].join("; "),
    );
    expect(out).toBe(["ok", "ok", "ok", "EPERM", "EPERM", "EPERM", "EPERM", "EPERM", "ok", ""].join("\n"));
    for (const d of ["/tmp/d", "/tmp/dl", "/tmp/df"]) expect(native().lgetxattr(hostPath(c, d), "trusted.overlay.opaque").toString()).toBe("y");
    expect(() => native().lgetxattr(hostPath(c, "/tmp/d"), "trusted.foo")).toThrow();
    expect(() => native().lgetxattr(hostPath(c, "/tmp/e"), "trusted.overlay.opaque")).toThrow();
  });

  it("leaves an overlay mounted inside the container working (rm of a lower file)", async () => {
    const c = await busybox("icpt-overlay", { ...INTERCEPT, ...TMP });
    await c.start();
    const out = await sh(
      c,
      [
        "mkdir /tmp/l /tmp/u /tmp/w /tmp/m && echo x > /tmp/l/f && echo y > /tmp/l/g",
        "mount -t overlay o -o lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w /tmp/m",
        "rm /tmp/m/f && ls /tmp/m && stat -c '%F %t:%T' /tmp/u/f",
        "umount /tmp/m",
      ].join(" && "),
    );
    expect(out).toBe("g\ncharacter special file 0:0\n");
  });

  it("without it: the same calls fail with EPERM as in any container", async () => {
    const c = await busybox("icpt-off", TMP);
    await c.start();
    await withXattr(c);
    const out = await sh(c, "mknod /tmp/null c 1 3; echo null=$?; mkdir /tmp/d; /tmp/xattr /tmp/d trusted.overlay.opaque y; ls /tmp | tr '\\n' ' '");
    expect(out).toBe("null=1\nEPERM\nd xattr ");
  });

  it("with its monitor killed: intercepted calls fail with ENOSYS, an exec is refused", async () => {
    // The init makes the node on SIGUSR1, and says how it went.
    const init = ["/bin/sh", "-c", "trap 'mknod /tmp/n c 1 3 2>/tmp/err; echo $? > /tmp/rc' USR1; echo ready; while :; do sleep 3600 & wait $!; done"];
    const c = await busybox("icpt-nomon", { ...INTERCEPT, ...TMP, init });
    await startReady(c);
    const monitor = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).find((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
        return argv[0] === "warren-monitor" && argv.some((a) => a.endsWith(`/${c.name}`));
      } catch {
        return false;
      }
    });
    expect(monitor).toBeDefined();
    process.kill(Number(monitor), "SIGKILL");
    for (let i = 0; i < 100 && existsSync(`/proc/${monitor}/fd`); i++) await new Promise((r) => setTimeout(r, 20));
    process.kill(c.pid!, "SIGUSR1");
    for (let i = 0; i < 100 && !existsSync(hostPath(c, "/tmp/rc")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(readFileSync(hostPath(c, "/tmp/rc"), "utf8")).toBe("1\n");
    expect(readFileSync(hostPath(c, "/tmp/err"), "utf8")).toContain("Function not implemented");
    const e = await c.execOutput(["true"]).catch((x) => x);
    expect(e).toBeInstanceOf(StateError);
    expect(e.message).toContain("its monitor takes no intercepted calls");
  });

  it("needs a user namespace", async () => {
    const e = await busybox("icpt-nouserns", { ...INTERCEPT, namespaces: { user: false } }).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues[0].path).toBe("security.intercept");
  });
});
