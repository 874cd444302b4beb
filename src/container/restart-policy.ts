/**
 * Restart policies: whether a container starts again after its init ended
 * (config `restart`, and `onReboot` for a reboot from inside), with Incus's
 * limit on restart loops, and the hook a container's monitor runs to apply
 * them (src/container/restart.ts).
 * @module
 */
import type { ResolvedConfig } from "../config/schema.js";
import { cliCommand } from "../native/binding.js";
import type { ContainerHandle } from "./handle.js";
import type { RuntimeState } from "./state.js";

/** Incus's rule: more than this many restarts within {@link RESTART_WINDOW_MS} leave the container stopped. */
export const RESTART_LIMIT = 10;
export const RESTART_WINDOW_MS = 60_000;

/** A restart the policy asked for: the run it follows, and the restart times to record with the new run. */
export interface AutoRestart {
  afterPid: number;
  restarts: number[];
}

/** Whether the policy wants a start after this end (the limit aside). */
function wanted(config: Pick<ResolvedConfig, "restart" | "onReboot">, state: RuntimeState): boolean {
  if (state.stopRequested) return false; // stopped or destroyed through warren
  const exit = state.exit;
  if (exit?.reason === "reboot") return config.onReboot === "restart";
  if (config.restart === "always") return true;
  if (config.restart !== "on-failure") return false;
  // A clean exit and a power-off from inside are not failures; an unknown end counts as one.
  return !(exit?.reason === "halt" || (exit?.code === 0 && exit.signal === null));
}

/**
 * What the policy does after the run recorded in `state` ended: restart
 * (with the restart times to record), or not, saying why when the limit
 * stopped it.
 */
export function restartDecision(
  config: Pick<ResolvedConfig, "restart" | "onReboot">,
  state: RuntimeState,
  now: number,
): { restart: true; restarts: number[] } | { restart: false; refused?: "restart-limit" } {
  if (!wanted(config, state)) return { restart: false };
  const recent = (state.restarts ?? []).filter((t) => t <= now && now - t < RESTART_WINDOW_MS);
  if (recent.length >= RESTART_LIMIT) return { restart: false, refused: "restart-limit" };
  return { restart: true, restarts: [...recent, now] };
}

/**
 * The hook a run's monitor becomes when its init ends (the init's pid is
 * appended), or undefined when nothing would restart it: no restart policy
 * and no reboot to answer (`onReboot: "stop"`), or an ephemeral container;
 * also when warren's CLI is not there (said in the container's warnings).
 */
export function restartHook(c: ContainerHandle): string[] | undefined {
  const config = c.config;
  if (config.ephemeral || (config.restart === "no" && config.onReboot !== "restart")) return undefined;
  const cli = cliCommand();
  if (!cli) {
    if (config.restart !== "no") c.warnings.push("restart policy: warren's CLI (dist/cli/main.js of its package) is not there; the container will not be restarted");
    return undefined;
  }
  return [...cli, "after-exit", "--root", c.runtime.root, c.name];
}

