/**
 * The container's monitor (native/monitor/monitor.c): a small process that
 * keeps the console pty's master and its last output, receives the init's
 * sd_notify messages, and records how the init ended (running the restart
 * policy's hook then), so all of it outlives the Node process that started
 * the container. This module starts it and speaks its framed protocol over
 * `<state>/monitor.sock`:
 *
 *     type (1 byte) | length (u16 LE) | payload
 *
 * @module
 */
import { chmodSync, chownSync, closeSync, constants as fsc, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createConnection, Socket } from "node:net";
import { join } from "node:path";
import { Duplex } from "node:stream";

import { HostError, StateError, WarrenError } from "../errors.js";
import { helperPath, native } from "../native/binding.js";
import { processInfo } from "./proc.js";

const FRAME_MAX = 65535;

/** The monitor's directory bound at /run/host in the container. */
export const runHostDir = (stateDir: string) => join(stateDir, "host");
/** The monitor's stream socket, in the state directory. */
const SOCKET_NAME = "monitor.sock";
/** Where a container's child sends its seccomp listener (native/monitor/intercept.c). */
const INTERCEPT_SOCKET = "seccomp.sock";

/** Whether the config has the monitor make some calls for the container (`security.intercept`). */
export function interceptAsked(config: { security?: { intercept?: { mknod?: boolean | undefined; setxattr?: boolean | undefined } | undefined } | undefined }): boolean {
  const i = config.security?.intercept;
  return !!(i?.mknod || i?.setxattr);
}

/**
 * A connection to the monitor's listener socket, for one spawn's
 * `seccomp-listener` step: the child sends its listener on it. The caller
 * closes it after the spawn.
 */
export function connectIntercept(stateDir: string, container: string): number {
  try {
    return native().seqpacketConnect(stateDir, INTERCEPT_SOCKET);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "EIO";
    throw new StateError(
      `container "${container}": its monitor takes no intercepted calls (${code}): it is gone; security.intercept needs it`,
      "intercept",
      "no-monitor",
      { container },
    );
  }
}

function frame(type: string, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off === 0 || off < payload.length; off += FRAME_MAX) {
    const part = payload.subarray(off, off + FRAME_MAX);
    const hdr = Buffer.alloc(3);
    hdr.write(type, 0, "latin1");
    hdr.writeUInt16LE(part.length, 1);
    out.push(hdr, part);
    if (payload.length === 0) break;
  }
  return Buffer.concat(out);
}

/** Splits the monitor's byte stream into frames. */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (type: string, payload: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 3) {
      const len = this.buf.readUInt16LE(1);
      if (this.buf.length < 3 + len) break;
      const type = String.fromCharCode(this.buf[0]!);
      const payload = this.buf.subarray(3, 3 + len);
      this.buf = this.buf.subarray(3 + len);
      this.onFrame(type, payload);
    }
  }
}

export interface StartedMonitor {
  pid: number;
}

/**
 * Starts the monitor for a container about to start: `<state>/host` with
 * systemd's `container-manager` file, the sockets, and (with `master`) the
 * console. Resolves once its sockets exist.
 *
 * `hostGroup` is the host gid the container's init runs with: `<state>/host`
 * is root's, searchable by that group only (0750), so the notify socket in it
 * (0666, as sd_notify senders need) is reachable from inside the container,
 * where the directory is /run/host, and by no other host user. The
 * container's setup binds it by path without searching it.
 */
export async function startMonitor(
  stateDir: string,
  options: { master?: number; ringBytes: number; container: string; hostGroup: number; hook?: string[]; intercept?: boolean },
): Promise<StartedMonitor> {
  const host = runHostDir(stateDir);
  mkdirSync(host, { recursive: true, mode: 0o700 });
  // Also for a directory left by an earlier run (or an older warren, 0755).
  chownSync(host, 0, options.hostGroup);
  chmodSync(host, 0o750);
  writeFileSync(join(host, "container-manager"), "warren\n", { mode: 0o444 });
  // The last run's saved console; this run's is the monitor's until it ends.
  rmSync(join(stateDir, "console.log"), { force: true });
  const [r, w] = native().pipe();
  let placeholder = -1;
  let pid: number;
  try {
    const fds = [options.master ?? (placeholder = openSync("/dev/null", fsc.O_RDONLY)), w];
    const argv = [
      "warren-monitor",
      stateDir,
      String(options.ringBytes),
      ...(options.master !== undefined ? ["console"] : []),
      ...(options.intercept ? ["intercept"] : []),
      // What it becomes when the init ends: warren's CLI, which applies the restart policy.
      ...(options.hook ? ["--", ...options.hook] : []),
    ];
    pid = native().spawnDetached(helperPath("warren-monitor"), argv, fds);
  } catch (e) {
    closeSync(r);
    throw e instanceof WarrenError ? e : new HostError(`start the monitor of "${options.container}"`, (e as { code?: string }).code ?? "EIO", { container: options.container, cause: e });
  } finally {
    closeSync(w);
    if (placeholder >= 0) closeSync(placeholder);
  }
  reapWhenDone(pid);
  const status = await new Promise<string>((resolve) => {
    const s = new Socket({ fd: r, readable: true, writable: false });
    let text = "";
    s.on("data", (b: Buffer) => (text += b.toString()));
    s.on("close", () => resolve(text));
    s.on("error", () => resolve(text));
  });
  if (status.trim() !== "ok") {
    throw new HostError(`start the monitor of "${options.container}": ${status.trim() || "it exited"}`, "EIO", { container: options.container });
  }
  return { pid };
}

/**
 * The monitor is this process's child until it exits: reaped then (not left
 * a zombie), without keeping Node alive for it.
 */
export function reapWhenDone(pid: number): void {
  let pidfd: number;
  try {
    pidfd = native().pidfdOpen(pid, true);
  } catch {
    return;
  }
  const watcher = new (native().ExitWatcher)(pidfd, () => {
    watcher.close();
    try {
      native().close(pidfd);
    } catch {
      /* closed */
    }
  });
  watcher.unref();
}

/**
 * Resolves once the monitor `pid` is done with the state directory: ended
 * (a zombie or gone) or become the restart hook, which writes nothing there
 * itself. It writes the console log and the exit status after the init is
 * reaped, so a destroy waits for it (at most `ms`) before removing the
 * directory.
 */
export async function monitorDone(pid: number, ms = 6000): Promise<void> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      return;
    }
    const state = processInfo(pid)?.state;
    if (comm !== "warren-monitor" || state === undefined || state === "Z" || state === "X") return;
  }
}

/** A connection to a container's monitor. */
export class MonitorConnection {
  private constructor(
    readonly socket: Socket,
    private readonly reader: FrameReader,
    private readonly handlers: Set<(type: string, payload: Buffer) => void>,
  ) {}

  static async open(stateDir: string, container: string): Promise<MonitorConnection> {
    const handlers = new Set<(type: string, payload: Buffer) => void>();
    const reader = new FrameReader((t, p) => {
      for (const h of handlers) h(t, p);
    });
    // Through a directory fd: the socket's full path may be longer than a
    // unix socket address can hold (108 bytes); /proc/self/fd/N/… is short.
    let dirFd: number;
    try {
      dirFd = openSync(stateDir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    } catch (e) {
      throw new StateError(`container "${container}" has no state directory (${(e as NodeJS.ErrnoException).code})`, "console", "no-monitor", { container });
    }
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection(`/proc/self/fd/${dirFd}/${SOCKET_NAME}`);
        s.once("connect", () => resolve(s));
        s.once("error", (e) =>
          reject(new StateError(`container "${container}" has no console or monitor (${(e as NodeJS.ErrnoException).code ?? e.message})`, "console", "no-monitor", { container })),
        );
      });
      socket.on("data", (b: Buffer) => reader.push(b));
      return new MonitorConnection(socket, reader, handlers);
    } finally {
      closeSync(dirFd);
    }
  }

  on(handler: (type: string, payload: Buffer) => void): void {
    this.handlers.add(handler);
  }

  send(type: string, payload?: Buffer): boolean {
    return this.socket.write(frame(type, payload));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Tells the monitor which process is the init: it exits with it. */
export async function tellInit(stateDir: string, pid: number, container: string): Promise<void> {
  const conn = await MonitorConnection.open(stateDir, container);
  const p = Buffer.alloc(4);
  p.writeUInt32LE(pid);
  await new Promise<void>((resolve) => conn.socket.end(frame("P", p), () => resolve()));
  conn.close();
}

/**
 * The console output kept by the monitor (its ring buffer), or, once the
 * container stopped, what the monitor saved of it when it ended.
 */
export async function readConsoleLog(stateDir: string, container: string): Promise<Buffer> {
  const saved = async (e: unknown) => {
    // The init may have just ended: its monitor saves the ring as it exits.
    for (let i = 0; i < 20; i++) {
      try {
        return await readFile(join(stateDir, "console.log"));
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw e instanceof StateError ? e : new StateError(`container "${container}" has no console log`, "consoleLog", "no-console", { container });
  };
  let conn: MonitorConnection;
  try {
    conn = await MonitorConnection.open(stateDir, container);
  } catch (e) {
    return saved(e);
  }
  return readLive(conn).catch(saved);
}

async function readLive(conn: MonitorConnection): Promise<Buffer> {
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      conn.on((type, payload) => {
        if (type === "L") parts.push(Buffer.from(payload));
        else if (type === "E") resolve(Buffer.concat(parts));
      });
      conn.socket.once("close", () => reject(new Error("the monitor went away")));
      conn.socket.once("error", reject);
      conn.send("L");
    });
  } finally {
    conn.close();
  }
}

/**
 * The container's console as a duplex stream: what the container writes to
 * /dev/console comes out, what is written goes in as typed input. End or
 * destroy it to detach; the console goes on without it.
 */
export class ConsoleStream extends Duplex {
  readonly #conn: MonitorConnection;

  /** @internal */
  constructor(conn: MonitorConnection) {
    super();
    this.#conn = conn;
    conn.on((type, payload) => {
      if (type === "O" || type === "L") this.push(Buffer.from(payload));
      else if (type === "X") this.push(null);
    });
    conn.socket.on("close", () => this.push(null));
    conn.socket.on("error", (e) => this.destroy(e));
  }

  /** Sets the console's window size (the container's processes get SIGWINCH). */
  resize(cols: number, rows: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt16LE(cols);
    p.writeUInt16LE(rows, 2);
    this.#conn.send("W", p);
  }

  /** @internal */
  override _read(): void {
    /* frames are pushed as they arrive */
  }

  /** @internal */
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.#conn.send("I", chunk)) done();
    else this.#conn.socket.once("drain", () => done());
  }

  /** @internal */
  override _final(done: (e?: Error | null) => void): void {
    this.#conn.close();
    done();
  }

  /** @internal */
  override _destroy(err: Error | null, done: (e: Error | null) => void): void {
    this.#conn.close();
    done(err);
  }
}

/** Attaches to the console; with `replay`, the kept output comes first. */
export async function openConsole(stateDir: string, container: string, options: { replay?: boolean } = {}): Promise<ConsoleStream> {
  const conn = await MonitorConnection.open(stateDir, container);
  const stream = new ConsoleStream(conn);
  if (options.replay) conn.send("L");
  conn.send("A");
  return stream;
}

/**
 * Resolves when the init has sent READY=1; rejects when it is gone first
 * or `signal` aborts.
 */
export async function waitForNotifyReady(stateDir: string, container: string, signal: AbortSignal): Promise<void> {
  const conn = await MonitorConnection.open(stateDir, container);
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      conn.on((type, payload) => {
        if ((type === "S" || type === "N") && /^READY=1$/m.test(payload.toString())) resolve();
        else if (type === "X") reject(new StateError(`container "${container}" stopped before it was ready`, "start", "stopped", { container }));
      });
      conn.socket.once("close", () => reject(new StateError(`container "${container}" stopped before it was ready`, "start", "stopped", { container })));
      conn.send("N");
    });
  } finally {
    conn.close();
  }
}
