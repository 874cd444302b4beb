/**
 * The public surface, as users' type checkers see it: the built
 * declarations of `warren` and `warren/schema` must equal the reviewed
 * reports checked in under docs/api-report/, so a change to the surface
 * shows in review as a change to those files. After a deliberate change:
 * `npm run build && npm run api-report`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "..");
const ENTRIES = ["index", "schema"] as const;

function declarations(entry: string): string | undefined {
  const built = join(repo, "dist", `${entry}.d.ts`);
  return existsSync(built) ? readFileSync(built, "utf8") : undefined;
}

describe("public API", () => {
  it.each(ENTRIES)("%s matches its checked-in report", (entry) => {
    const built = declarations(entry);
    expect(built, `dist/${entry}.d.ts is missing: npm run build (npm test builds first)`).toBeDefined();
    const report = readFileSync(join(repo, "docs/api-report", `${entry}.d.ts`), "utf8");
    expect(built, `the public surface of ${entry} changed: review dist/${entry}.d.ts and run npm run api-report`).toBe(report);
  });

  it("declares no internal member", () => {
    const text = declarations("index")!;
    // `_x` members, @internal leftovers and the classes behind the handle.
    expect(text.match(/^\s+(?:readonly\s+)?_[A-Za-z]\w*[?(:]/gm) ?? []).toEqual([]);
    for (const name of ["ContainerHandle", "StateStore", "CgroupTree", "CREATE_SEED"]) expect(text).not.toContain(name);
  });

  it("exports every class, interface and type it declares", () => {
    const text = declarations("index")!;
    const declared = [...text.matchAll(/^(?:export )?declare (?:abstract )?(?:class|interface|type) (\w+)|^(?:export )?(?:interface|type) (\w+)/gm)].map((m) => m[1] ?? m[2]!);
    const exported = new Set(
      [...text.matchAll(/^export \{([^}]*)\};?$/gm)].flatMap((m) => m[1]!.split(",").map((n) => n.trim().replace(/^type /, "").split(" as ").pop()!.trim())),
    );
    // Types behind a public type that users never name on their own (zod's
    // inferred shapes, a stream's internals) are fine unexported; list them here on purpose.
    const ALLOWED_UNEXPORTED = new Set<string>([]);
    expect(declared.filter((n) => !exported.has(n) && !ALLOWED_UNEXPORTED.has(n))).toEqual([]);
  });
});

