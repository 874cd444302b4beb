/**
 * The `warren` command line: `warren run -- CMD`, `create`, `start`, `stop`,
 * `kill`, `destroy`, `exec`, `console`, `console-log`, `events`, `freeze`,
 * `unfreeze`, `set`, `stats`, `metrics`, `list`, `info`, `doctor`, `network`, `nic`, `device`, `gc`, `image`,
 * `restart`, `file`, `snapshot`, `copy` (`clone`), `rename`, `export`,
 * `import`, `config`, `shell`, and `after-exit` (run by a container's
 * monitor, not by people). Built by tsup into
 * `dist/cli/main.js` (the package's bin), which runs {@link main} itself.
 * @module
 */
import { readFileSync } from "node:fs";

import { isEntryModule } from "../linux/entry.js";
import { UsageError } from "./args.js";
import { errorText, exitCodeOf } from "./exit.js";
import { processIo, type Io } from "./io.js";
import { MAIN_USAGE, USAGE } from "./usage.js";

/** package.json's version (two levels up from both src/cli/ and dist/cli/). */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

type Command = (argv: string[], io: Io) => Promise<number>;

/**
 * Each command's module is imported when that command runs, not with this
 * one: `warren list` must not pay for what `run` needs (zod and the config
 * schema, the image store, the console), and a runtime invoked several
 * times per container pays start-up on every call. Keep this module's own
 * imports to what every command needs (docs/cli.md, "Start-up time").
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./run.js")).runCommand,
  create: async () => (await import("./run.js")).createCommand,
  start: async () => (await import("./commands.js")).startCommand,
  stop: async () => (await import("./commands.js")).stopCommand,
  kill: async () => (await import("./commands.js")).killCommand,
  destroy: async () => (await import("./commands.js")).destroyCommand,
  exec: async () => (await import("./exec.js")).execCommand,
  console: async () => (await import("./console.js")).consoleCommand,
  "console-log": async () => (await import("./console.js")).consoleLogCommand,
  events: async () => (await import("./events.js")).eventsCommand,
  freeze: async () => (await import("./commands.js")).freezeCommand,
  unfreeze: async () => (await import("./commands.js")).unfreezeCommand,
  set: async () => (await import("./commands.js")).setCommand,
  stats: async () => (await import("./commands.js")).statsCommand,
  metrics: async () => (await import("./metrics.js")).metricsCommand,
  list: async () => (await import("./list.js")).listCommand,
  ls: async () => (await import("./list.js")).listCommand,
  info: async () => {
    const { infoCommand } = await import("./commands.js");
    return (argv, io) => infoCommand(argv, io, version());
  },
  doctor: async () => (await import("./doctor.js")).doctorCommand,
  network: async () => (await import("./network.js")).networkCommand,
  nic: async () => (await import("./network.js")).nicCommand,
  gc: async () => (await import("./network.js")).gcCommand,
  device: async () => (await import("./device.js")).deviceCommand,
  image: async () => (await import("./image.js")).imageCommand,
  restart: async () => (await import("./commands.js")).restartCommand,
  file: async () => (await import("./file.js")).fileCommand,
  snapshot: async () => (await import("./snapshot.js")).snapshotCommand,
  copy: async () => (await import("./manage.js")).copyCommand,
  clone: async () => (await import("./manage.js")).copyCommand,
  rename: async () => (await import("./manage.js")).renameCommand,
  export: async () => (await import("./manage.js")).exportCommand,
  import: async () => (await import("./manage.js")).importCommand,
  config: async () => (await import("./configure.js")).configCommand,
  shell: async () => (await import("./shell.js")).shellCommand,
  "after-exit": async () => (await import("./after-exit.js")).afterExitCommand,
};

/**
 * `--root DIR` (or `--root=DIR`) is the one option that may come before the
 * command, as in `warren --root /srv/w list`: it is moved behind the command
 * name, where every command parses it.
 */
function hoistRoot(argv: readonly string[]): readonly string[] {
  const a = [...argv];
  const lead: string[] = [];
  while (a[0] === "--root" || a[0]?.startsWith("--root=")) {
    lead.push(...(a[0] === "--root" ? a.splice(0, 2) : a.splice(0, 1)));
  }
  if (lead.length === 0 || a.length === 0) return argv;
  return [a[0]!, ...lead, ...a.slice(1)];
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit status. */
export async function main(argvIn: readonly string[], io: Io = processIo): Promise<number> {
  const argv = hoistRoot(argvIn);
  const [first, ...rest] = argv;
  try {
    if (first === undefined) {
      io.err(MAIN_USAGE);
      return 125;
    }
    if (first === "--help" || first === "-h") {
      io.out(MAIN_USAGE);
      return 0;
    }
    if (first === "--version" || first === "-V" || first === "version") {
      io.out(version());
      return 0;
    }
    if (first === "help") {
      const topic = rest[0];
      if (topic === undefined) io.out(MAIN_USAGE);
      else if (USAGE[topic]) io.out(USAGE[topic]!);
      else throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
      return 0;
    }
    const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!load) {
      throw new UsageError(first.startsWith("-") ? `unknown option ${first} (options go after the command)` : `unknown command ${JSON.stringify(first)}`);
    }
    const command = await load();
    return await command(rest, io);
  } catch (e) {
    const topic = first === "ls" ? "list" : first === "clone" ? "copy" : first;
    io.err(errorText(e, topic !== undefined && Object.hasOwn(USAGE, topic) ? topic : undefined));
    return exitCodeOf(e);
  }
}


/** Resolves once everything written to `stream` so far has been handed to the kernel. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write("", () => resolve());
  });
}

if (isEntryModule(import.meta.url)) {
  // Exits explicitly rather than by draining the event loop: a container
  // adopted by Container.get/list keeps an (unref'd) native exit watcher,
  // and when its init exits while Node tears the environment down, the
  // watcher calls into JS too late and the process aborts (SIGABRT).
  const exit = (code: number) =>
    Promise.all([flushed(process.stdout), flushed(process.stderr)]).finally(() => process.exit(code));
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      return exit(code);
    },
    (e: unknown) => {
      // main catches everything; this is a last resort.
      process.stderr.write(`warren: ${e instanceof Error ? e.message : String(e)}\n`);
      return exit(125);
    },
  );
}
