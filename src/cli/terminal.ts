/**
 * A terminal of the container's own for `warren run` on a terminal: a pty
 * whose slave is the init's stdio wherever this process has a terminal, and
 * whose master this process relays to and from its own terminal. Handing
 * the init this process's terminal itself would let the container type into
 * the host's shell (TIOCSTI), change the terminal's settings or take it
 * over; through a pty it only ever reaches its own.
 * @module
 */
import { closeSync, constants as fsc, openSync } from "node:fs";
import { ReadStream } from "node:tty";

import type { StdioTarget } from "../container/stdio.js";
import { native } from "../native/binding.js";
import { enterRawMode, followWindowSize, windowSize } from "./io.js";

const CTRL_C = 0x03;

export interface RunTerminal {
  /** The init's stdio: the pty slave where this process has a terminal, the rest inherited. */
  stdio: [StdioTarget, StdioTarget, StdioTarget];
  /**
   * Relays until every holder of the slave has closed it; resolves once the
   * output is all out. ^C typed also calls `onInterrupt`: the terminal is in
   * raw mode and the init has no controlling terminal, so no SIGINT would
   * come from the keyboard otherwise (the byte still goes in, for programs
   * that read it).
   */
  relay(onInterrupt: () => void): Promise<void>;
  /** Closes this process's copy of the slave (once the init has its own). */
  closeSlave(): void;
}

/** A pty for the init when any of this process's stdio is a terminal, else undefined. */
export function openRunTerminal(): RunTerminal | undefined {
  const ttys = [process.stdin, process.stdout, process.stderr].map((s) => s.isTTY === true);
  if (!ttys.some(Boolean)) return undefined;
  const master = openSync("/dev/ptmx", fsc.O_RDWR | fsc.O_NOCTTY);
  let slave: number;
  try {
    slave = native().ptyPeer(master);
    const { cols, rows } = process.stdout.isTTY ? windowSize() : {};
    native().setWindowSize(master, cols ?? 80, rows ?? 24);
  } catch (e) {
    closeSync(master);
    throw e;
  }
  const stream = new ReadStream(master);
  let slaveOpen = true;
  const closeSlave = () => {
    if (slaveOpen) closeSync(slave);
    slaveOpen = false;
  };
  // The terminal the output goes to (stdout unless only stderr is one).
  const out = ttys[1] || !ttys[2] ? process.stdout : process.stderr;
  return {
    stdio: [0, 1, 2].map((i) => (ttys[i] ? slave : "inherit")) as [StdioTarget, StdioTarget, StdioTarget],
    closeSlave,
    async relay(onInterrupt) {
      const cleanups: (() => void)[] = [];
      if (ttys[0]) {
        cleanups.push(enterRawMode());
        const onData = (b: Buffer) => {
          stream.write(b);
          if (b.includes(CTRL_C)) onInterrupt();
        };
        process.stdin.on("data", onData);
        process.stdin.resume();
        cleanups.push(() => {
          process.stdin.off("data", onData);
          process.stdin.pause();
        });
      }
      if (process.stdout.isTTY) cleanups.push(followWindowSize((cols, rows) => native().setWindowSize(master, cols, rows)));
      stream.pipe(out, { end: false });
      try {
        // Reading the master fails with EIO once no one holds the slave: the end.
        await new Promise<void>((resolve) => {
          stream.once("close", () => resolve());
          stream.once("error", () => resolve());
        });
      } finally {
        for (const f of cleanups.reverse()) f();
        stream.destroy();
      }
    },
  };
}
