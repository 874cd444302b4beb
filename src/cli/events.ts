/**
 * `warren events NAME`: what happens to a container, one line per event.
 * @module
 */
import { Container } from "../container/container.js";
import type { ContainerEvent } from "../container/resources.js";
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError } from "./args.js";
import type { Io } from "./io.js";
import { USAGE } from "./usage.js";

const EVENTS_OPTIONS = { ...COMMON_OPTIONS, follow: { type: "boolean", short: "f" }, json: { type: "boolean" } } as const;

/** `ARGV` as a shell would read it back: plain words as they are, others single-quoted. */
function shellWords(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** The text after the time and type: `pid=42`, `code=0 reason=halt`, ... */
export function eventDetails(e: ContainerEvent): string {
  switch (e.type) {
    case "started":
      return `pid=${e.pid}`;
    case "exec":
      return `pid=${e.pid} ${shellWords(e.argv)}`;
    case "oom":
    case "oom-kill":
      return `count=${e.count}`;
    case "stopped": {
      const s = e.status;
      const parts = [s.signal ? `signal=${s.signal}` : s.code !== null ? `code=${s.code}` : "status=unknown"];
      if (s.reason) parts.push(`reason=${s.reason}`);
      if (e.restarting) parts.push("restarting");
      return parts.join(" ");
    }
    default:
      return "";
  }
}

/** One line: `2024-05-01T12:00:00.000Z stopped code=0 reason=halt`, or the event as JSON with `time`. */
export function formatEvent(e: ContainerEvent, time: Date, json: boolean): string {
  if (json) return JSON.stringify({ time: time.toISOString(), ...e });
  return [time.toISOString(), e.type, eventDetails(e)].filter(Boolean).join(" ");
}

export async function eventsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, command } = splitArgs(argv, EVENTS_OPTIONS, 1, "events");
  if (values.help) {
    io.out(USAGE.events!);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new UsageError("missing container name", "events");
  if (command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(command[0])}`, "events");
  const json = values.json === true;
  const c = await Container.get(name, { root: stateRoot(values) });
  // The init's exit watcher keeps this process alive until `stopped` (an
  // adopted container's is unref'd, and the cgroup watcher does not count).
  c.ref();
  // SIGINT and the like end this process as they would any (no terminal state to restore).
  try {
    for await (const e of c.events({ follow: values.follow === true })) io.out(formatEvent(e, new Date(), json));
  } finally {
    c.unref();
  }
  return 0;
}
