/**
 * Restart policies (config `restart`, and `onReboot` for a reboot from
 * inside), and how a process that is not the init's parent learns how the
 * init ended.
 *
 * How the init's end is learnt: src/container/exit-status.ts.
 *
 * Who restarts: a run whose monitor got the restart hook is *supervised*
 * (`state.supervised`). When its init ends, the monitor becomes `warren
 * after-exit --root ROOT NAME PID` ({@link afterExit}): warren's own start
 * path, in a Node process of its own, so the restart works after the
 * starting process is gone. A run without a monitor (no console, no
 * readiness, restart "no") is restarted after a reboot from inside by the
 * process that started it, while it lives.
 * @module
 */
import type { ResolvedRuntime } from "../config/runtime.js";
import { StateError } from "../errors.js";
import { withLock } from "../linux/lock.js";
import { ContainerHandle } from "./handle.js";
import { RESTART_LIMIT, RESTART_WINDOW_MS, restartDecision } from "./restart-policy.js";
import { startContainer } from "./start.js";
import { isLive, StateStore } from "./state.js";

/** Records why the policy left the ended run of `pid` stopped, if that run is still the container's last. */
async function refuse(h: ContainerHandle, pid: number, reason: "restart-limit" | "start-failed", message: string): Promise<void> {
  await withLock(h.store.lockPath(h.name), async () => {
    const disk = await h.store.readState(h.name);
    if (!disk || disk.pid !== pid || isLive(disk.status)) return;
    h.state = { ...disk, restartRefused: { reason, message, at: new Date().toISOString() } };
    await h.store.writeState(h.name, h.state);
  });
}

/**
 * `warren after-exit`: run by a supervised run's monitor once its init
 * (`pid`) has ended. Records the exit (the monitor wrote the status) and
 * applies the restart policy: starts the container again as a plain
 * start does, unless a stop or destroy through warren asked otherwise,
 * another run already began, or the limit is reached. Returns what it did.
 */
export async function afterExit(runtime: ResolvedRuntime, name: string, pid: number): Promise<"restarted" | "stopped" | "restart-limit" | "gone"> {
  const store = new StateStore(runtime.root);
  const record = await store.readRecord(name);
  const state = await store.readState(name);
  if (!record || !state) return "gone";
  const h = new ContainerHandle(runtime, record, state);
  await h.refresh(); // the init is gone: its exit is recorded now, if nobody did yet
  if (h.destroyed) return "gone";
  if (h.state.pid !== pid || isLive(h.status)) return "stopped"; // another run began meanwhile
  const decision = restartDecision(h.config, h.state, Date.now());
  if (!decision.restart) {
    if (decision.refused) {
      await refuse(h, pid, decision.refused, `more than ${RESTART_LIMIT} restarts within ${RESTART_WINDOW_MS / 1000} s`);
      return "restart-limit";
    }
    return "stopped";
  }
  try {
    await startContainer(h, {}, { afterPid: pid, restarts: decision.restarts });
  } catch (e) {
    if (e instanceof StateError && e.op === "restart") return "stopped"; // stopped, destroyed or started meanwhile
    await refuse(h, pid, "start-failed", (e as Error).message).catch(() => undefined);
    throw e;
  }
  h.run?.watcher.unref();
  return "restarted";
}
