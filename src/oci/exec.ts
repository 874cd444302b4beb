/**
 * `warren-oci exec`: a process in a running container, described by an OCI
 * process.json (`--process`) or by the arguments and flags. Its stdio is
 * this command's own (what conmon and the shim hand the runtime), or a pty
 * whose master goes over `--console-socket`. Without `--detach` the command
 * waits and exits with the process's status (128+N for signal N).
 * @module
 */
import { closeSync, readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { resolve } from "node:path";

import { Container } from "../container/container.js";
import { native } from "../native/binding.js";
import { stateOf, writePidFile, type Globals } from "./runtime.js";
import { checkId, OciError, readRecord } from "./state.js";

export interface ExecFlags {
  process?: string;
  args: string[];
  tty: boolean;
  consoleSocket?: string;
  detach: boolean;
  pidFile?: string;
  cwd?: string;
  env: string[];
  user?: string;
}

interface ProcessSpec {
  args: string[];
  env: string[];
  /** From a process.json: its env is the whole environment (runc's way), not added to the container's. */
  whole: boolean;
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  terminal: boolean;
}

function processSpec(f: ExecFlags): ProcessSpec {
  if (f.process) {
    let p: Record<string, unknown>;
    try {
      p = JSON.parse(readFileSync(f.process, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new OciError(`cannot read process spec ${f.process}: ${(e as Error).message}`);
    }
    if (!Array.isArray(p.args) || p.args.length === 0) throw new OciError("args must not be empty");
    return {
      args: p.args as string[],
      env: Array.isArray(p.env) ? (p.env as string[]) : [],
      whole: true,
      ...(typeof p.cwd === "string" ? { cwd: p.cwd } : {}),
      ...(p.user && typeof p.user === "object" ? { user: p.user as ProcessSpec["user"] } : {}),
      terminal: p.terminal === true,
    };
  }
  if (f.args.length === 0) throw new OciError("exec: no command given (ARGS or --process)");
  let user: ProcessSpec["user"];
  if (f.user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(f.user);
    if (!m) throw new OciError(`invalid --user ${JSON.stringify(f.user)} (UID[:GID])`);
    user = { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
  }
  return { args: f.args, env: f.env, whole: false, ...(f.cwd ? { cwd: f.cwd } : {}), ...(user ? { user } : {}), terminal: f.tty };
}

/** Runs the exec; resolves with the exit status this command should end with. */
export async function exec(g: Globals, id: string, f: ExecFlags): Promise<number> {
  const rec = readRecord(g.root, checkId(id));
  if (!rec) throw new OciError("container does not exist");
  const p = processSpec(f);
  if (p.terminal && !f.consoleSocket && f.detach) throw new OciError("cannot allocate tty if runc will detach without setting console socket");
  if (!p.terminal && f.consoleSocket) throw new OciError("cannot use console socket if runc will not allocate tty");
  const { state, container } = await stateOf(g, rec);
  if (!container || (state.status !== "running" && state.status !== "created")) throw new OciError(`cannot exec in a ${state.status === "paused" ? "paused" : "stopped"} container`);
  const env: Record<string, string> = {};
  for (const e of p.env) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  let consoleSocket: number | undefined;
  try {
    // The process opens a pty of the container's devpts and sends the master itself (runc's way).
    if (p.terminal && f.consoleSocket) consoleSocket = native().unixConnect(resolve(f.consoleSocket));
    const user = p.user ? { uid: p.user.uid, gid: p.user.gid, groups: p.user.additionalGids ?? [] } : undefined;
    const proc = await (container as Container).exec(p.args, {
      env,
      ...(p.whole ? { extendEnv: false } : {}),
      ...(p.cwd ? { cwd: p.cwd } : {}),
      ...(user ? { user } : {}),
      ...(consoleSocket !== undefined ? { terminal: consoleSocket } : p.terminal ? { tty: true } : { stdin: "inherit", stdout: "inherit", stderr: "inherit" }),
    });
    if (f.pidFile) writePidFile(f.pidFile, proc.pid);
    if (f.detach) return 0;
    if (p.terminal && !f.consoleSocket) {
      // A terminal of our own (`exec -t` by hand): relay it.
      process.stdin.pipe(proc.stdin!);
      proc.stdout!.pipe(process.stdout);
    }
    const st = await proc.exited;
    if (st.code !== null) return st.code;
    return 128 + ((osConstants.signals as Record<string, number>)[st.signal ?? "SIGKILL"] ?? 9);
  } finally {
    if (consoleSocket !== undefined) closeSync(consoleSocket);
  }
}
