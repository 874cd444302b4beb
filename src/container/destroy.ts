/**
 * Destroying a container: its cgroup, monitor, address leases, storage
 * (btrfs subvolumes included), state directory and id range. A destroy
 * intent is written first, so one interrupted half-way is finished by the
 * next process that looks (recover.ts).
 * @module
 */
import { HostError, StateError } from "../errors.js";
import { withLock } from "../linux/lock.js";
import type { ContainerHandle } from "./handle.js";
import { writeIntent } from "./intent.js";
import { monitorDone } from "./monitor.js";
import { removeContainerFiles } from "./recover.js";
import { isLive } from "./state.js";
import { stopContainer } from "./stop.js";

/** Removes the container; a running one is refused unless `force`, which kills it first. Idempotent. */
export async function destroyContainer(h: ContainerHandle, options: { force?: boolean }): Promise<void> {
  if (h.destroyed) return;
  await h.refresh();
  if (h.destroyed) return;
  if (!isLive(h.status)) {
    // No restart policy may start it again from here on; one under way
    // has finished when this returns, and then it is running.
    await h.requestStop("kill");
    await h.refresh();
  }
  if (isLive(h.status)) {
    if (!options.force) {
      throw new StateError(`container "${h.name}" is running; stop it first, or destroy it with force ({force: true}, \`warren destroy -f\`)`, "destroy", "running", { container: h.name });
    }
    await stopContainer(h, { timeout: 0 });
  }
  // The monitor of the last run writes into the state directory as it ends.
  if (h.state.monitor !== undefined) await monitorDone(h.state.monitor);
  await withLock(h.store.lockPath(h.name), async () => {
    if (!(await h.store.exists(h.name))) return; // destroyed by another process meanwhile
    const state = (await h.store.readState(h.name)) ?? { status: "created" as const };
    if (isLive(state.status)) {
      throw new StateError(`container "${h.name}" was started again by another process`, "destroy", state.status, { container: h.name });
    }
    try {
      writeIntent(h.stateDir, "destroy");
    } catch (e) {
      // A full filesystem has no room for the record, and a destroy is what
      // makes room: go on without it (a crash right now would leave a
      // container that get() still finds, half-removed).
      if (!(e instanceof HostError && (e.errno === "ENOSPC" || e.errno === "EDQUOT"))) throw e;
    }
    await removeContainerFiles(h.runtime, h.name, h.record, state.monitor);
  });
  // The subtree goes with the last container; a create racing this keeps it.
  await withLock(h.store.globalLock, async () => h.cgroups.removeSubtreeIfEmpty());
  h.markDestroyed();
}
