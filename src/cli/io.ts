/**
 * Where the CLI writes, and the signals it forwards to what it runs.
 * @module
 */

/** Output of the CLI's own messages (not of the containers' processes). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
  err: (t) => void process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
};

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
