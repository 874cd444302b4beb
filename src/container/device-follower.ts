/**
 * The root's device follower: one detached process per state root
 * (`warren device follow --root ROOT`, started on demand) that follows the
 * hotplug devices of every running container under the root, so a `usb`
 * device or a `required: false` node follows the host also after the
 * process that started the container has gone (the CLI exits at once).
 *
 * One process per root, not per container: `<root>/.devices-follower` is
 * flock'ed by the follower and holds its pid. A start (or an add) of a
 * container with such a device finds the lock free and starts one, or
 * finds it held and tells the follower to look again (SIGUSR2). The
 * follower leaves when no running container has anything to follow; it
 * clears its pid before its last look, so a start that read the pid in
 * time is seen by that look, and a later one finds the pid gone and waits
 * for the lock to be free.
 * @module
 */
import { closeSync, constants as fsc, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { cliCommand, native } from "../native/binding.js";
import { isHot } from "./device-hotplug.js";
import type { ContainerHandle } from "./handle.js";
import { reapWhenDone } from "./monitor.js";
import { StateStore } from "./state.js";

const LOCK_NAME = ".devices-follower";

/** The lock file of a root's follower. */
export const followerLockPath = (root: string) => join(root, LOCK_NAME);

function openLock(root: string): number {
  return openSync(followerLockPath(root), fsc.O_RDWR | fsc.O_CREAT, 0o600);
}

/**
 * Makes sure the root's follower runs and knows of `c` (whose hot devices
 * this process follows already): starts one, or signals the running one.
 * Best effort: what fails is a warning on `c`, the start or add stands.
 */
export async function ensureFollower(c: ContainerHandle): Promise<void> {
  const root = c.runtime.root;
  try {
    for (let attempt = 0; attempt < 500; attempt++) {
      const fd = openLock(root);
      let free: boolean;
      let pid = 0;
      try {
        free = native().flock(fd, true);
        if (!free) pid = Number(readFileSync(followerLockPath(root), "utf8").trim()) || 0;
      } finally {
        closeSync(fd); // drops the lock just taken, for the follower to take
      }
      if (free) {
        spawnFollower(c);
        return;
      }
      if (pid > 0) {
        try {
          process.kill(pid, "SIGUSR2");
          return;
        } catch {
          /* it just exited: look again */
        }
      }
      // Held without a pid: a follower starting (it writes its pid, then
      // looks) or leaving (its last look is under way): ask again shortly.
      await sleep(10);
    }
    c.warnings.push("devices: the root's device follower neither answered nor left; hotplug devices follow only in this process");
  } catch (e) {
    c.warnings.push(`devices: could not start the device follower: ${(e as Error).message}; hotplug devices follow only in this process`);
  }
}

function spawnFollower(c: ContainerHandle): void {
  const cli = cliCommand();
  if (!cli) {
    c.warnings.push("devices: warren's CLI (dist/cli/main.js of its package) is not there to follow hotplug devices after this process exits");
    return;
  }
  const pid = native().spawnDetached(cli[0]!, [...cli, "device", "follow", "--root", c.runtime.root], []);
  reapWhenDone(pid);
}

/** A container as the follower uses it (the public Container class, given by the CLI). */
export interface FollowedContainer {
  name: string;
  state: string;
  exited: Promise<unknown>;
  followDevices(): Promise<boolean>;
}

/** What the follower needs of the library: a container by name (Container.get). */
export interface FollowerApi {
  get(name: string): Promise<FollowedContainer>;
}

/**
 * The containers of `root` whose config has a device that follows the
 * host, by their records alone: the follower loads (and so watches) only
 * those, never a container it has nothing to do with.
 */
async function withHotDevices(root: string, api: FollowerApi): Promise<FollowedContainer[]> {
  const store = new StateStore(root);
  const out: FollowedContainer[] = [];
  for (const name of await store.names()) {
    const record = await store.readRecord(name).catch(() => undefined);
    if (!Object.values(record?.config.devices ?? {}).some(isHot)) continue;
    const c = await api.get(name).catch(() => undefined);
    if (c) out.push(c);
  }
  return out;
}

/**
 * The follower's loop (`warren device follow`): resolves when no running
 * container of the root has a device to follow, or at once when another
 * process follows the root already.
 */
export async function runFollower(root: string, api: FollowerApi): Promise<void> {
  const fd = openLock(root);
  if (!native().flock(fd, true)) {
    closeSync(fd);
    return;
  }
  const followed = new Map<string, Promise<void>>();
  let again = true;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    again = true;
    wake?.();
  };
  process.on("SIGUSR2", onSignal);
  // The uevent socket and the exit watchers never hold Node up: this does.
  const alive = setInterval(() => undefined, 1 << 30);
  const writePid = (text: string) => {
    ftruncateSync(fd, 0);
    if (text) writeSync(fd, text, 0);
  };
  const look = async () => {
    again = false;
    let cs: FollowedContainer[];
    try {
      cs = await withHotDevices(root, api);
    } catch {
      return; // the root went away: nothing to follow
    }
    for (const c of cs) {
      if (c.state !== "running" && c.state !== "frozen") continue;
      try {
        // Also for one followed already: a device added since is read again.
        if (!(await c.followDevices()) || followed.has(c.name)) continue;
      } catch {
        continue; // stopped or destroyed meanwhile
      }
      followed.set(c.name, c.exited.then(() => void followed.delete(c.name), () => void followed.delete(c.name)));
    }
  };
  try {
    writePid(String(process.pid));
    for (;;) {
      if (again) await look();
      if (followed.size === 0) {
        writePid("");
        await look();
        if (followed.size === 0) return;
        writePid(String(process.pid));
        continue;
      }
      if (again) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        for (const done of followed.values()) void done.then(resolve);
      });
      wake = undefined;
    }
  } finally {
    clearInterval(alive);
    process.off("SIGUSR2", onSignal);
    closeSync(fd);
  }
}
