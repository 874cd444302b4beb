/**
 * Issue 11 item 7: until it execs, a process warren starts in a container is
 * a clone of Node (its memory, and /proc/<pid>/exe the host's `node`). The
 * attacker: container root racing to reach that process through /proc, and a
 * container binary whose `#!` line names /proc/self/exe, which the kernel
 * resolves during the execve that meets it. That execve is warren-exec's,
 * from a sealed memfd (docs/security.md, "The exec'd process"), so the
 * interpreter is the helper, never the host's node.
 */
import { execFile, execFileSync } from "node:child_process";
import { closeSync, constants, ftruncateSync, mkdtempSync, openSync, readlinkSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Container } from "../../src/index.js";
import { busybox, cleanupAll, debian, debianSkipReason, IDLE } from "../helpers/env.js";
import { copyRootfs, type RootfsCopy } from "../helpers/rootfs-copy.js";

/** Run by host node, it would say where it runs from and whether it could open that binary for writing. */
const PROBE = [
  "#!/proc/self/exe",
  'const fs = require("fs");',
  'let w = "WRITABLE"; try { fs.closeSync(fs.openSync("/proc/self/exe", "r+")); } catch (e) { w = e.code; }',
  'console.log("ran:", process.execPath, "write:", w);',
].join("\n");
/** What warren-exec says when it is run as an interpreter (native/exec-helper/exec-helper.c). */
const HELPER_SAYS = "warren-exec: this is warren's exec helper, not a program";
const MEMFD = /^\/memfd:warren-exec( \(deleted\))?$/;

let root: RootfsCopy;

beforeAll(() => {
  root = copyRootfs("exe-shebang");
  writeFileSync(join(root.path, "trick"), PROBE, { mode: 0o755 });
  writeFileSync(join(root.path, "plain.sh"), "#!/bin/sh\necho \"script $1\"\n", { mode: 0o755 });
});

afterAll(async () => {
  await cleanupAll();
  root.remove();
});

const MODES = [
  { name: "in a user namespace", user: true },
  { name: "without one (user: false)", user: false },
];

const withTrick = (prefix: string, user: boolean, init = IDLE) =>
  busybox(prefix, { rootfs: { path: root.path, mode: "ro" }, namespaces: { user }, init });

async function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  let out = "";
  for await (const chunk of stream ?? []) out += String(chunk);
  return out;
}

/**
 * A FIFO whose buffer is full: a process given `writer` as stderr blocks in
 * its first write until `drain()`, so the test can look at it meanwhile.
 */
function fullFifo(): { writer: number; drain(): void; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), "warren-exe-fifo-"));
  const path = join(dir, "fifo");
  execFileSync("mkfifo", [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const filler = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const page = Buffer.alloc(4096, 0x2e);
  for (;;) {
    try {
      writeSync(filler, page);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") break;
      throw e;
    }
  }
  closeSync(filler);
  const writer = openSync(path, constants.O_WRONLY);
  const drain = () => {
    const buf = Buffer.alloc(65536);
    for (;;) {
      try {
        if (readSync(reader, buf) === 0) return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") return;
        throw e;
      }
    }
  };
  return {
    writer,
    drain,
    close: () => {
      closeSync(writer);
      closeSync(reader);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What opening `path` for writing and writing or truncating it gives: an error code, or "WRITTEN". */
function tryWrite(path: string, how: "write" | "truncate"): string {
  try {
    const fd = openSync(path, "r+");
    try {
      if (how === "write") writeSync(fd, "x");
      else ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
    return "WRITTEN";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

// Finds the held exec (its command line is this test's fixture, shared
// memory being Node's; the pattern is split so this shell's own command
// line does not match), then tries what ptrace access would allow.
const ATTACKER = `
pat="exec-""window"; v=""; n=0
while [ -z "$v" ] && [ $n -lt 500 ]; do
  for d in /proc/[0-9]*; do
    case "$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)" in *"$pat"*) v=\${d#/proc/};; esac
  done
  n=$((n+1)); [ -z "$v" ] && usleep 20000
done
echo "victim:$v"
readlink /proc/$v/exe && echo EXE-LINK
head -c 1 /proc/$v/exe >/dev/null 2>&1 && echo EXE-READ
head -c 1 /proc/$v/maps >/dev/null 2>&1 && echo MAPS-READ
head -c 1 /proc/$v/environ >/dev/null 2>&1 && echo ENVIRON-READ
ls /proc/$v/fd >/dev/null 2>&1 && echo FD-LIST
cat /tmp/fifo >/dev/null
`;

describe("the process an exec puts in the container, before it execs", () => {
  it("cannot be reached through /proc by container root, even as unmapped host root in the container's pid namespace", async () => {
    const c = await busybox("exe-race", { mounts: [{ type: "tmpfs", target: "/tmp" }] });
    await c.start();
    await c.execOutput(["mkfifo", "/tmp/fifo"], { check: true });
    const attacker = c.execOutput(["sh", "-c", ATTACKER]);
    const fixture = join(import.meta.dirname, "fixtures/exec-window.ts");
    // A fresh Node process: this one has started containers, and a
    // credential change in a child sharing its memory already made it
    // non-dumpable (fs.suid_dumpable 0), which would hide the attack.
    const victim = promisify(execFile)(process.execPath, ["--import", "tsx", fixture, String(c.pid), "/tmp/fifo"], { timeout: 20_000 });
    const [a, v] = await Promise.all([attacker, victim]);
    expect(v.stderr).toBe("");
    expect(a.stdout).toMatch(/^victim:\d+$/m);
    for (const got of ["EXE-LINK", "EXE-READ", "MAPS-READ", "ENVIRON-READ", "FD-LIST"]) expect(a.stdout).not.toContain(got);
    await c.stop();
  });
});

describe("a container program whose `#!` line is /proc/self/exe", () => {
  for (const { name, user } of MODES) {
    it(`run through exec ${name}, gets warren-exec as its interpreter, not the host's node`, async () => {
      const c = await withTrick("exe-exec", user);
      await c.start();
      const r = await c.execOutput(["/trick"]);
      expect(r.stdout).not.toContain("ran:");
      expect(r.stderr).toContain(HELPER_SAYS);
      expect(r.code).toBe(126);
      // The ordinary paths still work: a PATH search, a `#!/bin/sh` script.
      expect((await c.execOutput(["echo", "plain"], { check: true })).stdout).toBe("plain\n");
      expect((await c.execOutput(["/plain.sh", "arg"], { check: true })).stdout).toBe("script arg\n");
      await c.stop();
    });

    it(`run as the init ${name}, gets warren-exec as its interpreter`, async () => {
      const c = await withTrick("exe-init", user, ["/trick"]);
      await c.start({ stdio: ["ignore", "pipe", "pipe"] });
      const [stdout, stderr, status] = await Promise.all([collect(c.stdout), collect(c.stderr), c.exited]);
      expect(stdout).not.toContain("ran:");
      expect(stderr).toContain(HELPER_SAYS);
      expect(status.code).toBe(126);
    });

    it(`${name}: the running interpreter is a sealed memfd that neither the host nor container root can write`, async () => {
      const fifo = fullFifo();
      try {
        const c = await withTrick("exe-memfd", user, ["/trick"]);
        // The init is warren-exec, blocked writing its message to stderr.
        await c.start({ stdio: ["ignore", "ignore", fifo.writer] });
        const exe = `/proc/${c.pid}/exe`;
        expect(readlinkSync(exe)).toMatch(MEMFD);
        // Container root cannot even reach it: it is not dumpable.
        const inside = await c.execOutput(["sh", "-c", "readlink /proc/1/exe && echo LINK; echo x >> /proc/1/exe && echo WROTE; true"]);
        expect(inside.stdout).not.toMatch(/LINK|WROTE/);
        // Host root (every capability) can: busy while it runs, and once
        // nothing runs it, which is when CVE-2019-5736 rewrote runc, the
        // seals still refuse every change.
        const held = openSync(exe, "r");
        try {
          expect(["ETXTBSY", "EPERM"]).toContain(tryWrite(exe, "write"));
          fifo.drain();
          expect((await c.exited).code).toBe(126);
          expect(tryWrite(`/proc/self/fd/${held}`, "write")).toBe("EPERM");
          expect(tryWrite(`/proc/self/fd/${held}`, "truncate")).toBe("EPERM");
        } finally {
          closeSync(held);
        }
      } finally {
        fifo.close();
      }
    });
  }

  it.skipIf(debianSkipReason() !== undefined)("does not run the host's node even where the rootfs has node's libraries (Debian)", async () => {
    const c = await debian("exe-debian", { init: IDLE, mounts: [{ type: "tmpfs", target: "/tmp" }] });
    await c.start();
    await c.execOutput(["sh", "-c", "cat > /tmp/trick && chmod 755 /tmp/trick"], { input: PROBE, check: true });
    const r = await c.execOutput(["/tmp/trick"]);
    expect(r.stdout).not.toContain("ran:");
    expect(r.stderr).toContain(HELPER_SAYS);
    await c.stop();
  });
});
