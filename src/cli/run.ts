/**
 * `warren run` and `warren create`: containers described by config flags.
 * @module
 */
import { randomBytes } from "node:crypto";

import type { ContainerConfig } from "../config/schema.js";
import { Container } from "../container/container.js";
import { purgesDone } from "../container/trash.js";
import { ReadyTimeoutError } from "../errors.js";
import { COMMON_OPTIONS, CONFIG_OPTIONS, parseWait, splitArgs, stateRoot, UsageError, WAIT_OPTIONS } from "./args.js";
import { configFromFlags } from "./config-args.js";
import { statusOf } from "./exit.js";
import { attachConsole, DEFAULT_ESCAPE, escapeName, parseEscape } from "./console.js";
import { printWarnings, trapSignals, type Io } from "./io.js";
import { openRunTerminal } from "./terminal.js";
import { USAGE } from "./usage.js";

const RUN_OPTIONS = {
  ...COMMON_OPTIONS,
  ...CONFIG_OPTIONS,
  ...WAIT_OPTIONS,
  name: { type: "string" },
  rm: { type: "boolean" },
} as const;

/**
 * `create` also takes `--console`: `run` attaches the init to this terminal
 * (stdio "inherit"), which replaces a console, so there it would mean nothing.
 */
const CREATE_OPTIONS = {
  ...COMMON_OPTIONS,
  ...CONFIG_OPTIONS,
  console: { type: "boolean" },
  "no-console": { type: "boolean" },
} as const;

/** SIGINTs after which `run` stops forwarding and kills the container. */
const INTERRUPTS_BEFORE_KILL = 3;

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, command } = splitArgs(argv, RUN_OPTIONS, 0, "run");
  if (values.help) {
    io.out(USAGE.run!);
    return 0;
  }
  const root = stateRoot(values);
  const config: ContainerConfig = configFromFlags(values);
  if (command.length > 0) config.init = command;
  if (values.rm) config.ephemeral = true;
  const wait = parseWait(values);
  const name = (values.name as string | undefined) ?? `run-${randomBytes(4).toString("hex")}`;

  // Trapped before the container exists, so a signal during setup is not lost.
  let container: Container | undefined;
  let started = false;
  const pending: NodeJS.Signals[] = [];
  let interrupts = 0;
  const forward = (sig: NodeJS.Signals) => {
    if (!started || !container) {
      pending.push(sig);
      return;
    }
    if (sig === "SIGINT" && ++interrupts >= INTERRUPTS_BEFORE_KILL) {
      io.err(`warren: killing container "${container.name}"`);
      sig = "SIGKILL";
    }
    container.kill(sig).catch(() => undefined); // not running any more: nothing to forward to
  };
  const untrap = trapSignals(forward);
  try {
    container = await Container.create(name, config, { root });
    // A system init (systemd, sysvinit, busybox init) gets its console, and
    // the terminal is attached to it, as `lxc-start -F` does; any other
    // init gets this process's stdio.
    const onConsole = container.effectiveConfig().console;
    // Never this process's terminal itself: a pty of the container's own.
    const terminal = onConsole ? undefined : openRunTerminal();
    let relayed: Promise<void> = Promise.resolve();
    try {
      await container.start(onConsole ? wait : { stdio: terminal?.stdio ?? "inherit", ...wait });
      if (terminal) relayed = terminal.relay(() => forward("SIGINT"));
    } catch (e) {
      // Not ready in time: the library leaves it running; `run` owns it, so it goes.
      if (e instanceof ReadyTimeoutError) await container.stop({ timeout: 0 }).catch(() => undefined);
      if (values.rm) await container.destroy({ force: true }).catch(() => undefined);
      throw e;
    } finally {
      terminal?.closeSlave();
    }
    started = true;
    printWarnings(io, container.warnings);
    for (const sig of pending.splice(0)) forward(sig);
    if (onConsole) {
      const escape = parseEscape(DEFAULT_ESCAPE);
      const end = await attachConsole(container, {
        escape,
        replay: true,
        onAttached: () => io.err(`warren: "${container!.name}" on its console; type <${escapeName(escape)} q> to detach`),
        onSignal: forward,
        stayAfterInput: true,
      });
      if (end.kind === "detach" || end.kind === "eof") {
        if (process.stdin.isTTY === true) io.err("");
        io.err(
          values.rm
            ? `warren: detached; "${container.name}" (--rm) is stopped and removed`
            : `warren: detached; "${container.name}" keeps running (warren console ${container.name}, warren stop ${container.name})`,
        );
        if (values.rm) {
          await container.stop().catch(() => undefined);
          await container.destroy({ force: true }).catch(() => undefined);
        } else container.unref();
        return 0;
      }
      if (end.kind === "error") throw end.error;
    }
    const status = await container.exited;
    await relayed;
    if (values.rm) await container.destroy({ force: true });
    return statusOf(status);
  } finally {
    untrap();
    // --rm: the process exits right after; the container's files go first.
    await purgesDone();
  }
}

export async function createCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, command } = splitArgs(argv, CREATE_OPTIONS, 1, "create");
  if (values.help) {
    io.out(USAGE.create!);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new UsageError("missing container name", "create");
  const root = stateRoot(values);
  const config = configFromFlags(values);
  if (command.length > 0) config.init = command;
  const c = await Container.create(name, config, { root });
  printWarnings(io, c.warnings);
  io.out(c.name);
  return 0;
}
