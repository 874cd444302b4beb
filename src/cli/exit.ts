/**
 * Exit statuses of the `warren` CLI, as docker and podman have them: the
 * command's own status, 128+N for a signal, 125 when warren itself fails,
 * 126 when the command cannot be run, 127 when it is not found.
 * @module
 */
import { signalNumber } from "../config/signals.js";
import type { ExitStatus } from "../container/state.js";
import { CgroupControllerUnavailable, SetupError, WarrenError } from "../errors.js";
import { UsageError } from "./args.js";

export const EXIT_FAILURE = 125;
export const EXIT_CANNOT_INVOKE = 126;
export const EXIT_NOT_FOUND = 127;

/** The shell's status for how a process ended. */
export function statusOf(s: ExitStatus): number {
  if (s.code !== null) return s.code;
  if (s.signal !== null) return 128 + (signalNumber(s.signal) ?? 0);
  return EXIT_FAILURE; // ended unseen: nobody knows how
}

/** The status for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof SetupError && err.step === "exec") {
    if (err.errno === "ENOENT") return EXIT_NOT_FOUND;
    if (err.errno === "EACCES" || err.errno === "ENOEXEC" || err.errno === "EPERM") return EXIT_CANNOT_INVOKE;
  }
  return EXIT_FAILURE;
}

/**
 * What to print for an error: its message (with a pointer to the help of
 * `command` for a usage error), and a stack only for an unexpected error
 * when asked (WARREN_DEBUG=1).
 */
export function errorText(err: unknown, command?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (err instanceof UsageError) {
    const cmd = err.command ?? command;
    const help = cmd ? `warren ${cmd} --help` : "warren --help";
    return `warren: ${err.message}\nSee '${help}'.`;
  }
  // Named, as the library prints it: "CgroupControllerUnavailable: memory is bound to cgroup v1 ...".
  if (err instanceof CgroupControllerUnavailable) return `warren: ${String(err)}`;
  if (err instanceof WarrenError) return `warren: ${err.message}`;
  const msg = err instanceof Error ? err.message : String(err);
  if (env.WARREN_DEBUG && err instanceof Error && err.stack) return `warren: ${msg}\n${err.stack}`;
  return `warren: ${msg}`;
}
