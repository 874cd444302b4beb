/**
 * `warren snapshot create|list|restore|rm NAME [SNAPSHOT]`: the library's
 * snapshots of an image-based container.
 * @module
 */
import { Container } from "../container/container.js";
import { formatTable, type Io } from "./io.js";
import { named, subcommand } from "./named.js";

export async function snapshotCommand(argv: string[], io: Io): Promise<number> {
  const s = subcommand("snapshot", argv, ["create", "list", "restore", "rm"] as const, io);
  if (!s) return 0;
  const { sub, rest } = s;
  const list = sub === "list";
  const a = named("snapshot", rest, list ? { json: { type: "boolean" } } : {}, io, list ? [] : ["snapshot name"]);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  const snap = a.args[0]!;
  switch (sub) {
    case "create":
      await c.snapshot(snap);
      io.out(snap);
      return 0;
    case "restore":
      await c.restore(snap);
      io.out(snap);
      return 0;
    case "rm":
      await c.deleteSnapshot(snap);
      io.out(snap);
      return 0;
    default: {
      const snaps = await c.listSnapshots();
      if (a.values.json) io.out(JSON.stringify(snaps, null, 2));
      else if (snaps.length) io.out(formatTable([["NAME", "CREATED"], ...snaps.map((s) => [s.name, s.createdAt])]));
      return 0;
    }
  }
}
