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

/** An image, layer or blob could not be read or applied. */
export class ImageError extends WarrenError {
  /** The blob concerned (`sha256:…`), when there is one. */
  readonly blob?: string;
  /** The archive entry concerned, when there is one. */
  readonly entry?: string;

  constructor(message: string, options?: { blob?: string; entry?: string; cause?: unknown }) {
    super(message, "ERR_WARREN_IMAGE", options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.blob !== undefined) this.blob = options.blob;
    if (options?.entry !== undefined) this.entry = options.entry;
  }
}

/** The archive is compressed with something this reader does not handle (zstd, xz, bzip2, lz4). */
export class UnsupportedCompressionError extends ImageError {
  readonly compression: string;
  constructor(compression: string, options?: { blob?: string }) {
    super(`unsupported compression: ${compression} (gzip, xz, zstd and uncompressed tar are handled)`, options);
    this.compression = compression;
  }
}

/**
 * A registry pull failed. The message names the reference and the step
 * (`reference`, `auth`, `manifest`, `config`, `layer`, `unpack`):
 * ``pull 127.0.0.1:5000/busybox:1: manifest: HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)``.
 */
export class RegistryError extends ImageError {
  /** The reference as given to `pull`. */
  readonly reference: string;
  /** The step that failed. */
  readonly step: string;
  /** The HTTP status, when the registry answered with an error. */
  readonly status?: number;

  constructor(reference: string, step: string, detail: string, options?: { status?: number; blob?: string; cause?: unknown }) {
    super(`pull ${reference}: ${step}: ${detail}`, options);
    this.reference = reference;
    this.step = step;
    if (options?.status !== undefined) this.status = options.status;
  }
}

/**
 * What the registry sent is not what its digest names: a blob or manifest
 * whose sha256 (or size) does not match. Nothing of it is kept.
 */
export class DigestMismatchError extends RegistryError {
  /** The digest asked for. */
  readonly expected: string;
  /** The digest of what arrived, or `N bytes` when the size was already wrong. */
  readonly actual: string;

  constructor(reference: string, step: string, expected: string, actual: string) {
    super(reference, step, `${expected}: ${actual.startsWith("sha") ? `digest mismatch (content is ${actual})` : `size mismatch (${actual})`}`, {
      blob: expected,
    });
    this.expected = expected;
    this.actual = actual;
  }
}

/** The input could not be decompressed: cut short, corrupt, or the decompressor failed. */
export class DecompressionError extends ImageError {
  /** `gzip`, `xz`, `zstd`, … */
  readonly compression: string;
  /** What was being decompressed (a path, `layer sha256:…`), when known. */
  readonly source?: string;
  constructor(compression: string, source: string | undefined, detail: string, options?: { blob?: string; cause?: unknown }) {
    super(`${source ? `${source}: ` : ""}${compression}: cannot decompress: ${detail}`, options);
    this.compression = compression;
    if (source !== undefined) this.source = source;
  }
}

/** A program warren needs is not installed. */
export class MissingToolError extends ImageError {
  readonly tool: string;
  /** The Debian/Ubuntu package that has it. */
  readonly package: string;
  constructor(tool: string, pkg: string, what: string) {
    super(`${what} needs \`${tool}\`, which is not installed (Debian/Ubuntu package ${pkg})`);
    this.tool = tool;
    this.package = pkg;
  }
}

/** A limit asked for a controller this host cannot give to cgroup v2. */
export class CgroupControllerUnavailable extends WarrenError {
  readonly controller: string;
  readonly reason: string;
  /** The limit that needed it, e.g. `memory.max`. */
  readonly field: string;
  constructor(controller: string, reason: string, field: string, options?: { container?: string }) {
    // String(err) (and an uncaught error) prefixes the class name:
    // "CgroupControllerUnavailable: memory is bound to cgroup v1 on this host (needed by memory.max)".
    super(`${reason} (needed by ${field})`, "ERR_WARREN_CGROUP_CONTROLLER", options);
    this.controller = controller;
    this.reason = reason;
    this.field = field;
  }
}

/** A `seccomp.deny` name that no architecture's table knows (likely a typo). */
export class UnknownSyscallError extends ConfigError {
  readonly syscall: string;
  constructor(syscall: string) {
    super([{ path: "seccomp.deny", message: `unknown system call "${syscall}"` }]);
    this.syscall = syscall;
  }
}

/**
 * An OCI hook (warren-oci, config.json `hooks`) failed: it exited non-zero,
 * was killed, timed out or could not be started. `hook` names it as the
 * config does (`hooks.createRuntime[0]`).
 */
export class HookError extends WarrenError {
  readonly hook: string;
  readonly path: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The end of what the hook wrote to stderr (at most 4 KiB). */
  readonly stderr: string;
  constructor(
    hook: string,
    path: string,
    how: { exitCode?: number | null; signal?: NodeJS.Signals | null; timeoutS?: number; stderr?: string; cause?: unknown },
    options?: { container?: string },
  ) {
    const stderr = how.stderr ?? "";
    const what =
      how.timeoutS !== undefined
        ? `timed out after ${how.timeoutS} s`
        : how.cause !== undefined
          ? `could not be started: ${how.cause instanceof Error ? how.cause.message : String(how.cause)}`
          : how.signal
            ? `was killed by ${how.signal}`
            : `exited with code ${how.exitCode}`;
    const tail = stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : "";
    super(`${hook} (${path}): ${what}${tail}`, "ERR_WARREN_HOOK", { ...options, ...(how.cause !== undefined ? { cause: how.cause } : {}) });
    this.hook = hook;
    this.path = path;
    this.exitCode = how.exitCode ?? null;
    this.signal = how.signal ?? null;
    this.timedOut = how.timeoutS !== undefined;
    this.stderr = stderr;
  }
}
