/**
 * Cross-process locks on files (flock through the addon, non-blocking and
 * retried on a timer so the event loop never blocks on another process).
 * @module
 */
import { closeSync, openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import { HostError, WarrenError } from "../errors.js";
import { codeOf } from "./errno.js";
import { native } from "../native/binding.js";

export interface Lock {
  release(): Promise<void>;
}

/** Takes an exclusive flock on `path` (created if missing), waiting up to `timeoutMs`. */
export async function lockFile(path: string, timeoutMs = 30_000): Promise<Lock> {
  let fd: number;
  try {
    fd = openSync(path, "a", 0o600);
  } catch (e) {
    throw new HostError(`open lock \`${path}\``, codeOf(e), { path, syscall: "open", cause: e });
  }
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    let taken: boolean;
    try {
      taken = native().flock(fd, true);
    } catch (e) {
      closeSync(fd);
      throw new HostError(`lock \`${path}\``, codeOf(e), { path, syscall: "flock", cause: e });
    }
    if (taken) {
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          closeSync(fd); // closing the description drops the flock
        },
      };
    }
    if (Date.now() > deadline) {
      closeSync(fd);
      throw new WarrenError(`timed out after ${timeoutMs} ms waiting for the lock \`${path}\``, "ERR_WARREN_LOCK_TIMEOUT");
    }
    await sleep(delay);
  }
}

/** Runs `fn` holding the lock on `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const lock = await lockFile(path, timeoutMs);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
