/**
 * What follows a run's end once its exit is recorded: the `stopped` event,
 * and the restart policy's restart, done here for a run without a monitor,
 * or followed here when the monitor does it (src/container/restart.ts).
 * @module
 */
import type { ContainerHandle, Run } from "./handle.js";
import { restartDecision } from "./restart-policy.js";
import { isLive, type ExitStatus } from "./state.js";

/**
 * After a run's exit is recorded: the `stopped` event, and what the
 * restart policy does. A supervised run is restarted by its monitor (any
 * process may hold the container): the handle follows the new run. A
 * run without one is restarted here, by the process that started it.
 */
export function afterRun(h: ContainerHandle, pid: number, owned: boolean, final: ExitStatus): void {
  if (h.destroyed) return h.emit({ type: "stopped", status: final });
  const decision = restartDecision(h.config, h.state, Date.now());
  const here = decision.restart && !h.state.supervised && owned && h.hooks.restart !== undefined;
  const restarting = decision.restart && (here || h.state.supervised === true);
  h.emit({ type: "stopped", status: final, ...(restarting ? { restarting: true } : {}) });
  if (!restarting || !decision.restart) return;
  if (!here) return followRestart(h, pid, final);
  // The same container again, started as before.
  const { wait: _wait, ...again } = h.startOptions ?? {};
  h.hooks.restart!(again, { afterPid: pid, restarts: decision.restarts }).catch((e) => {
    h.warnings.push(`restart: ${(e as Error).message}`);
    h.emit({ type: "stopped", status: final });
  });
}

/**
 * Waits (up to 30 s) for the monitor's restart of the run of `pid` and
 * adopts the new init, or gives up when a stop, a destroy or the restart
 * limit ended it.
 */
function followRestart(h: ContainerHandle, pid: number, final: ExitStatus): void {
  const until = Date.now() + 30_000;
  const tick = async () => {
    if (h.destroyed || h.run) return;
    const disk = await h.store.readState(h.name).catch(() => undefined);
    if (!disk) return;
    if (isLive(disk.status) && disk.pid !== pid) {
      await h.refresh();
      const run = h.run as Run | null; // adopted by the refresh
      if (run) h.emit({ type: "started", pid: run.pid });
      return;
    }
    if (disk.stopRequested || (disk.pid === pid && disk.restartRefused) || Date.now() > until) {
      return h.emit({ type: "stopped", status: final });
    }
    setTimeout(() => void tick().catch(() => undefined), 50).unref();
  };
  setTimeout(() => void tick().catch(() => undefined), 50).unref();
}
