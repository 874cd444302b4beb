/**
 * Parsing of the commands that act on one container by name (and
 * sometimes a few more positionals): `warren start web`, `warren rename
 * web web2`, `warren file push web SRC DEST`.
 * @module
 */
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError, type OptionSpec, type SplitArgs } from "./args.js";
import type { Io } from "./io.js";
import { USAGE } from "./usage.js";

/**
 * Parses `argv` of `command` taking the container's name and then exactly
 * the positionals `more` names (for the messages); `undefined` after
 * printing help. `usage` picks another help text (a subcommand's).
 */
export function named(
  command: string,
  argv: readonly string[],
  options: OptionSpec,
  io: Io,
  more: readonly string[] = [],
  usage = command,
): (SplitArgs & { name: string; root: string; args: string[] }) | undefined {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, ...options }, 1 + more.length, command);
  if (parsed.values.help) {
    io.out(USAGE[usage]!);
    return undefined;
  }
  const name = parsed.positionals[0];
  if (name === undefined) throw new UsageError("missing container name", usage);
  const args = parsed.positionals.slice(1);
  if (args.length < more.length) throw new UsageError(`missing ${more[args.length]}`, usage);
  if (parsed.command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.command[0])}`, usage);
  return { ...parsed, name, root: stateRoot(parsed.values), args };
}

/**
 * The subcommand of `warren file push ...`, `warren snapshot list ...`:
 * the first argument that is no option (main() may have put `--root DIR`
 * before it), and the arguments without it. `undefined` after printing
 * help for `warren file --help`.
 */
export function subcommand<S extends string>(command: string, argv: readonly string[], subs: readonly S[], io: Io): { sub: S; rest: string[] } | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--root") {
      i++;
      continue;
    }
    if (a.startsWith("-")) continue;
    if (!(subs as readonly string[]).includes(a)) throw new UsageError(`unknown subcommand ${JSON.stringify(a)} (expected ${subs.join(", ")})`, command);
    return { sub: a as S, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(USAGE[command]!);
    return undefined;
  }
  throw new UsageError(`missing subcommand (${subs.join(", ")})`, command);
}
