/**
 * The commands that move or copy a container as a whole: `copy` (`clone`),
 * `rename`, `export` and `import`. Each is one call of the library API.
 * @module
 */
import { Container } from "../container/container.js";
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError } from "./args.js";
import type { Io } from "./io.js";
import { named } from "./named.js";
import { USAGE } from "./usage.js";

/** `warren copy SRC DEST` (also `clone`): a new container with a copy of SRC's changes. */
export async function copyCommand(argv: string[], io: Io): Promise<number> {
  const a = named("copy", argv, {}, io, ["new container name"]);
  if (!a) return 0;
  const source = await Container.get(a.name, { root: a.root });
  source.unref();
  const copy = await source.clone(a.args[0]!);
  io.out(copy.name);
  return 0;
}

/** `warren rename OLD NEW` (a stopped container). */
export async function renameCommand(argv: string[], io: Io): Promise<number> {
  const a = named("rename", argv, {}, io, ["new name"]);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  await c.rename(a.args[0]!);
  io.out(c.name);
  return 0;
}

/** `warren export NAME FILE`: the container (and with flags its snapshots and image) as a tarball. */
export async function exportCommand(argv: string[], io: Io): Promise<number> {
  const a = named("export", argv, { snapshots: { type: "boolean" }, "include-image": { type: "boolean" } }, io, ["tarball path"]);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  await c.export(a.args[0]!, { snapshots: a.values.snapshots === true, includeImage: a.values["include-image"] === true });
  io.out(a.args[0]!);
  return 0;
}

/** `warren import FILE [NAME]`: a container from `warren export`'s tarball. */
export async function importCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, COMMON_OPTIONS, 2, "import");
  if (parsed.values.help) {
    io.out(USAGE.import!);
    return 0;
  }
  const [tar, name] = parsed.positionals;
  if (tar === undefined) throw new UsageError("missing tarball path", "import");
  if (parsed.command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.command[0])}`, "import");
  const c = await Container.import(tar, name, { root: stateRoot(parsed.values) });
  c.unref();
  io.out(c.name);
  return 0;
}
