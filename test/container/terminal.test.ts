/**
 * `start({terminal})` and `exec(argv, {terminal})`: the process gets a pty
 * of the container's own devpts as stdio and controlling terminal, and the
 * master goes over a console socket (runc's protocol, what podman's conmon
 * and containerd's shim receive).
 */
import { closeSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ConfigError } from "../../src/errors.js";
import { native } from "../../src/native/binding.js";
import { listenConsole } from "../helpers/console-socket.js";
import { busybox, cleanupAll } from "../helpers/env.js";

const work = mkdtempSync(join(tmpdir(), "warren-terminal-"));
afterAll(async () => {
  await cleanupAll();
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** A console receiver and a socket connected to it, as the OCI runtime connects to --console-socket. */
async function consoleSocket() {
  const path = join(work, `console-${n++}.sock`);
  const receiver = await listenConsole(path);
  return { receiver, fd: native().unixConnect(path) };
}

// What a process learns about its terminal: the name inside, whether it is
// the controlling terminal (tty_nr, field 7 of stat), the slave's owner and
// the fds it has (only 0, 1, 2 and ls's own).
const PROBE = "echo name=$(tty); echo ctty=$(cut -d' ' -f7 /proc/self/stat); echo owner=$(stat -c %u $(tty)); echo fds=$(ls /proc/self/fd | tr '\\n' ' ')";

function fields(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of output.split(/\r?\n/)) {
    const m = /^(\w+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

describe("a terminal of the container's own over a console socket", () => {
  it("gives the init /dev/pts/N as stdio and controlling terminal, and sends the master", async () => {
    const c = await busybox("term-init", { init: ["/bin/sh", "-c", PROBE] });
    const { receiver, fd } = await consoleSocket();
    try {
      await c.start({ terminal: fd });
    } finally {
      closeSync(fd); // the caller's to close; the child closed its copy
    }
    const got = await receiver.done;
    expect(got.name).toBe("/dev/ptmx");
    const f = fields(got.output);
    expect(f.name, got.output).toMatch(/^\/dev\/pts\/\d+$/);
    expect(Number(f.ctty), got.output).toBeGreaterThan(0);
    expect(f.owner).toBe("0");
    // 0, 1 and 2, plus ls's directory: no master, no socket.
    expect(f.fds!.split(" ").filter(Boolean)).toEqual(["0", "1", "2", "3"]);
    expect(await c.exited).toMatchObject({ code: 0, signal: null });
  });

  it("gives an exec'd process one owned by its user, and refuses it with tty or stdio options", async () => {
    const c = await busybox("term-exec");
    await c.start();
    const { receiver, fd } = await consoleSocket();
    let code: number | null;
    try {
      const p = await c.exec(["/bin/sh", "-c", PROBE], { terminal: fd, user: { uid: 1000, gid: 1000 } });
      expect(p.stdout).toBeNull();
      code = (await p.exited).code;
    } finally {
      closeSync(fd);
    }
    expect(code).toBe(0);
    const f = fields((await receiver.done).output);
    expect(f.name).toMatch(/^\/dev\/pts\/\d+$/);
    expect(Number(f.ctty)).toBeGreaterThan(0);
    expect(f.owner).toBe("1000");
    await expect(c.exec(["true"], { terminal: 0, tty: true })).rejects.toThrow(ConfigError);
    await expect(c.exec(["true"], { terminal: 0, stdout: "pipe" })).rejects.toThrow(/stdout: not with `terminal`/);
  });

  it("fails the start with the step and errno when nobody listens", async () => {
    const c = await busybox("term-gone", { init: ["/bin/true"] });
    const path = join(work, "gone.sock");
    const receiver = await listenConsole(path);
    const fd = native().unixConnect(path);
    receiver.close();
    await receiver.done.catch(() => undefined);
    try {
      await expect(c.start({ terminal: fd })).rejects.toThrow(/terminal.*EPIPE|terminal.*ECONNRESET/);
    } finally {
      closeSync(fd);
    }
    expect(c.state).toBe("created"); // nothing left running
  });
});
