/**
 * An init set up but not yet running its program: the OCI runtime's
 * "created" (runc's exec fifo). `start({ hold: true })` makes a fifo in the
 * state directory and passes it, open for reading and writing, to the init;
 * warren-exec, after every setup step and the program's lookup, tells the
 * parent it is ready and waits for one byte on it (native/exec-helper).
 * {@link releaseHold}, from any process, writes that byte: the init execs.
 *
 * The fifo's existence is the state: while it is there and the init is
 * alive, the init is held; release removes it before it writes, so a
 * fresh process reading the disk never sees "held" for a started init.
 * The wait happens in warren-exec, not in the cloned child, because the
 * child shares the starting Node process's memory until its first execve,
 * and that process (`warren-oci create`) exits while the init waits.
 * @module
 */
import { closeSync, constants as fsc, existsSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs"; // libuv opens every fd close-on-exec
import { join } from "node:path";

import { HostError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";

/** The fifo's name in the state directory (runc's). */
export const HOLD_FIFO = "exec.fifo";

/**
 * Makes the fifo (replacing a stale one) and opens it for the init: O_RDWR,
 * so neither this open nor the init's read waits for a writer, and the
 * init's own reference keeps it a reader for {@link releaseHold}.
 */
export function openHold(stateDir: string, container: string): number {
  const path = join(stateDir, HOLD_FIFO);
  rmSync(path, { force: true });
  try {
    native().mknod(path, fsc.S_IFIFO | 0o600, 0, 0);
    return openSync(path, fsc.O_RDWR | fsc.O_NOFOLLOW);
  } catch (e) {
    rmSync(path, { force: true });
    throw new HostError(`make the hold fifo \`${path}\``, codeOf(e), { container, path, cause: e });
  }
}

/** Removes the fifo (a start that failed, or a held init that died). */
export function dropHold(stateDir: string): void {
  rmSync(join(stateDir, HOLD_FIFO), { force: true });
}

/** Whether the container's init was started held and not released yet. */
export function isHeld(stateDir: string): boolean {
  return existsSync(join(stateDir, HOLD_FIFO));
}

/**
 * Lets a held init run its program. A StateError (op "release") when it
 * is not held: never held, released already, or its init is gone (no
 * reader left on the fifo: ENXIO).
 */
export function releaseHold(stateDir: string, container: string): void {
  const path = join(stateDir, HOLD_FIFO);
  let fd: number;
  try {
    // Non-blocking: with no reader (the init died) this fails at once.
    fd = openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
  } catch (e) {
    const code = codeOf(e);
    if (code === "ENOENT") throw new StateError(`container "${container}" is not waiting to start`, "release", "running", { container });
    if (code === "ENXIO") {
      dropHold(stateDir);
      throw new StateError(`container "${container}" is not waiting to start: its init is gone`, "release", "stopped", { container });
    }
    throw new HostError(`open the hold fifo \`${path}\``, code, { container, path, cause: e });
  }
  try {
    // Gone from the disk first: whoever looks now sees it started.
    unlinkSync(path);
    writeSync(fd, Buffer.from([0]));
  } catch (e) {
    const code = codeOf(e);
    if (code === "ENOENT") throw new StateError(`container "${container}" was started by another process`, "release", "running", { container });
    throw new HostError(`release \`${path}\``, code, { container, path, cause: e });
  } finally {
    closeSync(fd);
  }
}
