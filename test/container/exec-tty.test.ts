/** exec with a terminal: byte-exact output, no leaked master, stdio ownership, the default cwd. */
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import type { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";

import { busybox, cleanupAll } from "../helpers/env.js";

afterAll(cleanupAll);

const MIB100 = 100 * 1024 * 1024;
const fdCount = () => readdirSync("/proc/self/fd").length;

/** Hashes a stream to its end, reading it either as a flowing stream that pauses now and then, or with `for await` (a paused stream). */
async function sha256Of(stream: Readable, style: "iterate" | "stutter"): Promise<{ hash: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  if (style === "iterate") {
    for await (const b of stream as AsyncIterable<Buffer>) {
      h.update(b);
      bytes += b.length;
    }
  } else {
    await new Promise<void>((resolve, reject) => {
      let n = 0;
      stream.on("data", (b: Buffer) => {
        h.update(b);
        bytes += b.length;
        // Backpressure as a slow consumer applies it: the terminal must not drop what it holds meanwhile.
        if (++n % 64 === 0) {
          stream.pause();
          setTimeout(() => stream.resume(), 1);
        }
      });
      stream.on("end", resolve);
      stream.on("error", reject);
    });
  }
  return { hash: h.digest("hex"), bytes };
}

async function settledFdCount(want: number): Promise<number> {
  for (let i = 0; i < 100 && fdCount() > want; i++) await new Promise((r) => setTimeout(r, 20));
  return fdCount();
}

describe("exec with a tty", () => {
  it("delivers 100 MiB byte-exact, 20 times, however the output is read", { timeout: 600_000 }, async () => {
    const c = await busybox("tty-exact");
    await c.start();
    for (let i = 0; i < 20; i++) {
      // Raw mode: no \n -> \r\n. tee hands the bytes to the terminal (fd 3) and to sha256sum.
      const script = `stty raw -echo; exec 3>&1; head -c ${MIB100} /dev/urandom | tee /dev/fd/3 | sha256sum > /dev/shm/sum`;
      const p = await c.exec(["sh", "-c", script], { tty: true });
      const got = await sha256Of(p.stdout!, i % 2 ? "iterate" : "stutter");
      expect(await p.exited).toEqual({ code: 0, signal: null });
      const inside = (await c.execOutput(["cat", "/dev/shm/sum"], { check: true })).stdout.split(" ")[0];
      expect({ run: i, ...got }).toEqual({ run: i, hash: inside, bytes: MIB100 });
    }
    await c.stop();
  });

  it("closes the master of 200 execs nobody reads (exited or killed), keeping their output for a late reader", { timeout: 120_000 }, async () => {
    const c = await busybox("tty-leak");
    await c.start();
    // One first, so that what any exec opens once (modules, the cgroup leaf) is in the baseline.
    await (await c.exec(["true"], { tty: true })).exited;
    const before = await settledFdCount(0);
    const unread = [];
    for (let i = 0; i < 200; i++) {
      if (i % 4 === 3) {
        const p = await c.exec(["sleep", "30"], { tty: true });
        p.kill("SIGKILL");
        expect(await p.exited).toEqual({ code: null, signal: "SIGKILL" });
      } else {
        // Small enough for the terminal to hold: a writer of more would wait for a reader, as on any terminal.
        const p = await c.exec(["sh", "-c", `stty -onlcr; head -c 2000 /dev/zero | tr '\\0' x; echo " end ${i}"`], { tty: true });
        expect(await p.exited).toEqual({ code: 0, signal: null });
        if (i < 8) unread.push({ i, p });
      }
    }
    expect(await settledFdCount(before)).toBe(before);
    for (const { i, p } of unread) {
      let out = "";
      for await (const b of p.stdout! as AsyncIterable<Buffer>) out += b.toString();
      expect(out).toBe(`${"x".repeat(2000)} end ${i}\n`);
    }
    await c.stop();
  });
});

describe("exec stdio and cwd", () => {
  it("gives the process stdio owned by the container's root (pipes) or by its user (terminal)", async () => {
    const c = await busybox("exec-owner");
    await c.start();
    const stat = "stat -L -c %u:%g /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2";
    const piped = await c.execOutput(["sh", "-c", `${stat}; chown 0:0 /proc/self/fd/1 && chmod 600 /proc/self/fd/1 && echo ok`], { input: "" });
    expect(piped).toMatchObject({ code: 0, stdout: "0:0\n0:0\n0:0\nok\n" });
    const tty = await c.execOutput(["sh", "-c", `stty -onlcr; ${stat}; chmod 600 $(tty) && echo ok`], { tty: true });
    expect(tty).toMatchObject({ code: 0, stdout: "0:0\n0:0\n0:0\nok\n" });
    const user = await c.execOutput(["sh", "-c", `stty -onlcr; stat -L -c %u:%g $(tty); chmod 600 $(tty) && echo ok`], { tty: true, user: "daemon" });
    expect(user).toMatchObject({ code: 0, stdout: "1:1\nok\n" });
    await c.stop();
  });

  it("starts in the user's home when nothing sets a cwd and the user may enter it, else /", async () => {
    const pwd = async (c: Awaited<ReturnType<typeof busybox>>, o: Parameters<typeof c.execOutput>[1] = {}) =>
      (await c.execOutput(["pwd"], { check: true, ...o })).stdout.trim();
    // No user namespace: the rootfs's /root (0700, host root's) is root's own.
    const host = await busybox("exec-home-host", { namespaces: { user: false } });
    await host.start();
    expect(await pwd(host)).toBe("/root");
    await host.stop();
    const c = await busybox("exec-home");
    await c.start();
    // A user namespace does not map the owner of that /root: root may not enter it.
    expect(await pwd(c)).toBe("/");
    // daemon's home, /usr/sbin, as the kernel names it (a link to /bin in this rootfs).
    expect(await pwd(c, { user: "daemon" })).toBe((await c.execOutput(["readlink", "-f", "/usr/sbin"])).stdout.trim());
    expect(await pwd(c, { user: "nobody" })).toBe("/"); // home /nonexistent
    expect(await pwd(c, { user: 1000 })).toBe("/"); // no passwd entry
    expect(await pwd(c, { cwd: "/tmp" })).toBe("/tmp");
    await c.stop();
    const configured = await busybox("exec-home-cfg", { cwd: "/etc" });
    await configured.start();
    expect(await pwd(configured)).toBe("/etc");
    await configured.stop();
  });
});
