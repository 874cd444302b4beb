/**
 * Progress of `warren image build` and `warren image pull` on stderr: one
 * line redrawn in place (`\r`, erase to the end of the line) when stderr is
 * a terminal, otherwise a plain line per step, so a log file gets a readable
 * record instead of a thousand carriage returns. Pure over an injected sink.
 * @module
 */
import { formatBytes } from "../cgroup/units.js";
import type { BuildProgress, PullProgress } from "../index.js";
import type { Io, StatusLine } from "./io.js";

const BAR_WIDTH = 24;
/** A terminal redraw at most this often (a fast mirror sends hundreds of events a second). */
const REDRAW_MS = 80;

/** `[#######.........]` for `done` of `total`; `[<=>...]`-less when the total is unknown. */
export function bar(done: number, total: number | undefined, width = BAR_WIDTH): string {
  if (!total || total <= 0) return "";
  const filled = Math.max(0, Math.min(width, Math.round((done / total) * width)));
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** A status line cut to the terminal's width (the cursor must not wrap, or `\r` redraws the wrong line). */
export function fit(text: string, columns: number): string {
  const max = Math.max(10, columns - 1);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `sha256:0123456789ab` (the short form `image list` shows). */
export function shortDigest(d: string | undefined): string {
  if (!d) return "";
  const [alg, hex] = d.includes(":") ? (d.split(":", 2) as [string, string]) : ["sha256", d];
  return `${alg}:${hex.slice(0, 12)}`;
}

/** Writes the in-place line (terminal) or the plain lines (anything else). */
export class ProgressPrinter {
  private last = "";
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly io: Io,
    private readonly status: StatusLine | undefined = io.status,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the line is redrawn in place. */
  get live(): boolean {
    return this.status !== undefined;
  }

  /** Redraws the line (throttled unless `force`). */
  update(text: string, force = false): void {
    if (!this.status) return;
    const t = this.now();
    if (!force && this.drawn && t - this.lastDraw < REDRAW_MS) {
      this.last = text;
      return;
    }
    this.last = text;
    this.lastDraw = t;
    this.drawn = true;
    this.status.write(`\r${fit(text, this.status.columns())}\x1b[K`);
  }

  /** A line of its own: printed as is when not a terminal; on a terminal it replaces the status line. */
  line(text: string): void {
    if (this.status) {
      this.status.write(`\r${fit(text, this.status.columns())}\x1b[K\n`);
      this.drawn = false;
      this.last = "";
    } else {
      this.io.err(text);
    }
  }

  /** Ends the status line (leaves the last state visible), before anything else is printed. */
  done(): void {
    if (this.status && this.drawn) {
      this.status.write(`\r${fit(this.last, this.status.columns())}\x1b[K\n`);
      this.drawn = false;
    }
  }

  /** Erases the status line (on an error, whose message takes its place). */
  clear(): void {
    if (this.status && this.drawn) this.status.write("\r\x1b[K");
    this.drawn = false;
  }
}

/** The `onProgress` of `ImageStore.build`: `configure  97/140 [#################.......] Setting up libc6`. */
export function buildProgress(p: ProgressPrinter): (e: BuildProgress) => void {
  let phase: string | undefined;
  return (e) => {
    const count = e.total ? `${e.done}/${e.total}` : e.done ? String(e.done) : "";
    if (e.phase !== phase) {
      phase = e.phase;
      if (!p.live) p.line(`build: ${e.phase}${e.total ? ` (${e.total} packages)` : ""}`);
    }
    p.update([e.phase.padEnd(9), count, bar(e.done, e.total), e.message].filter(Boolean).join(" "), e.total !== undefined && e.done === e.total);
  };
}

/**
 * The `onProgress` of `ImageStore.pull`: per layer its bytes, in place on a
 * terminal (`layer sha256:0123456789ab  1.5MiB/3.2MiB [#####...]`), and a
 * line per finished layer otherwise.
 */
export function pullProgress(p: ProgressPrinter): (e: PullProgress) => void {
  const finished = new Set<string>();
  let unpacking = false;
  return (e) => {
    const what = e.phase === "layer" ? `layer ${shortDigest(e.digest)}` : e.phase;
    const sizes = e.total > 0 ? `${formatBytes(e.bytes)}/${formatBytes(e.total)}` : formatBytes(e.bytes);
    if (e.phase === "unpack" && !unpacking) {
      unpacking = true;
      if (!p.live) p.line(`unpack: ${formatBytes(e.total)}`);
    }
    const complete = e.total > 0 && e.bytes >= e.total;
    if (e.phase === "layer" && complete && e.digest && !finished.has(e.digest)) {
      finished.add(e.digest);
      p.line(`${what}  ${formatBytes(e.total)} done`);
      return;
    }
    p.update(`${what}  ${sizes} ${bar(e.bytes, e.total)}`.trimEnd(), complete);
  };
}
