/**
 * `warren-oci`: warren behind runc's command line, for containerd's shim,
 * podman's conmon and anything else that drives an OCI runtime binary
 * (docs/oci-runtime.md). Global flags, then a command and its flags, as
 * runc parses them (Go's flag package: `--flag value`, `--flag=value`,
 * `-flag`, flags before the positional arguments). Errors go to stderr
 * and, with `--log`, into the log file in runc's format (`--log-format
 * json`: one `{"level","msg","time"}` object a line, which containerd
 * reads back); the exit status is 1.
 *
 * Each command's module is loaded when it runs: containerd calls create,
 * start, state and delete for every container, and `features` or `spec`
 * need nothing of warren.
 * @module
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { isEntryModule } from "../linux/entry.js";

interface FlagSpec {
  strings?: string[];
  bools?: string[];
  multi?: string[];
  /** Short names: `b` → `bundle`. */
  alias?: Record<string, string>;
}

interface Parsed {
  flags: Record<string, string | boolean | string[]>;
  rest: string[];
}

export class UsageError extends Error {}

/** Go flag-style parsing: stops at the first positional argument (or `--`). */
export function parseFlags(argv: string[], spec: FlagSpec): Parsed {
  const flags: Parsed["flags"] = {};
  for (const m of spec.multi ?? []) flags[m] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    name = spec.alias?.[name] ?? name;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.bools?.includes(name)) {
      flags[name] = inline === undefined ? true : inline === "true" || inline === "1";
    } else if (spec.strings?.includes(name) || spec.multi?.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: -${name}`);
      if (spec.multi?.includes(name)) (flags[name] as string[]).push(value);
      else flags[name] = value;
    } else {
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
  }
  return { flags, rest: argv.slice(i) };
}

const GLOBAL: FlagSpec = {
  strings: ["root", "log", "log-format", "criu", "rootless"],
  bools: ["debug", "systemd-cgroup", "help", "version"],
  alias: { h: "help", v: "version" },
};

const COMMAND_FLAGS: Record<string, FlagSpec> = {
  create: { strings: ["bundle", "pid-file", "console-socket", "preserve-fds"], bools: ["no-pivot", "no-new-keyring"], alias: { b: "bundle" } },
  start: {},
  state: {},
  kill: { bools: ["all"], alias: { a: "all" } },
  delete: { bools: ["force"], alias: { f: "force" } },
  exec: {
    strings: ["process", "console-socket", "pid-file", "cwd", "user", "process-label", "apparmor", "preserve-fds", "cgroup"],
    multi: ["env", "cap", "additional-gids"],
    bools: ["tty", "detach", "no-new-privs", "ignore-paused", "no-subreaper"],
    alias: { p: "process", t: "tty", d: "detach", e: "env", u: "user", c: "cap", g: "additional-gids" },
  },
  pause: {},
  resume: {},
  ps: { strings: ["format"], alias: { f: "format" } },
  update: { strings: ["resources"], alias: { r: "resources" } },
  features: {},
  spec: { strings: ["bundle"], bools: ["rootless"], alias: { b: "bundle" } },
  list: { strings: ["format"], bools: ["quiet"], alias: { f: "format", q: "quiet" } },
  events: { strings: ["interval"], bools: ["stats"] },
};

const USAGE = `warren-oci: warren as an OCI runtime (runc's command line)

usage: warren-oci [global options] command [command options] [arguments...]

commands: create, start, state, kill, delete, exec, pause, resume, ps, update,
          features, spec, list, events

global options:
   --root value          state directory (default: "/run/warren-oci")
   --log value           log file for errors (default: stderr only)
   --log-format value    "text" or "json" (default: "text")
   --debug               log debug messages
   --systemd-cgroup      refused: warren manages cgroup v2 paths itself
`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

type Level = "error" | "warning" | "info" | "debug";

function logger(file: string | undefined, format: string, debug: boolean, io: Io) {
  return (level: Level, msg: string) => {
    if (level === "debug" && !debug) return;
    const time = new Date().toISOString();
    if (file) {
      const line = format === "json" ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
      try {
        appendFileSync(file, `${line}\n`);
      } catch {
        /* an unwritable log must not hide the error itself */
      }
    }
    if (level === "error") io.err(`${msg}\n`);
    else if (level === "warning" && !file) io.err(`warren-oci: warning: ${msg}\n`);
  };
}

/** runc's `list` table. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 4))).join("").trimEnd()).join("\n") + "\n";
}

/** Runs one invocation; resolves with the exit status. */
export async function main(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  let log = logger(undefined, "text", false, io);
  try {
    const g = parseFlags(argv, GLOBAL);
    log = logger(g.flags.log as string | undefined, (g.flags["log-format"] as string | undefined) ?? "text", g.flags.debug === true, io);
    if (g.flags.version) {
      io.out(`warren-oci version ${version()}\nspec: 1.0.2\n`);
      return 0;
    }
    const [command, ...args] = g.rest;
    if (g.flags.help || !command || command === "help") {
      io.out(USAGE);
      return command || g.flags.help ? 0 : 1;
    }
    const format = g.flags["log-format"];
    if (format !== undefined && format !== "text" && format !== "json") throw new UsageError(`invalid log-format: ${format as string}`);
    if (g.flags["systemd-cgroup"]) {
      throw new UsageError("--systemd-cgroup is not supported: warren-oci creates cgroup v2 directories itself (configure the client's cgroup manager as cgroupfs)");
    }
    const spec = COMMAND_FLAGS[command];
    if (!spec) throw new UsageError(`No help topic for '${command}'`);
    const { flags, rest } = parseFlags(args, spec);
    const globals = { root: (g.flags.root as string | undefined) ?? "/run/warren-oci", log };
    log("debug", `${command} ${args.join(" ")}`);
    return await run(command, flags, rest, globals, io);
  } catch (e) {
    log("error", messageOf(e));
    return 1;
  }
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

function needId(rest: string[], command: string, max = 1): string {
  if (rest.length < 1) throw new UsageError(`"${command}" requires a minimum of 1 argument`);
  if (rest.length > max) throw new UsageError(`"${command}" requires a maximum of ${max} argument${max > 1 ? "s" : ""}`);
  return rest[0]!;
}

async function run(
  command: string,
  flags: Parsed["flags"],
  rest: string[],
  g: { root: string; log: (level: Level, msg: string) => void },
  io: Io,
): Promise<number> {
  if (command === "features") {
    io.out(`${JSON.stringify((await import("./info.js")).features(), null, "    ")}\n`);
    return 0;
  }
  if (command === "spec") {
    const path = join((flags.bundle as string | undefined) ?? ".", "config.json");
    if (existsSync(path)) throw new UsageError("File config.json exists. Remove it first.");
    writeFileSync(path, `${JSON.stringify((await import("./info.js")).defaultSpec(flags.rootless === true), null, "\t")}\n`);
    return 0;
  }
  const rt = await import("./runtime.js");
  switch (command) {
    case "create":
      await rt.create(g, needId(rest, command), {
        bundle: (flags.bundle as string | undefined) ?? ".",
        ...(flags["pid-file"] ? { pidFile: flags["pid-file"] as string } : {}),
        ...(flags["console-socket"] ? { consoleSocket: flags["console-socket"] as string } : {}),
        preserveFds: Number(flags["preserve-fds"] ?? 0),
      });
      return 0;
    case "start":
      await rt.start(g, needId(rest, command));
      return 0;
    case "state":
      io.out(`${JSON.stringify(await rt.state(g, needId(rest, command)), null, "  ")}\n`);
      return 0;
    case "kill":
      await rt.kill(g, needId(rest, command, 2), rest[1], flags.all === true);
      return 0;
    case "delete":
      await rt.del(g, needId(rest, command), flags.force === true);
      return 0;
    case "pause":
    case "resume":
      await rt.pause(g, needId(rest, command), command === "pause");
      return 0;
    case "ps": {
      const id = rest[0];
      if (!id) throw new UsageError(`"ps" requires a minimum of 1 argument`);
      const pids = await rt.ps(g, id);
      if (flags.format === "json") {
        io.out(`${JSON.stringify(pids)}\n`);
        return 0;
      }
      if (flags.format !== undefined && flags.format !== "table") throw new UsageError(`invalid format option`);
      const { execFileSync } = await import("node:child_process");
      const psArgs = rest.length > 1 ? rest.slice(1) : ["-ef"];
      const lines = execFileSync("ps", psArgs, { encoding: "utf8" }).split("\n");
      const pidCol = lines[0]!.trim().split(/\s+/).indexOf("PID");
      if (pidCol < 0) throw new UsageError("couldn't find PID field in ps output");
      const keep = new Set(pids.map(String));
      io.out(`${[lines[0], ...lines.slice(1).filter((l) => keep.has(l.trim().split(/\s+/)[pidCol]!))].join("\n")}\n`);
      return 0;
    }
    case "update": {
      const id = needId(rest, command);
      const file = flags.resources as string | undefined;
      if (!file) throw new UsageError("update: --resources FILE (or - for stdin) is the only way warren-oci takes new limits");
      const text = readFileSync(file === "-" ? 0 : file, "utf8");
      let resources: unknown;
      try {
        resources = JSON.parse(text);
      } catch (e) {
        throw new UsageError(`cannot parse resources: ${(e as Error).message}`);
      }
      for (const w of await rt.update(g, id, resources)) g.log("warning", w);
      return 0;
    }
    case "list": {
      const all = await rt.list(g);
      if (flags.quiet) io.out(all.map((s) => `${s.id}\n`).join(""));
      else if (flags.format === "json") io.out(`${JSON.stringify(all)}\n`);
      else if (flags.format !== undefined && flags.format !== "table") throw new UsageError(`invalid format option`);
      else io.out(table([["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...all.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || "root"])]));
      return 0;
    }
    case "events": {
      const id = needId(rest, command);
      if (flags.stats) {
        io.out(`${JSON.stringify(await rt.stats(g, id))}\n`);
        return 0;
      }
      const interval = parseDuration((flags.interval as string | undefined) ?? "5s");
      for (;;) {
        let s;
        try {
          s = await rt.stats(g, id);
        } catch {
          return 0; // the container stopped: the stream ends
        }
        io.out(`${JSON.stringify(s)}\n`);
        await new Promise((r) => setTimeout(r, interval));
      }
    }
    case "exec": {
      if (rest.length < 1) throw new UsageError(`"exec" requires a minimum of 1 argument`);
      const { exec } = await import("./exec.js");
      return exec(g, rest[0]!, {
        ...(flags.process ? { process: flags.process as string } : {}),
        args: rest.slice(1),
        tty: flags.tty === true,
        ...(flags["console-socket"] ? { consoleSocket: flags["console-socket"] as string } : {}),
        detach: flags.detach === true,
        ...(flags["pid-file"] ? { pidFile: flags["pid-file"] as string } : {}),
        ...(flags.cwd ? { cwd: flags.cwd as string } : {}),
        env: flags.env as string[],
        ...(flags.user ? { user: flags.user as string } : {}),
      });
    }
  }
  throw new UsageError(`No help topic for '${command}'`);
}

/** Go's time.ParseDuration for the simple forms (`5s`, `500ms`, `1m`). */
function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw new UsageError(`invalid duration ${JSON.stringify(s)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}


if (isEntryModule(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A held init or a detached exec must not keep this process: nothing else is left to do.
      setImmediate(() => process.exit(code));
    },
    (e) => {
      process.stderr.write(`${messageOf(e)}\n`);
      process.exit(1);
    },
  );
}
