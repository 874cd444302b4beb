/**
 * The options of `exec()` and `execOutput()`: their zod schema, apart from
 * `exec.ts` so that loading the container module does not load zod (exec
 * imports this on its first call; see docs/cli.md, "Start-up time").
 * @module
 */
import { z } from "zod";

import { issuesOf } from "../config/issues.js";
import { containerPath } from "../config/schema.js";
import { ConfigError } from "../errors.js";

const id = z.number().int().min(0).max(0xfffffffe);
/** A mode, or an fd of this process that the process gets (a pty slave of the caller's own, say). */
const stdioMode = z.union([z.enum(["ignore", "inherit", "pipe"]), z.number().int().min(0)]);
const execOptionsSchema = z.strictObject({
  /** Added to (and overriding) the container's environment. */
  env: z.record(z.string().regex(/^[^=\0]+$/, "must be a valid variable name"), z.string()).optional(),
  /**
   * `false`: the process's environment is `env` alone, not added to the
   * container's (nor warren's defaults, a user's login variables or a
   * device's), with only HOME (the user's home directory, `/` without one)
   * filled in when `env` names none, as runc does for an OCI process.
   * Default `true`.
   */
  extendEnv: z.boolean().optional(),
  cwd: containerPath.optional(),
  /**
   * A user name (`"www-data"`, looked up in the container's /etc/passwd,
   * with its groups from /etc/group, as a login would get them), a numeric
   * uid, or `{uid, gid, groups}`. Default: the container's user.
   */
  user: z
    .union([
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/, "must be a user name"),
      id,
      z.strictObject({ uid: id, gid: id.optional(), groups: z.array(id).optional() }),
    ])
    .optional(),
  /** A pty from the container's devpts instead of pipes; output arrives on `stdout`. */
  tty: z.union([z.boolean(), z.strictObject({ cols: z.number().int().min(1).max(65535).optional(), rows: z.number().int().min(1).max(65535).optional() })]).optional(),
  /**
   * A connected unix socket (an fd of this process): the process gets a new
   * pty of the container's devpts as stdin, stdout, stderr and controlling
   * terminal, and the master is sent over the socket (SCM_RIGHTS, runc's
   * console-socket protocol) for the caller to serve. Not with `tty` or the
   * stdio options.
   */
  terminal: z.number().int().min(0).optional(),
  stdin: stdioMode.optional(),
  stdout: stdioMode.optional(),
  stderr: stdioMode.optional(),
  /** execOutput only: written to stdin, then stdin is closed. */
  input: z.union([z.string(), z.instanceof(Buffer)]).optional(),
  /** execOutput only: reject with ProcessExitError unless the exit code is 0. */
  check: z.boolean().optional(),
});

export type ExecOptions = Omit<z.input<typeof execOptionsSchema>, "input" | "check">;

const STDIO_KEYS = ["tty", "stdin", "stdout", "stderr", "input"] as const;

/** Validates exec options; {@link ConfigError} names the offending field. */
export function parseExecOptions(options: unknown, container: string) {
  const r = execOptionsSchema.safeParse(options ?? {});
  if (!r.success) throw new ConfigError(issuesOf(r.error), { container });
  if (r.data.terminal !== undefined) {
    const clash = STDIO_KEYS.find((k) => r.data[k] !== undefined && r.data[k] !== false);
    if (clash) throw new ConfigError([{ path: clash, message: "not with `terminal`: the terminal is the process's stdio" }], { container });
  }
  return r.data;
}
