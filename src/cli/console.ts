/**
 * `warren console NAME`: this terminal attached to a running container's
 * console (the pty its monitor keeps), and `warren console-log NAME`: what
 * the console said last. Detaching leaves the console, and the container,
 * running; like lxc-console, `<Ctrl+a q>` detaches and `<Ctrl+a Ctrl+a>`
 * types a Ctrl+a.
 * @module
 */
import { signalNumber } from "../config/signals.js";
import { Container } from "../container/container.js";
import type { ConsoleStream } from "../container/monitor.js";
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError } from "./args.js";
import { EXIT_FAILURE } from "./exit.js";
import { enterRawMode, followWindowSize, trapSignals, windowSize, type Io } from "./io.js";
import { USAGE } from "./usage.js";

const CONSOLE_OPTIONS = {
  ...COMMON_OPTIONS,
  replay: { type: "boolean" },
  escape: { type: "string", short: "e" },
} as const;

export const DEFAULT_ESCAPE = "^a";
/** The key after the escape that detaches. */
const DETACH_KEY = 0x71; // q

/** After stdin ends (not a terminal), how long the console may stay silent before we detach. */
const EOF_IDLE_MS = 1000;
/** After the console ends, how long to wait for the init's exit before calling it "closed" rather than "stopped". */
const STOP_GRACE_MS = 2000;

/** `^a` → 0x01, `^[` → 0x1b: the control character a caret notation names. */
export function parseEscape(s: string, flag = "-e/--escape"): number {
  const m = /^\^([A-Za-z@[\\\]^_])$/.exec(s);
  if (!m) throw new UsageError(`${flag}: expected a control key like ^a or ^], got ${JSON.stringify(s)}`, "console");
  return m[1]!.toUpperCase().charCodeAt(0) ^ 0x40;
}

/** `<Ctrl+a q>` for 0x01 (the detach sequence as the attach message writes it). */
export function escapeName(escape: number): string {
  const key = String.fromCharCode(escape ^ 0x40);
  return /[A-Z]/.test(key) ? `Ctrl+${key.toLowerCase()}` : `Ctrl+${key}`;
}

/**
 * Watches typed input for the detach sequence: ESC `q` detaches, ESC ESC
 * types one ESC, ESC followed by anything else types both. An ESC at the end
 * of a chunk waits for the next one (a terminal sends each key on its own).
 */
export class DetachFilter {
  private pending = false;
  constructor(private readonly escape: number) {}

  /** What of `chunk` goes to the console, and whether the user asked to detach (the rest is dropped). */
  push(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.pending) {
        this.pending = false;
        if (b === DETACH_KEY) return { forward: Buffer.from(out), detach: true };
        out.push(this.escape);
        if (b !== this.escape) out.push(b);
        continue;
      }
      if (b === this.escape) this.pending = true;
      else out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

export type End = { kind: "detach" } | { kind: "eof" } | { kind: "closed" } | { kind: "signal"; signal: NodeJS.Signals } | { kind: "error"; error: unknown };

export async function consoleCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, command } = splitArgs(argv, CONSOLE_OPTIONS, 1, "console");
  if (values.help) {
    io.out(USAGE.console!);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new UsageError("missing container name", "console");
  if (command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(command[0])}`, "console");
  const escape = parseEscape((values.escape as string | undefined) ?? DEFAULT_ESCAPE);
  const root = stateRoot(values);

  const c = await Container.get(name, { root });
  c.unref();
  const end = await attachConsole(c, {
    escape,
    replay: values.replay === true,
    onAttached: () => io.err(`warren: attached to the console of "${c.name}"; type <${escapeName(escape)} q> to detach`),
  });
  const terminal = process.stdin.isTTY === true;
  switch (end.kind) {
    case "detach":
      if (terminal) io.err(`\nwarren: detached from the console of "${c.name}"`);
      return 0;
    case "eof":
      return 0;
    case "signal":
      return 128 + (signalNumber(end.signal) ?? 0);
    case "error":
      throw end.error;
    case "closed":
      return await closed(c, io, terminal);
  }
  return EXIT_FAILURE; // unreachable: every End is handled above
}

/**
 * Connects this terminal (or pipe) to the container's console until the
 * detach key, the end of a piped input, a signal (unless `onSignal` takes
 * signals instead), or the console's end. The terminal is in raw mode
 * meanwhile and its window size followed; everything is restored after.
 */
export async function attachConsole(
  c: Container,
  opts: {
    escape: number;
    replay: boolean;
    onAttached?: () => void;
    onSignal?: (signal: NodeJS.Signals) => void;
    /** Stay attached when a piped input ends (until the detach key or the console's end). */
    stayAfterInput?: boolean;
  },
): Promise<End> {
  const stream: ConsoleStream = await c.console({ replay: opts.replay });
  opts.onAttached?.();
  const escape = opts.escape;
  const stdin = process.stdin;
  const stdout = process.stdout;
  const terminal = stdin.isTTY === true;

  const cleanups: (() => void)[] = [];
  let finish!: (e: End) => void;
  const ended = new Promise<End>((resolve) => {
    let done = false;
    finish = (e) => {
      if (done) return;
      done = true;
      resolve(e);
    };
  });
  try {
    if (!opts.onSignal) cleanups.push(trapSignals((signal) => finish({ kind: "signal", signal })));
    if (terminal) cleanups.push(enterRawMode(stdin));
    if (stdout.isTTY === true) {
      const { cols, rows } = windowSize(stdout);
      if (cols !== undefined && rows !== undefined) stream.resize(cols, rows);
      cleanups.push(followWindowSize((cols, rows) => stream.resize(cols, rows), stdout));
    }

    // Console → stdout; its end means the console closed (the init exited, or it has none).
    let idle: NodeJS.Timeout | undefined;
    let inputEnded = false;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish({ kind: "eof" }), EOF_IDLE_MS);
    };
    stream.on("data", (b: Buffer) => {
      stdout.write(b);
      if (inputEnded) armIdle();
    });
    stream.on("end", () => finish({ kind: "closed" }));
    stream.on("error", (error) => finish({ kind: "error", error }));
    cleanups.push(() => clearTimeout(idle));

    // stdin → console, through the detach filter.
    const filter = new DetachFilter(escape);
    const onData = (b: Buffer) => {
      const { forward, detach } = filter.push(b);
      if (forward.length) stream.write(forward);
      if (detach) finish({ kind: "detach" });
    };
    // Not a terminal: at the end of the input, stay for the output it caused,
    // and detach once the console has been quiet for a while.
    const onEnd = () => {
      if (opts.stayAfterInput) return;
      inputEnded = true;
      armIdle();
    };
    stdin.on("data", onData);
    stdin.once("end", onEnd);
    stdin.resume();
    cleanups.push(() => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
    });

    const end = await ended;
    for (const f of cleanups.splice(0).reverse()) runQuietly(f);
    stream.end();
    return end;
  } finally {
    for (const f of cleanups.reverse()) runQuietly(f);
    stream.destroy();
  }
}

/** The console ended: the container stopped (exit 0, with how), or it has no console (125). */
async function closed(c: Container, io: Io, terminal: boolean): Promise<number> {
  const nl = terminal ? "\n" : "";
  const stopped = await Promise.race([c.exited.then((s) => s), new Promise<null>((r) => setTimeout(() => r(null), STOP_GRACE_MS).unref())]);
  c.unref();
  if (stopped === null) {
    await c.refresh().catch(() => undefined);
    if (c.state === "running" || c.state === "frozen") {
      io.err(`${nl}warren: container "${c.name}" has no console (create it with --console, or config \`console: true\`)`);
      return EXIT_FAILURE;
    }
  }
  const how = stopped?.signal ? ` (${stopped.signal})` : stopped && stopped.code !== null ? ` (exit ${stopped.code})` : "";
  io.err(`${nl}warren: container "${c.name}" stopped${how}`);
  return 0;
}

function runQuietly(f: () => void): void {
  try {
    f();
  } catch {
    /* best effort: restoring the terminal must not hide the real outcome */
  }
}

export async function consoleLogCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, command } = splitArgs(argv, COMMON_OPTIONS, 1, "console-log");
  if (values.help) {
    io.out(USAGE["console-log"]!);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new UsageError("missing container name", "console-log");
  if (command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(command[0])}`, "console-log");
  const c = await Container.get(name, { root: stateRoot(values) });
  c.unref();
  const log = await c.consoleLog();
  // The bytes as the console wrote them (CRLF, escape sequences), without a newline of ours.
  await new Promise<void>((resolve, reject) => process.stdout.write(log, (e) => (e ? reject(e) : resolve())));
  return 0;
}
