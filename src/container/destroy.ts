/**
 * Destroying a container: its cgroup, address leases, storage (btrfs
 * subvolumes included) and state directory, under the root's lock.
 * @module
 */
import { StateError } from "../errors.js";
import { withLock } from "../linux/lock.js";
import { releaseAddresses } from "../network/manager.js";
import { removeStorage } from "../storage/backend.js";
import type { ContainerHandle } from "./handle.js";
import { releaseIdRange } from "./id-ranges.js";
import { monitorDone } from "./monitor.js";
import { isLive } from "./state.js";
import { stopContainer } from "./stop.js";

/** Removes the container; a running one is refused unless `force`, which kills it first. Idempotent. */
export async function destroyContainer(h: ContainerHandle, options: { force?: boolean }): Promise<void> {
  if (h.destroyed) return;
  await h.refresh();
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
  await withLock(h.store.globalLock, async () => {
    await h.cgroups.remove(h.name);
    h.cgroups.removeSubtreeIfEmpty();
    if (h.record.leases?.length) await releaseAddresses(h.runtime, h.name, h.record.leases.map((l) => l.name));
    await removeStorage(h.record.rootfs, h.stateDir);
    await h.store.remove(h.name);
    if (h.record.idmap) await releaseIdRange(h.runtime.root, h.name);
  });
  h.markDestroyed();
}
