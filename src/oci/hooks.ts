/**
 * OCI hooks (runtime-spec config.md, "POSIX-platform Hooks"): programs the
 * runtime runs at points of a container's life, each given the container's
 * state JSON on stdin.
 *
 * | kind            | when (runc's order)                       | where it runs                    | a failure   |
 * |-----------------|-------------------------------------------|----------------------------------|-------------|
 * | createRuntime   | `create`, after the namespaces exist      | the runtime's namespaces         | an error    |
 * | prestart        | right after createRuntime (deprecated)    | the runtime's namespaces         | an error    |
 * | createContainer | `create`, after createRuntime             | the container's (mount) namespace | an error    |
 * | startContainer  | `start`, before the user program runs     | the container's namespaces       | an error    |
 * | poststart       | `start`, after the user program started   | the runtime's namespaces         | a warning   |
 * | poststop        | `delete`, after the container is gone     | the runtime's namespaces         | a warning   |
 *
 * This module runs one kind's hooks in order; where a hook runs is the
 * {@link HookExecutor}'s business. The host executor spawns the program
 * here; {@link containerExecutor} runs it through `Container.exec` (every
 * namespace of the running init, its credentials and seccomp filter). A
 * runtime whose container is not running yet when createContainer and
 * startContainer are due (the init's plan still running) passes an
 * executor of its own that starts the hook from the plan.
 * @module
 */
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

import { ConfigError, HookError, type ConfigIssue } from "../errors.js";

export const HOOK_KINDS = ["createRuntime", "prestart", "createContainer", "startContainer", "poststart", "poststop"] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

/** The kinds that run inside the container (their executor must enter it). */
export const IN_CONTAINER: ReadonlySet<HookKind> = new Set(["createContainer", "startContainer"]);
/** The kinds whose failure is a warning: the container already runs (poststart) or is gone (poststop). */
export const WARN_ONLY: ReadonlySet<HookKind> = new Set(["poststart", "poststop"]);

/** One hook of config.json. */
export interface OciHook {
  /** Absolute path of the program (in the runtime's namespace; startContainer: in the container's). */
  path: string;
  /** argv, `args[0]` included (execv's semantics); default `[path]`. */
  args?: string[];
  /** `NAME=VALUE` strings: the whole environment. Absent: the runtime's own, as runc (Go's exec) does. */
  env?: string[];
  /** Seconds before the hook (its whole process group) is killed and the step fails; none by default. */
  timeout?: number;
}

export type OciHooks = Partial<Record<HookKind, OciHook[]>>;

/** The state of the container (runtime-spec runtime.md, "State"), written to each hook's stdin. */
export interface OciState {
  ociVersion: string;
  id: string;
  /** runc adds "paused" (a frozen container) to the spec's four. */
  status: "creating" | "created" | "running" | "paused" | "stopped";
  /** The container's process on the host; absent once it is stopped. */
  pid?: number;
  /** Absolute path of the bundle. */
  bundle: string;
  annotations?: Record<string, string>;
}

/** A started hook, as an executor hands it back. */
export interface HookProcess {
  /** Host pid; the hook leads a process group of its own (pgid = pid), which a timeout kills whole. */
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `hook` (argv = `args`, program = `path`) somewhere: the host, or inside a container. */
export type HookExecutor = (hook: Required<Pick<OciHook, "path" | "args">> & Pick<OciHook, "env">) => Promise<HookProcess>;

const TAIL = 4096;

/** Checks config.json's `hooks`; throws a ConfigError listing each problem (`hooks.poststop[1].path`). */
export function parseHooks(value: unknown): OciHooks {
  if (value === undefined || value === null) return {};
  const issues: ConfigIssue[] = [];
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError([{ path: "hooks", message: "must be an object" }]);
  const out: OciHooks = {};
  for (const [kind, list] of Object.entries(value)) {
    if (!(HOOK_KINDS as readonly string[]).includes(kind)) {
      issues.push({ path: `hooks.${kind}`, message: `unknown hook kind (${HOOK_KINDS.join(", ")})` });
      continue;
    }
    if (list === null) continue;
    if (!Array.isArray(list)) {
      issues.push({ path: `hooks.${kind}`, message: "must be an array" });
      continue;
    }
    out[kind as HookKind] = list.flatMap((h: unknown, i): OciHook[] => {
      const at = `hooks.${kind}[${i}]`;
      if (typeof h !== "object" || h === null || Array.isArray(h)) {
        issues.push({ path: at, message: "must be an object" });
        return [];
      }
      const { path, args, env, timeout } = h as Record<string, unknown>;
      const bad = issues.length;
      if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0")) issues.push({ path: `${at}.path`, message: "must be an absolute path" });
      if (args !== undefined && args !== null && (!Array.isArray(args) || args.some((a) => typeof a !== "string" || a.includes("\0")))) {
        issues.push({ path: `${at}.args`, message: "must be an array of strings" });
      }
      if (env !== undefined && env !== null && (!Array.isArray(env) || env.some((e) => typeof e !== "string" || e.indexOf("=") <= 0 || e.includes("\0")))) {
        issues.push({ path: `${at}.env`, message: "must be an array of NAME=VALUE strings" });
      }
      if (timeout !== undefined && timeout !== null && (!Number.isInteger(timeout) || (timeout as number) <= 0)) {
        issues.push({ path: `${at}.timeout`, message: "must be a positive number of seconds" });
      }
      if (issues.length > bad) return [];
      return [
        {
          path: path as string,
          ...(Array.isArray(args) ? { args: args as string[] } : {}),
          ...(Array.isArray(env) ? { env: env as string[] } : {}),
          ...(typeof timeout === "number" ? { timeout } : {}),
        },
      ];
    });
  }
  if (issues.length) throw new ConfigError(issues);
  return out;
}

/** Spawns the hook on the host, leading a process group of its own. */
export const hostExecutor: HookExecutor = (hook) =>
  new Promise((resolve, reject) => {
    const env = hook.env ? Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])) : process.env;
    // detached: setsid, so the hook and whatever it starts form one group a timeout kills.
    const child = spawn(hook.path, hook.args.slice(1), { argv0: hook.args[0] ?? hook.path, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once("exit", (code, signal) => done({ code, signal })));
    child.once("error", reject);
    child.once("spawn", () => resolve({ pid: child.pid!, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited }));
  });

/** Something that can run a process inside a running container: a {@link Container}. */
export interface ExecTarget {
  exec(argv: readonly string[], options?: { env?: Record<string, string> }): Promise<{
    readonly pid: number;
    readonly stdin: Writable | null;
    readonly stdout: Readable | null;
    readonly stderr: Readable | null;
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }>;
}

/**
 * Runs hooks inside `container` through its exec path: every namespace of
 * its init, its root, credentials and seccomp filter; `path` resolves in
 * the container. Two differences from a host hook, both from exec: the
 * program's argv[0] is its path (exec has no separate argv[0]), and `env`
 * is laid over the container's environment rather than replacing it.
 */
export function containerExecutor(container: ExecTarget): HookExecutor {
  return async (hook) => {
    const env = hook.env ? Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])) : undefined;
    return container.exec([hook.path, ...hook.args.slice(1)], env ? { env } : {});
  };
}

/** Keeps the last TAIL bytes written to a stream. */
function tailOf(stream: Readable | null): { text(): string; done: Promise<void> } {
  let buf = Buffer.alloc(0);
  if (!stream) return { text: () => "", done: Promise.resolve() };
  stream.on("data", (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    if (buf.length > TAIL) buf = buf.subarray(buf.length - TAIL);
  });
  const done = new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
  return { text: () => buf.toString("utf8"), done };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Not a group leader after all (an executor that did not setsid): the process alone.
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

/** Runs one hook: the state on stdin, killed with its group after `timeout` seconds. Throws a HookError. */
export async function runHook(hook: OciHook, state: OciState, name: string, executor: HookExecutor = hostExecutor): Promise<void> {
  let proc: HookProcess;
  try {
    proc = await executor({ path: hook.path, args: hook.args ?? [hook.path], ...(hook.env ? { env: hook.env } : {}) });
  } catch (e) {
    throw new HookError(name, hook.path, { cause: e });
  }
  const stderr = tailOf(proc.stderr);
  // Read so a chatty hook never blocks on a full pipe; runc keeps it for its error, warren only stderr.
  proc.stdout?.resume();
  if (proc.stdin) {
    // A hook that never reads its stdin closes it: EPIPE is not its failure.
    proc.stdin.on("error", () => undefined);
    proc.stdin.end(JSON.stringify(state));
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    if (hook.timeout !== undefined) timer = setTimeout(() => resolve("timeout"), hook.timeout * 1000);
  });
  const result = await Promise.race([proc.exited, timedOut]);
  clearTimeout(timer);
  if (result === "timeout") {
    killGroup(proc.pid);
    await proc.exited;
    proc.stderr?.destroy();
    throw new HookError(name, hook.path, { timeoutS: hook.timeout!, stderr: stderr.text() });
  }
  // What the hook wrote before it exited is in the pipe: read it to the end,
  // unless something it left behind holds the pipe open.
  await Promise.race([stderr.done, new Promise((r) => setTimeout(r, 100).unref())]);
  proc.stderr?.destroy();
  proc.stdout?.destroy();
  if (result.code !== 0) throw new HookError(name, hook.path, { exitCode: result.code, signal: result.signal, stderr: stderr.text() });
}

/**
 * Runs the hooks of `kind` in order, stopping at the first failure, which
 * is thrown (a {@link HookError}); for poststart and poststop every hook
 * runs and failures come back as warnings, as the spec says. A kind that
 * runs in the container needs `options.container`, the executor that
 * enters it.
 */
export async function runHooks(
  hooks: OciHooks,
  kind: HookKind,
  state: OciState,
  options: { host?: HookExecutor; container?: HookExecutor } = {},
): Promise<{ warnings: string[] }> {
  const list = hooks[kind] ?? [];
  const warnings: string[] = [];
  const executor = IN_CONTAINER.has(kind) ? options.container : (options.host ?? hostExecutor);
  if (list.length && !executor) throw new TypeError(`${kind} hooks run in the container: pass an executor that enters it (options.container)`);
  for (const [i, hook] of list.entries()) {
    try {
      await runHook(hook, state, `hooks.${kind}[${i}]`, executor);
    } catch (e) {
      if (!WARN_ONLY.has(kind) || !(e instanceof HookError)) throw e;
      warnings.push(e.message);
    }
  }
  return { warnings };
}
