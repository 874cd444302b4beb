/**
 * The layers of src/ and the one direction their imports may point in
 * (docs/architecture.md draws them). Type-only imports count too: a type
 * that points upwards is a design that does.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const src = resolve(import.meta.dirname);

/** Lower numbers are lower layers; a module may import its own layer's siblings (without cycles) or anything below. */
const LAYERS: Record<string, number> = {
  "linux/errno.ts": 0,
  "errors.ts": 1,
  native: 2,
  linux: 3,
  cgroup: 4,
  config: 5,
  rootfs: 6,
  plan: 6,
  network: 6,
  devices: 6,
  image: 6,
  storage: 6,
  container: 7,
  "index.ts": 8,
  "host.ts": 8,
  doctor: 8,
  "schema.ts": 8,
  oci: 8,
  cli: 9,
};

/** The layer unit of a file: its top-level directory (or file), linux/errno.ts on its own (errors.ts stands on it). */
function unitOf(file: string): string {
  const rel = relative(src, file);
  return rel === "linux/errno.ts" ? rel : rel.split("/")[0]!;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.ts$/.test(e) && !/\.test\.ts$|\.testutil\.ts$|testing\.ts$/.test(e) ? [p] : [];
  });
}

/** Every relative module a file imports, statically or with import(), type-only included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)"(\.{1,2}\/[^"]+)"/g)) {
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
  }
  return out;
}

/** Whether loading `file` builds zod schemas (it or a module it imports statically imports zod). */
function loadsZod(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  const text = readFileSync(file, "utf8");
  if (/^import [^;]*from "zod";/m.test(text)) return true;
  return importsOf(file).some((t) => loadsZod(t, seen));
}

const edges = sources(src).flatMap((file) => importsOf(file).map((target) => ({ file: relative(src, file), from: unitOf(file), to: unitOf(target) })));

describe("architecture", () => {
  it("puts every top-level module in a layer", () => {
    const units = new Set(sources(src).map(unitOf));
    expect([...units].filter((u) => !(u in LAYERS))).toEqual([]);
  });

  it("has imports that only point down or sideways", () => {
    const upward = edges.filter((e) => e.from !== e.to && LAYERS[e.to]! > LAYERS[e.from]!).map((e) => `${e.file} -> ${e.to}`);
    expect(upward).toEqual([]);
  });

  it("has no cycle between the modules of one layer", () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges) if (e.from !== e.to) (graph.get(e.from) ?? graph.set(e.from, new Set()).get(e.from)!).add(e.to);
    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (node: string, path: string[]) => {
      if (path.includes(node)) {
        cycles.push([...path.slice(path.indexOf(node)), node].join(" -> "));
        return;
      }
      if (done.has(node)) return;
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      done.add(node);
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  it("loads a module lazily only for the CLI's commands or to keep zod off paths that do not validate", () => {
    // import() outside cli/ may only name a module that builds zod schemas
    // (docs/cli.md, "Start-up time"); anything else is a hidden dependency.
    // warren-oci's entry (oci/cli.ts) is a command line too.
    const lazy = sources(src)
      .filter((f) => unitOf(f) !== "cli" && relative(src, f) !== "oci/cli.ts")
      .flatMap((f) =>
        [...readFileSync(f, "utf8").matchAll(/\bimport\s*\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g)].map((m) => ({
          file: relative(src, f),
          target: resolve(dirname(f), m[1]!.replace(/\.js$/, ".ts")),
        })),
      )
      .filter(({ target }) => !loadsZod(target))
      .map(({ file, target }) => `${file} -> ${relative(src, target)}`);
    expect(lazy).toEqual([]);
  });
});
