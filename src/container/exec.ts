/**
 * Running a process inside a running container. The native side clones a
 * child (CLONE_VM, like the init, so the cost does not grow with Node's
 * heap) into the container's `.exec` cgroup leaf; it joins every namespace
 * of the init through its pidfd and forks once more so the process lands in
 * the container's pid namespace, as Node's own child.
 * @module
 */
import { closeSync, constants as fsc, openSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { ReadStream } from "node:tty";
import { z } from "zod";

import { issuesOf } from "../config/resolve.js";
import { containerPath } from "../config/schema.js";
import { signalName, signalNumber } from "../config/signals.js";
import { ConfigError, HostError, ProcessExitError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";
import { buildExecPlan, environment } from "../plan/build-plan.js";
import { encodePlan } from "../plan/encode.js";
import type { ContainerHandle } from "./handle.js";
import { lookupUser } from "./users.js";
import { setupError } from "./errors-map.js";
import { closeChildSide, destroyStreams, openStdio, type OpenedStdio } from "./stdio.js";
import type { ExitStatus } from "./state.js";

const id = z.number().int().min(0).max(0xfffffffe);
const stdioMode = z.enum(["ignore", "inherit", "pipe"]);
const execOptionsSchema = z.strictObject({
  /** Added to (and overriding) the container's environment. */
  env: z.record(z.string().regex(/^[^=\0]+$/, "must be a valid variable name"), z.string()).optional(),
  cwd: containerPath.optional(),
  /**
   * A user name (`"www-data"`, looked up in the container's /etc/passwd,
   * with its groups from /etc/group, as a login would get them), a numeric
   * uid, or `{uid, gid, groups}`. Default: the container's user.
   */
  user: z
    .union([
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/, "must be a user name"),
      id,
      z.strictObject({ uid: id, gid: id.optional(), groups: z.array(id).optional() }),
    ])
    .optional(),
  /** A pty from the container's devpts instead of pipes; output arrives on `stdout`. */
  tty: z.union([z.boolean(), z.strictObject({ cols: z.number().int().min(1).max(65535).optional(), rows: z.number().int().min(1).max(65535).optional() })]).optional(),
  stdin: stdioMode.optional(),
  stdout: stdioMode.optional(),
  stderr: stdioMode.optional(),
  /** execOutput only: written to stdin, then stdin is closed. */
  input: z.union([z.string(), z.instanceof(Buffer)]).optional(),
  /** execOutput only: reject with ProcessExitError unless the exit code is 0. */
  check: z.boolean().optional(),
});

export type ExecOptions = Omit<z.input<typeof execOptionsSchema>, "input" | "check">;

/** A process running inside a container. */
export interface ExecProcess {
  /** Host pid. */
  readonly pid: number;
  readonly stdin: Writable | null;
  /** With `tty`, the terminal's output (stdout and stderr together). */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves when the process exits: `{code}` or `{signal}`. */
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal (default SIGTERM). */
  kill(signal?: NodeJS.Signals | string | number): void;
  /** Changes the pty's window size (tty only). */
  resize(cols: number, rows: number): void;
}

export interface ExecOutput extends ExitStatus {
  stdout: string;
  stderr: string;
}

function parseOptions(c: ContainerHandle, options: unknown) {
  const r = execOptionsSchema.safeParse(options ?? {});
  if (!r.success) throw new ConfigError(issuesOf(r.error), { container: c.name });
  return r.data;
}

function checkArgv(c: ContainerHandle, argv: readonly string[]): string[] {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string" || a.includes("\0")) || argv[0] === "") {
    throw new ConfigError([{ path: "argv", message: "must be a non-empty array of strings without NUL" }], { container: c.name });
  }
  return [...argv];
}

interface Pty {
  master: number;
  peer: number;
  stream: ReadStream;
}

function openPty(c: ContainerHandle, initPid: number, size: { cols?: number; rows?: number }): Pty {
  // The container's own devpts instance, reached through the init's root:
  // the pty then exists inside the container (as /dev/pts/N there).
  const path = `/proc/${initPid}/root/dev/ptmx`;
  let master: number;
  try {
    master = openSync(path, fsc.O_RDWR | fsc.O_NOCTTY);
  } catch (e) {
    throw new HostError(`open the container's pty multiplexer \`${path}\``, codeOf(e), { container: c.name, path, syscall: "open" });
  }
  try {
    const peer = native().ptyPeer(master);
    native().setWindowSize(master, size.cols ?? 80, size.rows ?? 24);
    const stream = new ReadStream(master);
    return { master, peer, stream };
  } catch (e) {
    closeSync(master);
    throw new HostError("set up the pty", codeOf(e), { container: c.name, syscall: (e as { syscall?: string }).syscall ?? "ioctl" });
  }
}

export async function execInContainer(c: ContainerHandle, argvIn: readonly string[], options: ExecOptions): Promise<ExecProcess> {
  const o = parseOptions(c, options);
  const argv = checkArgv(c, argvIn);
  await c.refresh();
  const run = c.run;
  if (!run) throw new StateError(`container "${c.name}" is not running`, "exec", c.status, { container: c.name });
  if (c.status === "frozen") {
    throw new StateError(`container "${c.name}" is frozen; unfreeze it before exec`, "exec", "frozen", { container: c.name });
  }
  const config = c.effective();
  let user: { uid: number; gid: number; groups: number[] };
  let loginEnv: Record<string, string> = {};
  if (o.user === undefined) user = config.user;
  else if (typeof o.user === "number") user = { uid: o.user, gid: o.user, groups: [] };
  else if (typeof o.user === "string") {
    const u = await lookupUser(c, o.user);
    user = { uid: u.uid, gid: u.gid, groups: u.groups };
    // As a login would: the user's own HOME, USER, LOGNAME, SHELL (the caller's env still wins).
    loginEnv = { HOME: u.home, USER: u.name, LOGNAME: u.name, ...(u.shell ? { SHELL: u.shell } : {}) };
  } else user = { uid: o.user.uid, gid: o.user.gid ?? o.user.uid, groups: o.user.groups ?? [] };

  const leaf = await c.cgroups.execLeaf(c.name);
  let pty: Pty | undefined;
  let stdio: OpenedStdio | undefined;
  try {
    let childFds: [number, number, number];
    if (o.tty) {
      pty = openPty(c, run.pid, typeof o.tty === "object" ? o.tty : {});
      childFds = [pty.peer, pty.peer, pty.peer];
    } else {
      stdio = openStdio([o.stdin ?? "pipe", o.stdout ?? "pipe", o.stderr ?? "pipe"]);
      childFds = stdio.childFds;
    }
    const plan = buildExecPlan({
      config,
      initPidfd: run.pidfd,
      argv,
      env: environment(config.env, { ...loginEnv, ...o.env }),
      cwd: o.cwd ?? config.cwd,
      user,
      stdio: childFds,
      tty: !!o.tty,
    });
    const res = await native().spawn(encodePlan(plan.ops), { cloneFlags: 0, cgroupPath: leaf });
    if (stdio) closeChildSide(stdio);
    if (pty) closeSync(pty.peer);
    if ("error" in res) throw setupError(c.name, "exec", plan.ops, res.error.opIndex, res.error.errno);
    c.emit({ type: "exec", pid: res.pid, argv: [...argv] });
    return makeProcess(c, res.pid, res.pidfd, stdio, pty);
  } catch (e) {
    if (stdio) {
      closeChildSide(stdio);
      destroyStreams(stdio);
    }
    if (pty) {
      try {
        closeSync(pty.peer);
      } catch {
        /* closed after spawn */
      }
      pty.stream.destroy();
    }
    throw e;
  }
}

function makeProcess(c: ContainerHandle, pid: number, pidfd: number, stdio: OpenedStdio | undefined, pty: Pty | undefined): ExecProcess {
  let closed = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    const w = new (native().ExitWatcher)(pidfd, (code, sig) => {
      closed = true;
      native().close(pidfd);
      resolve({ code, signal: sig === null ? null : (signalName(sig) as NodeJS.Signals) });
    });
    w.ref();
  });
  if (pty) {
    // Reading a pty master fails with EIO once every peer is closed: that
    // is its end of file.
    pty.stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EIO") throw e;
    });
  }
  return {
    pid,
    stdin: pty ? (pty.stream as unknown as Writable) : (stdio?.stdin ?? null),
    stdout: pty ? pty.stream : (stdio?.stdout ?? null),
    stderr: pty ? null : (stdio?.stderr ?? null),
    exited,
    kill(signal: NodeJS.Signals | string | number = "SIGTERM") {
      const n = signalNumber(signal);
      if (n === undefined) throw new ConfigError([{ path: "signal", message: `unknown signal ${String(signal)}` }], { container: c.name });
      if (closed) return;
      try {
        native().pidfdSendSignal(pidfd, n);
      } catch (e) {
        if (codeOf(e) !== "ESRCH") throw e;
      }
    },
    resize(cols: number, rows: number) {
      if (!pty) throw new StateError("resize needs a process started with tty", "resize", "no-tty", { container: c.name });
      native().setWindowSize(pty.master, cols, rows);
    },
  };
}

function collect(stream: Readable | null): Promise<string> {
  if (!stream) return Promise.resolve("");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (b: Buffer) => chunks.push(b));
    stream.on("error", (e: NodeJS.ErrnoException) => (e.code === "EIO" ? resolve(Buffer.concat(chunks).toString("utf8")) : reject(e)));
    stream.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

export async function execOutput(
  c: ContainerHandle,
  argv: readonly string[],
  options: ExecOptions & { input?: string | Buffer; check?: boolean },
): Promise<ExecOutput> {
  const { input, check, ...rest } = parseOptions(c, options);
  const p = await execInContainer(c, argv, { stdin: input === undefined ? "ignore" : "pipe", ...rest });
  if (input !== undefined && p.stdin) p.stdin.end(input);
  const [status, stdout, stderr] = await Promise.all([p.exited, collect(p.stdout), collect(p.stderr)]);
  const out = { ...status, stdout, stderr };
  if (check && out.code !== 0) throw new ProcessExitError(argv, out, { container: c.name });
  return out;
}
