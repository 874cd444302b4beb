/**
 * Where the CLI writes, how it lays out tables, and the signals it
 * forwards to what it runs.
 * @module
 */

/** stderr as a terminal: a line the CLI redraws in place (progress). */
export interface StatusLine {
  /** Writes `text` as is (no newline added). */
  write(text: string): void;
  /** The terminal's width. */
  columns(): number;
}

/** Output of the CLI's own messages (not of the containers' processes). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Present when stderr is a terminal: progress is then one line redrawn in place. */
  readonly status?: StatusLine | undefined;
  /** Reads all of stdin (`--password-stdin`). Default: this process's stdin. */
  readStdin?(): Promise<string>;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
  err: (t) => void process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
  get status(): StatusLine | undefined {
    if (process.stderr.isTTY !== true) return undefined;
    return { write: (t) => void process.stderr.write(t), columns: () => process.stderr.columns || 80 };
  },
  readStdin: () => readAll(process.stdin),
};

/** Everything `stream` gives until its end, as UTF-8. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(parts).toString("utf8");
}

/** Prints each of `warnings` (e.g. limits skipped with --best-effort) as `warren: warning: ...`. */
export function printWarnings(io: Io, warnings: readonly string[]): void {
  for (const w of warnings) io.err(`warren: warning: ${w}`);
}

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Calls `onSignal` for each SIGINT, SIGTERM and SIGHUP this process gets
 * (which then no longer end it) until the returned function is called.
 */
export function trapSignals(onSignal: (sig: NodeJS.Signals) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((sig) => {
    const h = () => onSignal(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

/**
 * Puts this process's stdin (a terminal) in raw mode and returns the
 * function that restores it. The restore also runs from the process's
 * `exit` event, so a crash or a `process.exit` on the way out does not leave
 * the user's shell in raw mode (no echo, no line editing).
 */
export function enterRawMode(stdin: NodeJS.ReadStream = process.stdin): () => void {
  if (stdin.isTTY !== true) return () => undefined;
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off("exit", restore);
    try {
      stdin.setRawMode(false);
    } catch {
      /* the terminal is gone */
    }
  };
  process.on("exit", restore);
  return restore;
}

/** This terminal's size; a dimension the terminal does not know (0) is left out. */
export function windowSize(stdout: NodeJS.WriteStream = process.stdout): { cols?: number; rows?: number } {
  const [cols, rows] = stdout.getWindowSize();
  return { ...(cols > 0 ? { cols } : {}), ...(rows > 0 ? { rows } : {}) };
}

/**
 * Calls `resize(cols, rows)` on each SIGWINCH (the terminal was resized)
 * until the returned function is called.
 */
export function followWindowSize(resize: (cols: number, rows: number) => void, stdout: NodeJS.WriteStream = process.stdout): () => void {
  const onWinch = () => {
    const { cols, rows } = windowSize(stdout);
    if (cols === undefined || rows === undefined) return;
    try {
      resize(cols, rows);
    } catch {
      /* the pty or the console is gone */
    }
  };
  process.on("SIGWINCH", onWinch);
  return () => void process.off("SIGWINCH", onWinch);
}

/** A plain table: columns padded to their widest cell, two spaces apart. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}
