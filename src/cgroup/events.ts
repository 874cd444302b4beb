/**
 * Container events from the kernel, not from polling: cgroup.events and
 * memory.events raise inotify modify events when a value changes (cgroup v2
 * documents this), which fs.watch turns into callbacks. Each change is
 * compared with the last values read, so only transitions are reported.
 * @module
 */
import { readFileSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";

import { parseFlatKeyed } from "./stats.js";

export type CgroupEvent =
  | { type: "frozen" }
  | { type: "thawed" }
  | { type: "populated"; populated: boolean }
  /** The container hit memory.max and the kernel's OOM handling ran (memory.events `oom`). */
  | { type: "oom"; count: number }
  /** Processes of the container were killed by the OOM killer (`oom_kill`). */
  | { type: "oom-kill"; count: number };

function readFlat(path: string): Record<string, number> | undefined {
  try {
    return parseFlatKeyed(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Watches the cgroup at `dir` until `close()`; `onEvent` gets each transition. */
export function watchCgroup(dir: string, onEvent: (e: CgroupEvent) => void): { close(): void } {
  const watchers: FSWatcher[] = [];
  const eventsPath = join(dir, "cgroup.events");
  const memoryPath = join(dir, "memory.events");
  let events = readFlat(eventsPath) ?? {};
  let memory = readFlat(memoryPath);

  const onEvents = () => {
    const now = readFlat(eventsPath);
    if (!now) return;
    if ((now.frozen ?? 0) !== (events.frozen ?? 0)) onEvent({ type: now.frozen ? "frozen" : "thawed" });
    if ((now.populated ?? 0) !== (events.populated ?? 0)) onEvent({ type: "populated", populated: !!now.populated });
    events = now;
  };
  const onMemory = () => {
    const now = readFlat(memoryPath);
    if (!now || !memory) return;
    const oom = (now.oom ?? 0) - (memory.oom ?? 0);
    const kill = (now.oom_kill ?? 0) - (memory.oom_kill ?? 0);
    memory = now;
    if (oom > 0) onEvent({ type: "oom", count: oom });
    if (kill > 0) onEvent({ type: "oom-kill", count: kill });
  };
  const add = (path: string, fn: () => void) => {
    try {
      const w = watch(path, { persistent: false }, fn);
      // The cgroup going away (container stopped) ends the watch quietly.
      w.on("error", () => w.close());
      watchers.push(w);
    } catch {
      /* no such file: that controller is not enabled */
    }
  };
  add(eventsPath, onEvents);
  if (memory) add(memoryPath, onMemory);
  return {
    close() {
      for (const w of watchers.splice(0)) w.close();
    },
  };
}

/**
 * Resolves once `cgroup.events` has `key` equal to `value` (e.g. frozen 1),
 * woken by inotify with a short polling fallback, or rejects after `timeoutMs`.
 */
export function waitForEvent(dir: string, key: string, value: number, timeoutMs: number): Promise<void> {
  const path = join(dir, "cgroup.events");
  return new Promise((resolve, reject) => {
    let done = false;
    let w: FSWatcher | undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      w?.close();
      clearInterval(poll);
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      const now = readFlat(path);
      if (!now) finish(new Error(`\`${path}\` is gone`));
      else if (now[key] === value) finish();
    };
    try {
      w = watch(path, { persistent: false }, check);
      w.on("error", () => undefined);
    } catch {
      w = undefined;
    }
    // A change between the first read and the watch would be missed: poll too.
    const poll = setInterval(check, 20);
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${key} ${value} in \`${path}\``)), timeoutMs);
    check();
  });
}
