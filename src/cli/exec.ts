/**
 * `warren exec`: a process in a running container, wired to this one's
 * stdin/stdout/stderr (pipes, or a pty with `-t`).
 * @module
 */
import type { Readable } from "node:stream";

import { Container } from "../container/container.js";
import type { ExecOptions, ExecProcess } from "../container/exec.js";
import { COMMON_OPTIONS, parseEnv, parseExecUser, splitArgs, stateRoot, UsageError } from "./args.js";
import { statusOf } from "./exit.js";
import { enterRawMode, followWindowSize, trapSignals, windowSize, type Io } from "./io.js";
import { USAGE } from "./usage.js";

const EXEC_OPTIONS = {
  ...COMMON_OPTIONS,
  tty: { type: "boolean", short: "t" },
  env: { type: "string", short: "e", multiple: true },
  cwd: { type: "string" },
  user: { type: "string", short: "u" },
} as const;

/** After the process exits, how long its output may stay silent before we stop waiting for its end (a background child may hold it open). */
const DRAIN_IDLE_MS = 2000;

/** Resolves when `stream` has ended, or has been silent for `idleMs` after `exited`. */
function drained(stream: Readable | null, exited: Promise<unknown>, idleMs: number): Promise<void> {
  if (!stream || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let gone = false;
    const arm = () => {
      if (!gone) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        stream.destroy();
        resolve();
      }, idleMs);
    };
    stream.on("data", arm);
    stream.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    exited.then(() => {
      gone = true;
      arm();
    });
  });
}

export async function execCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, command } = splitArgs(argv, EXEC_OPTIONS, 1, "exec");
  if (values.help) {
    io.out(USAGE.exec!);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new UsageError("missing container name", "exec");
  if (command.length === 0) throw new UsageError("missing command", "exec");
  const root = stateRoot(values);
  const tty = values.tty === true;
  const env = parseEnv(values.env as string[] | undefined);
  const options: ExecOptions = {};
  if (Object.keys(env).length) options.env = env;
  if (values.cwd !== undefined) options.cwd = values.cwd as string;
  if (values.user !== undefined) options.user = parseExecUser(values.user as string);

  const stdinIsTty = process.stdin.isTTY === true;
  const stdoutIsTty = process.stdout.isTTY === true;
  // A terminal's input goes to the process only when it gets a terminal too.
  const passStdin = tty || !stdinIsTty;
  if (tty) {
    options.tty = stdoutIsTty ? windowSize() : true;
  } else {
    options.stdin = passStdin ? "pipe" : "ignore";
    options.stdout = "pipe";
    options.stderr = "pipe";
  }

  const c = await Container.get(name, { root });
  c.unref();
  const cleanups: (() => void)[] = [];
  let p: ExecProcess | undefined;
  const pending: NodeJS.Signals[] = [];
  cleanups.push(
    trapSignals((sig) => {
      if (p) p.kill(sig);
      else pending.push(sig);
    }),
  );
  try {
    if (tty && stdinIsTty) cleanups.push(enterRawMode());
    p = await c.exec(command, options);
    const proc = p;
    for (const sig of pending.splice(0)) proc.kill(sig);
    if (tty && stdoutIsTty) cleanups.push(followWindowSize((cols, rows) => proc.resize(cols, rows)));
    if (passStdin && proc.stdin) {
      const input = proc.stdin;
      input.on("error", () => undefined); // EPIPE: the process stopped reading
      process.stdin.pipe(input, { end: !tty });
      cleanups.push(() => {
        process.stdin.unpipe(input);
        process.stdin.pause();
      });
    }
    const output: Promise<void>[] = [];
    if (proc.stdout) {
      proc.stdout.pipe(process.stdout, { end: false });
      output.push(drained(proc.stdout, proc.exited, DRAIN_IDLE_MS));
    }
    if (proc.stderr) {
      proc.stderr.pipe(process.stderr, { end: false });
      output.push(drained(proc.stderr, proc.exited, DRAIN_IDLE_MS));
    }
    const status = await proc.exited;
    await Promise.all(output);
    return statusOf(status);
  } finally {
    for (const f of cleanups.reverse()) {
      try {
        f();
      } catch {
        /* best effort: restoring the terminal must not hide the real error */
      }
    }
  }
}
