/**
 * `warren image import|list|rm`: the local image store under the state root.
 * @module
 */
import { resolve } from "node:path";

import { ImageStore, type ImageInfo } from "../index.js";
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError } from "./args.js";
import { formatTable } from "./commands.js";
import type { Io } from "./io.js";
import { USAGE } from "./usage.js";

const IMAGE_OPTIONS = { ...COMMON_OPTIONS, tag: { type: "string" }, json: { type: "boolean" } } as const;

/** One `image list` table row: ID (first 12 hex) TAGS IMPORTED. */
export function imageRow(i: Pick<ImageInfo, "id" | "tags" | "importedAt">): string[] {
  return [i.id.slice(0, 12), i.tags.length ? [...i.tags].sort().join(",") : "-", i.importedAt];
}

/** `warren image import [--tag TAG] DIR`, `warren image list [--json]`, `warren image rm REF`. */
export async function imageCommand(argv: string[], io: Io): Promise<number> {
  // `--root` may come before the subcommand (`warren --root DIR image list` puts it there).
  const parsed = splitArgs(argv, IMAGE_OPTIONS, 2, "image");
  const [sub, arg] = parsed.positionals;
  if (parsed.values.help || sub === "help") {
    io.out(USAGE.image!);
    return 0;
  }
  if (sub === undefined) throw new UsageError("missing subcommand (import, list or rm)", "image");
  const cmd = sub === "ls" ? "list" : sub === "remove" ? "rm" : sub;
  if (cmd !== "import" && cmd !== "list" && cmd !== "rm") {
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (expected import, list or rm)`, "image");
  }
  const extra = cmd === "list" ? (arg ?? parsed.command[0]) : parsed.command[0];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, "image");
  if (parsed.values.tag !== undefined && cmd !== "import") throw new UsageError("--tag is for image import", "image");
  if (parsed.values.json && cmd !== "list") throw new UsageError("--json is for image list", "image");
  const store = new ImageStore(stateRoot(parsed.values));

  if (cmd === "import") {
    if (arg === undefined) throw new UsageError("missing OCI layout directory", "image");
    const tag = parsed.values.tag as string | undefined;
    if (tag === "") throw new UsageError("--tag: must not be empty", "image");
    const img = await store.importOci(resolve(arg), tag === undefined ? {} : { tag });
    io.out(img.id);
    return 0;
  }
  if (cmd === "rm") {
    if (arg === undefined) throw new UsageError("missing image (tag or id)", "image");
    await store.remove(arg);
    io.out(arg);
    return 0;
  }
  const images = await store.list();
  if (parsed.values.json) {
    io.out(JSON.stringify(images.map((i) => ({ id: i.id, digest: i.digest, tags: i.tags, source: i.source, importedAt: i.importedAt })), null, 2));
    return 0;
  }
  io.out(formatTable([["ID", "TAGS", "IMPORTED"], ...images.map(imageRow)]));
  return 0;
}
