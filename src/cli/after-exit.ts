/**
 * `warren after-exit NAME PID`: what a container's monitor becomes when the
 * init it followed ends (restart-policy.ts): records the exit and applies
 * the container's restart policy. Not for people: it prints what it did
 * (the monitor's stdout is /dev/null) for a manual run's sake.
 * @module
 */
import { resolveRuntime } from "../config/runtime.js";
import { afterExit } from "../container/restart.js";
import { UsageError } from "./args.js";
import type { Io } from "./io.js";
import { named } from "./named.js";

export async function afterExitCommand(argv: string[], io: Io): Promise<number> {
  const a = named("after-exit", argv, {}, io, ["PID"]);
  if (!a) return 0;
  const pid = Number(a.args[0]);
  if (!/^\d+$/.test(a.args[0]!) || pid < 1) throw new UsageError(`PID: expected a process id, got ${JSON.stringify(a.args[0])}`, "after-exit");
  io.out(await afterExit(resolveRuntime({ root: a.root }), a.name, pid));
  return 0;
}
