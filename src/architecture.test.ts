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
  "errors.ts": 0,
  linux: 0,
  native: 0,
  cgroup: 1,
  config: 2,
  rootfs: 3,
  plan: 3,
  network: 3,
  image: 3,
  storage: 3,
  container: 4,
  "index.ts": 5,
  "host.ts": 5,
  "schema.ts": 5,
  cli: 6,
};

function unitOf(file: string): string {
  return relative(src, file).split("/")[0]!;
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
    const visit = (node: string, path: string[]) => {
      if (path.includes(node)) {
        cycles.push([...path.slice(path.indexOf(node)), node].join(" -> "));
        return;
      }
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  it("never loads a module lazily to hide a dependency", () => {
    // import() is for the CLI's per-command loading only.
    const lazy = sources(src)
      .filter((f) => unitOf(f) !== "cli")
      .filter((f) => /\bimport\s*\(\s*"\.{1,2}\//.test(readFileSync(f, "utf8")))
      .map((f) => relative(src, f));
    expect(lazy).toEqual([]);
  });
});
