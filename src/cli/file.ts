/**
 * `warren file push|pull|edit`: files in and out of a container (running
 * or stopped) through the library's path-safe file API. Owners are as the
 * container sees them.
 * @module
 */
import { spawn } from "node:child_process";
import { promises as fsp, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, posix } from "node:path";
import { pipeline } from "node:stream/promises";

import { signalNumber } from "../config/signals.js";
import { Container } from "../container/container.js";
import { parseCount, UsageError } from "./args.js";
import { EXIT_FAILURE } from "./exit.js";
import type { Io } from "./io.js";
import { named, subcommand } from "./named.js";

const PUSH_OPTIONS = {
  mode: { type: "string" },
  uid: { type: "string" },
  gid: { type: "string" },
  "create-dirs": { type: "boolean", short: "p" },
} as const;

function parseMode(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^0?[0-7]{3,4}$/.test(s)) throw new UsageError(`--mode: expected octal permission bits like 0644, got ${JSON.stringify(s)}`, "file");
  return parseInt(s, 8);
}

async function push(argv: string[], io: Io): Promise<number> {
  const a = named("file", argv, PUSH_OPTIONS, io, ["host source (or -)", "container path"]);
  if (!a) return 0;
  const [src, destIn] = a.args as [string, string];
  // `DIR/` names a directory of the container: the file keeps its host name.
  const dest = destIn.endsWith("/") && src !== "-" ? posix.join(destIn, basename(src)) : destIn;
  const mode = parseMode(a.values.mode as string | undefined);
  const uid = parseCount(a.values.uid as string | undefined, "--uid");
  const gid = parseCount(a.values.gid as string | undefined, "--gid");
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  await c.pushFile(src === "-" ? process.stdin : src, dest, {
    ...(mode !== undefined ? { mode } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    ...(a.values["create-dirs"] ? { mkdirs: true } : {}),
  });
  return 0;
}

async function pull(argv: string[], io: Io): Promise<number> {
  const a = named("file", argv, {}, io, ["container path", "host destination (or -)"]);
  if (!a) return 0;
  const [src, destIn] = a.args as [string, string];
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  if (destIn === "-") {
    await pipeline(await c.openReadStream(src), process.stdout, { end: false });
    return 0;
  }
  const isDir = statSync(destIn, { throwIfNoEntry: false })?.isDirectory() === true;
  await c.pullFile(src, isDir ? join(destIn, posix.basename(src)) : destIn);
  return 0;
}

/** Runs the user's editor on `file` with this terminal; resolves with its exit status. */
function runEditor(file: string): Promise<number> {
  const editor = process.env.VISUAL || process.env.EDITOR || "vi";
  // Through the shell, as git and crontab do: EDITOR may carry arguments ("code --wait").
  const child = spawn("/bin/sh", ["-c", `${editor} "$1"`, "editor", file], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? 128 + (signal ? (signalNumber(signal) ?? 0) : 0)));
  });
}

async function edit(argv: string[], io: Io): Promise<number> {
  const a = named("file", argv, {}, io, ["container path"]);
  if (!a) return 0;
  const path = a.args[0]!;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  const before = await c.pullFile(path);
  const dir = await fsp.mkdtemp(join(tmpdir(), "warren-edit-"));
  try {
    const file = join(dir, posix.basename(path) || "file");
    await fsp.writeFile(file, before, { mode: 0o600 });
    const status = await runEditor(file);
    if (status !== 0) {
      io.err(`warren: the editor exited with status ${status}; \`${path}\` is left as it was`);
      return EXIT_FAILURE;
    }
    const after = await fsp.readFile(file);
    // Pushed back only when changed: the file keeps its owner and mode either way.
    if (!after.equals(before)) await c.pushFile(after, path);
    return 0;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export async function fileCommand(argv: string[], io: Io): Promise<number> {
  const s = subcommand("file", argv, ["push", "pull", "edit"] as const, io);
  if (!s) return 0;
  return s.sub === "push" ? push(s.rest, io) : s.sub === "pull" ? pull(s.rest, io) : edit(s.rest, io);
}
