/**
 * Standard I/O for processes started in a container: /dev/null, the
 * caller's own fds, pipes wrapped as Node streams, or a pty from the
 * container's own devpts.
 * @module
 */
import { closeSync, fchownSync, constants as fsc, openSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";

import { native } from "../native/binding.js";

/** What one of stdin/stdout/stderr is connected to. */
export type StdioMode = "ignore" | "inherit" | "pipe";
/** A mode, or an fd of this process the child gets a copy of (a pty slave, a file). */
export type StdioTarget = StdioMode | number;

export interface OpenedStdio {
  /** fds the child dups onto 0, 1, 2. */
  childFds: [number, number, number];
  /** Our copies of the child's ends: closed once the child has its own. */
  childSide: number[];
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
}

function pipeStream(fd: number, direction: "read" | "write"): Socket {
  // net.Socket over a pipe fd goes through libuv (non-blocking, no threadpool).
  return new Socket({ fd, readable: direction === "read", writable: direction === "write" });
}

/**
 * Opens stdio for a child. On error everything opened so far is closed.
 * `pipeOwner` (host ids) owns the pipes: a pipe's inode otherwise belongs
 * to host root, `nobody` in a user namespace, and `chown /proc/self/fd/0`
 * or fchmod on it fails inside.
 */
export function openStdio(modes: [StdioTarget, StdioTarget, StdioTarget], pipeOwner?: { uid: number; gid: number }): OpenedStdio {
  const out: OpenedStdio = { childFds: [0, 1, 2], childSide: [], stdin: null, stdout: null, stderr: null };
  const opened: number[] = [];
  try {
    let devnull = -1;
    modes.forEach((mode, i) => {
      if (typeof mode === "number") {
        out.childFds[i] = mode;
      } else if (mode === "inherit") {
        out.childFds[i] = i;
      } else if (mode === "ignore") {
        if (devnull < 0) {
          devnull = openSync("/dev/null", fsc.O_RDWR);
          opened.push(devnull);
          out.childSide.push(devnull);
        }
        out.childFds[i] = devnull;
      } else {
        const [r, w] = native().pipe();
        opened.push(r, w);
        if (pipeOwner) fchownSync(r, pipeOwner.uid, pipeOwner.gid);
        if (i === 0) {
          out.childFds[0] = r;
          out.childSide.push(r);
          out.stdin = pipeStream(w, "write");
        } else {
          out.childFds[i] = w;
          out.childSide.push(w);
          const s = pipeStream(r, "read");
          if (i === 1) out.stdout = s;
          else out.stderr = s;
        }
      }
    });
    return out;
  } catch (e) {
    for (const fd of opened) closeSync(fd);
    throw e;
  }
}

/** Closes our copies of the child's ends. */
export function closeChildSide(s: OpenedStdio): void {
  for (const fd of s.childSide) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
  s.childSide = [];
}

/** Tears the parent's streams down after a failed start. */
export function destroyStreams(s: OpenedStdio): void {
  for (const st of [s.stdin, s.stdout, s.stderr]) st?.destroy();
}
