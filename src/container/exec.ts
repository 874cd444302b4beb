/**
 * Running a process inside a running container. The native side clones a
 * child (CLONE_VM, like the init, so the cost does not grow with Node's
 * heap) into the container's `.exec` cgroup leaf; it joins every namespace
 * of the init through its pidfd and forks once more so the process lands in
 * the container's pid namespace, as Node's own child.
 * @module
 */
import { closeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";

import { signalName, signalNumber } from "../config/signals.js";
import { ConfigError, HostError, NotFoundError, ProcessExitError, StateError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { execHelperPath, native } from "../native/binding.js";
import { buildExecPlan, environment } from "../plan/build-plan.js";
import { encodePlan } from "../plan/encode.js";
import { withDeviceEnv } from "./device-env.js";
import type { ContainerHandle } from "./handle.js";
import type { ExecOptions } from "./exec-options.js";
import { lookupUser, type UserInfo } from "./users.js";
import { setupError } from "./errors-map.js";
import { stat, type FileStat } from "./files.js";
import { openPty, type Pty } from "./pty.js";
import { closeChildSide, destroyStreams, openStdio, type OpenedStdio } from "./stdio.js";
import { connectIntercept, interceptAsked } from "./monitor.js";
import type { ExitStatus } from "./state.js";

export type { ExecOptions } from "./exec-options.js";

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

/** The options, validated; the schema (and zod) loads with the first exec, not with this module. */
async function parseOptions(c: ContainerHandle, options: unknown) {
  return (await import("./exec-options.js")).parseExecOptions(options, c.name);
}

function checkArgv(c: ContainerHandle, argv: readonly string[]): string[] {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string" || a.includes("\0")) || argv[0] === "") {
    throw new ConfigError([{ path: "argv", message: "must be a non-empty array of strings without NUL" }], { container: c.name });
  }
  return [...argv];
}

export async function execInContainer(c: ContainerHandle, argvIn: readonly string[], options: ExecOptions): Promise<ExecProcess> {
  const o = await parseOptions(c, options);
  const argv = checkArgv(c, argvIn);
  await c.refresh();
  const run = c.run;
  if (!run) throw new StateError(`container "${c.name}" is not running`, "exec", c.status, { container: c.name });
  if (c.status === "frozen") {
    throw new StateError(`container "${c.name}" is frozen; unfreeze it before exec`, "exec", "frozen", { container: c.name });
  }
  const config = c.effective();
  let user: { uid: number; gid: number; groups: number[] };
  let account: UserInfo | undefined;
  if (o.user === undefined) user = config.user;
  else if (typeof o.user === "number") user = { uid: o.user, gid: o.user, groups: [] };
  else if (typeof o.user === "string") {
    account = await lookupUser(c, o.user);
    user = { uid: account.uid, gid: account.gid, groups: account.groups };
  } else user = { uid: o.user.uid, gid: o.user.gid ?? o.user.uid, groups: o.user.groups ?? [] };
  // As a login would: the user's own HOME, USER, LOGNAME, SHELL (the caller's env still wins).
  const loginEnv = account ? { HOME: account.home, USER: account.name, LOGNAME: account.name, ...(account.shell ? { SHELL: account.shell } : {}) } : {};
  const cwd = o.cwd ?? c.record.config.cwd ?? c.record.imageDefaults?.cwd ?? (await homeOf(c, account, user));
  // Only HOME is filled in for an environment given whole (extendEnv: false).
  const home = o.extendEnv === false && o.env?.HOME === undefined ? await homeOf(c, account, user) : undefined;
  // What the process's stdio belongs to inside: pipes to the container's
  // root (as Incus does), its terminal to the user, who may fchmod it.
  const map = c.idmap;
  const hostIds = (uid: number, gid: number) => (map ? (uid < map.size && gid < map.size ? { uid: map.hostUid + uid, gid: map.hostGid + gid } : undefined) : { uid, gid });

  let leaf: string;
  try {
    leaf = await c.cgroups.execLeaf(c.name);
  } catch (e) {
    // The container's cgroup went with its init, which ended after the
    // check above: that is a container that is not running.
    if (!(e instanceof HostError && e.errno === "ENOENT")) throw e;
    await c.refresh();
    throw stoppedMeanwhile(c);
  }
  // From here to the spawn nothing awaits. An init that ended during the
  // awaits above is not used: its pidfd is closed then (the number may name
  // another container's init).
  if (c.run !== run) throw stoppedMeanwhile(c);
  let pty: Pty | undefined;
  let stdio: OpenedStdio | undefined;
  let interceptSocket: number | undefined;
  let initFd: number | undefined;
  try {
    let childFds: [number, number, number];
    if (o.terminal !== undefined) {
      stdio = openStdio(["ignore", "ignore", "ignore"]);
      childFds = stdio.childFds;
    } else if (o.tty) {
      pty = openPty(c.name, run.pid, typeof o.tty === "object" ? o.tty : {}, hostIds(user.uid, user.gid) ?? hostIds(0, 0));
      // Opened by pid: the init still holding it afterwards (alive or a
      // zombie, either keeps the pid) means the pid was never another's.
      try {
        native().pidfdSendSignal(run.pidfd, 0);
      } catch {
        throw stoppedMeanwhile(c);
      }
      childFds = [pty.peer, pty.peer, pty.peer];
    } else {
      stdio = openStdio([o.stdin ?? "pipe", o.stdout ?? "pipe", o.stderr ?? "pipe"], map ? hostIds(0, 0) : undefined);
      childFds = stdio.childFds;
    }
    // A filter is inherited only from a filtered parent, and this process
    // is Node's child: it gets a filter and a listener of its own, which
    // its child sends to the container's monitor as the init's did.
    if (interceptAsked(config)) interceptSocket = connectIntercept(c.stateDir, c.name);
    // A low copy: the child's fd table is ours only up to the highest fd it keeps.
    try {
      initFd = native().dupLow(run.pidfd);
    } catch {
      throw stoppedMeanwhile(c);
    }
    const plan = buildExecPlan({
      config,
      initPidfd: initFd,
      argv,
      env:
        o.extendEnv === false
          ? Object.entries({ ...(home !== undefined ? { HOME: home } : {}), ...o.env }).map(([k, v]) => `${k}=${v}`)
          : environment(withDeviceEnv(config.env, c.state.devices), { ...loginEnv, ...o.env }),
      cwd,
      user,
      stdio: childFds,
      tty: !!o.tty,
      ...(interceptSocket !== undefined ? { interceptSocket } : {}),
      ...(o.terminal !== undefined ? { terminalSocket: o.terminal } : {}),
    });
    const res = await native().spawn(encodePlan(plan.ops), { cloneFlags: 0, cgroupPath: leaf, execHelper: execHelperPath() });
    native().close(initFd);
    initFd = undefined;
    if (interceptSocket !== undefined) closeSync(interceptSocket);
    interceptSocket = undefined;
    if (stdio) closeChildSide(stdio);
    if (pty) closeSync(pty.peer);
    if ("error" in res) throw setupError(c.name, "exec", plan.ops, res.error.opIndex, res.error.errno);
    c.emit({ type: "exec", pid: res.pid, argv: [...argv] });
    return makeProcess(c, res.pid, res.pidfd, stdio, pty);
  } catch (e) {
    if (initFd !== undefined) native().close(initFd);
    if (interceptSocket !== undefined) closeSync(interceptSocket);
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

/** The init ended while an exec was being prepared. */
function stoppedMeanwhile(c: ContainerHandle): StateError {
  return new StateError(`container "${c.name}" is not running (it stopped while the exec was prepared)`, "exec", c.status, { container: c.name });
}

/**
 * Where a process starts when neither the call, the config nor the image
 * says: the user's home, as Incus's exec and a login do, when it is a
 * directory the user may enter; else `/` (LXC's default, and the init's).
 */
async function homeOf(c: ContainerHandle, who: UserInfo | undefined, user: { uid: number; gid: number; groups: number[] }): Promise<string> {
  try {
    const home = (who ?? (await lookupUser(c, user.uid))).home;
    if (!home.startsWith("/")) return "/";
    const st = await stat(c, home, { follow: true });
    return st.type === "directory" && searchable(st, user) ? home : "/";
  } catch (e) {
    // No such user, or a home that is missing or not reachable in the root.
    if (e instanceof NotFoundError || (e instanceof HostError && ["ENOTDIR", "ELOOP", "EXDEV"].includes(e.errno))) return "/";
    throw e;
  }
}

/**
 * Whether `user` may chdir into a directory. Root's capabilities apply only
 * to files whose owner its user namespace maps: one that shows as the
 * overflow id 65534 (a host-owned directory of a host rootfs, /root 0700)
 * is searched with the "other" bits, as by anyone.
 */
function searchable(st: FileStat, user: { uid: number; gid: number; groups: number[] }): boolean {
  const OVERFLOW = 65534;
  if (user.uid === 0 && st.uid !== OVERFLOW && st.gid !== OVERFLOW) return true;
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === user.gid || user.groups.includes(st.gid)) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

function makeProcess(c: ContainerHandle, pid: number, pidfd: number, stdio: OpenedStdio | undefined, pty: Pty | undefined): ExecProcess {
  let closed = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    const w = new (native().ExitWatcher)(pidfd, (code, sig) => {
      closed = true;
      native().close(pidfd);
      pty?.stream.drain();
      resolve({ code, signal: sig === null ? null : (signalName(sig) as NodeJS.Signals) });
    });
    w.ref();
  });
  return {
    pid,
    stdin: pty ? pty.stream : (stdio?.stdin ?? null),
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
    stream.on("error", reject);
    stream.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    stream.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

export async function execOutput(
  c: ContainerHandle,
  argv: readonly string[],
  options: ExecOptions & { input?: string | Buffer; check?: boolean },
): Promise<ExecOutput> {
  const { input, check, ...rest } = await parseOptions(c, options);
  const p = await execInContainer(c, argv, { stdin: input === undefined ? "ignore" : "pipe", ...rest });
  if (input !== undefined && p.stdin) {
    // A command may exit without reading all of its input (`docker import`
    // refused by a daemon that is down, `head -c1`): the write then fails
    // with EPIPE, which must not take the embedding process down. The exit
    // status says what happened.
    p.stdin.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
    p.stdin.end(input);
  }
  const [status, stdout, stderr] = await Promise.all([p.exited, collect(p.stdout), collect(p.stderr)]);
  const out = { ...status, stdout, stderr };
  if (check && out.code !== 0) throw new ProcessExitError(argv, out, { container: c.name });
  return out;
}
