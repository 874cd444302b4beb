/**
 * The first process of a start or an exec is cloned sharing Node's fd table
 * (CLONE_FILES) and makes its own from the part below the highest fd it
 * keeps (native/child/fds.c wr_own_fd_table); the pidfds Node holds for
 * running containers are kept above that part (native/spawn.h ParkFd). A
 * copy of the whole table made every start copy and close one fd per running
 * container: the start rate of a fleet fell as it grew. The kernel shows the
 * size of the table a process got in /proc/PID/status (FDSize): a copy of
 * Node's would hold a slot for the highest fd open here.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { native } from "../../src/native/binding.js";
import type { Container } from "../../src/index.js";
import { busybox, cleanupAll } from "../helpers/env.js";

afterAll(cleanupAll);

/** native/spawn.h kParkedFdBase. */
const PARKED_BASE = 1024;

const fdSize = (pid: number) => Number(/^FDSize:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);

/** This process's fd holding a pidfd of `pid` (fdinfo says whose), or undefined. */
function pidfdOf(pid: number): number | undefined {
  for (const fd of readdirSync("/proc/self/fd").map(Number)) {
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    } catch {
      continue;
    }
    if (new RegExp(`^Pid:\\s+${pid}$`, "m").test(info) && /^NSpid:/m.test(info)) return fd;
  }
  return undefined;
}

describe("the fd table a container's process starts with", () => {
  it("holds only the fds below the ones it keeps, started eight at once; Node's own stay open", { timeout: 60_000 }, async () => {
    const parked = native().pidfdOpen(process.pid, true);
    const dir = openSync("/", "r");
    const fleet: Container[] = [];
    try {
      expect(parked).toBeGreaterThanOrEqual(PARKED_BASE);
      for (let i = 0; i < 8; i++) fleet.push(await busybox(`fdt-${i}`));
      await Promise.all(fleet.map((c) => c.start()));
      for (const c of fleet) {
        expect(fdSize(c.pid!)).toBeLessThan(PARKED_BASE);
        expect(openFds(c.pid!)).toEqual([0, 1, 2]);
        // The pidfd held for it is kept above the fds a start needs.
        expect(pidfdOf(c.pid!)).toBeGreaterThanOrEqual(PARKED_BASE);
      }
      // An exec inherits the init's pidfd (to join its namespaces) through a low copy.
      const p = await fleet[0]!.exec(["/bin/sleep", "30"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      try {
        expect(fdSize(p.pid)).toBeLessThan(PARKED_BASE);
        expect(openFds(p.pid)).toEqual([0, 1, 2]);
        expect(pidfdOf(p.pid)).toBeGreaterThanOrEqual(PARKED_BASE);
      } finally {
        p.kill("SIGKILL");
        await p.exited;
      }
      // The children closed their copies only: what Node holds is still open.
      expect(fstatSync(dir).isDirectory()).toBe(true);
      expect(() => native().pidfdSendSignal(parked, 0)).not.toThrow();
      // A copy a file operation holds for itself is parked too, and close-on-exec.
      const copy = native().dupParked(parked);
      try {
        expect(copy).toBeGreaterThanOrEqual(PARKED_BASE);
        expect(copy).not.toBe(parked);
        const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${copy}`, "utf8"))![1]!, 8);
        expect(flags & 0o2000000).toBe(0o2000000); // O_CLOEXEC
        expect(pidfdOf(process.pid)).toBeDefined();
      } finally {
        native().close(copy);
      }
    } finally {
      closeSync(dir);
      native().close(parked);
      await Promise.all(fleet.map((c) => c.stop({ timeout: 0 })));
    }
  });
});
