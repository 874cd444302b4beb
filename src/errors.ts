/**
 * warren's errors: one base class and a few subclasses, each with a stable
 * `code` and the context a caller needs (which field, which step, which errno).
 * @module
 */
import { errnoName } from "./linux/errno.js";

/** Base class of every error warren throws on purpose. */
export class WarrenError extends Error {
  /** Stable machine-readable code, e.g. `ERR_WARREN_CONFIG`. */
  readonly code: string;
  /** Name of the container concerned, when there is one. */
  readonly container?: string;

  constructor(message: string, code: string, options?: { container?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.container !== undefined) this.container = options.container;
  }
}

/** One problem found while validating input, with the path of the field. */
export interface ConfigIssue {
  /** Dotted path of the offending field, e.g. `mounts[1].target`. */
  path: string;
  message: string;
}

/** The configuration (or a name or option) was rejected. Nothing was created. */
export class ConfigError extends WarrenError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], options?: { container?: string }) {
    const what = options?.container ? `container "${options.container}": ` : "";
    super(
      `${what}invalid configuration: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}`,
      "ERR_WARREN_CONFIG",
      options,
    );
    this.issues = issues;
  }
}

/** An operation is not possible in the container's current state. */
export class StateError extends WarrenError {
  readonly op: string;
  readonly state: string;
  constructor(message: string, op: string, state: string, options?: { container?: string }) {
    super(message, "ERR_WARREN_STATE", options);
    this.op = op;
    this.state = state;
  }
}

/** The container (or an exec'd process) could not be set up: a step failed in the kernel. */
export class SetupError extends WarrenError {
  /** The plan step that failed, e.g. `pivot-root`, `mount`, `exec`, `uid-map`. */
  readonly step: string;
  /** Node-style errno name, e.g. `EINVAL`. */
  readonly errno: string;
  /** Positive errno number. */
  readonly errnoNumber: number;
  /** What was being done, e.g. ``mount proc on `/proc` ``. */
  readonly detail: string;
  readonly path?: string;

  constructor(
    what: string,
    step: string,
    errnoNumber: number,
    detail: string,
    options?: { container?: string; path?: string; hint?: string },
  ) {
    const errno = errnoName(errnoNumber);
    const who = options?.container ? `container "${options.container}": ` : "";
    super(
      `${who}${what} failed at ${step}: ${detail}: ${errno}${options?.hint ? ` (${options.hint})` : ""}`,
      "ERR_WARREN_SETUP",
      options,
    );
    this.step = step;
    this.errno = errno;
    this.errnoNumber = errnoNumber;
    this.detail = detail;
    if (options?.path !== undefined) this.path = options.path;
  }
}

/** A container or process could not be found. */
export class NotFoundError extends WarrenError {
  constructor(message: string, options?: { container?: string }) {
    super(message, "ERR_WARREN_NOT_FOUND", options);
  }
}

/** A process run through `execOutput` ended unsuccessfully (when asked to reject). */
export class ProcessExitError extends WarrenError {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(
    argv: readonly string[],
    result: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string },
    options?: { container?: string },
  ) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    super(`\`${argv.join(" ")}\` ${how}${result.stderr ? `: ${result.stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`, "ERR_WARREN_PROCESS_EXIT", options);
    this.exitCode = result.code;
    this.signal = result.signal;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/** The native addon could not be loaded. */
export class NativeLoadError extends WarrenError {
  readonly tried: string[];
  constructor(tried: string[], cause: unknown) {
    super(
      `cannot load warren's native addon (tried ${tried.join(", ")}); build it with \`npm run build:native\``,
      "ERR_WARREN_NATIVE_LOAD",
      { cause },
    );
    this.tried = tried;
  }
}

/** A system call outside the container setup failed (cgroupfs, state files, pidfds). */
export class HostError extends WarrenError {
  readonly errno: string;
  readonly syscall?: string;
  readonly path?: string;
  constructor(message: string, errno: string, options?: { container?: string; syscall?: string; path?: string; cause?: unknown }) {
    super(`${message}: ${errno}`, "ERR_WARREN_HOST", options);
    this.errno = errno;
    if (options?.syscall !== undefined) this.syscall = options.syscall;
    if (options?.path !== undefined) this.path = options.path;
  }
}

/**
 * `start({wait: "ready"})` gave up: the container did not say it was ready
 * in time. It is left running; `lastConsoleLines` shows what its console
 * said last.
 */
export class ReadyTimeoutError extends WarrenError {
  readonly waitedMs: number;
  readonly lastConsoleLines: string[];
  constructor(container: string, waitedMs: number, lastConsoleLines: string[]) {
    super(
      `container "${container}" was not ready after ${waitedMs} ms` +
        (lastConsoleLines.length ? `; its console said last:\n  ${lastConsoleLines.join("\n  ")}` : " (nothing on its console)"),
      "ERR_WARREN_READY_TIMEOUT",
      { container },
    );
    this.waitedMs = waitedMs;
    this.lastConsoleLines = lastConsoleLines;
  }
}
