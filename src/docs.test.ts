/**
 * Every ts and js code block of README.md and docs/*.md, type-checked
 * against the sources as a module that imports `warren` (the runnable ones
 * also run: test/docs/snippets.test.ts). Fragments may use the names that
 * test/helpers/snippet-globals.d.ts declares (`c`, a container; `root`, a
 * state root; …) without defining them.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

import { allSnippets, repo } from "../test/helpers/snippets.js";

describe("docs code blocks", () => {
  const snippets = allSnippets();

  it("are found, and the ones not type-checked say why", () => {
    expect(snippets.length).toBeGreaterThan(30);
    for (const s of snippets) {
      const unknown = s.flags.filter((f) => f !== "run" && f !== "no-check");
      expect(unknown, `${s.where}: unknown flag`).toEqual([]);
      if (s.flags.includes("no-check")) expect(s.code, `${s.where}: a no-check block says why in a first-line comment`).toMatch(/^\s*\/\/ no-check: \S/);
    }
  });

  it("type-check against warren's sources", { timeout: 120_000 }, () => {
    const dir = join(repo, ".cache/snippets");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const where = new Map<string, string>();
    for (const [i, s] of snippets.entries()) {
      if (s.flags.includes("no-check")) continue;
      const file = join(dir, `block${i}.${s.lang === "ts" ? "ts" : "mjs"}`);
      writeFileSync(file, `${s.code}\n`);
      where.set(file, s.where);
    }
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts", "lib.esnext.disposable.d.ts"],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      moduleDetection: ts.ModuleDetectionKind.Force,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      allowJs: true,
      checkJs: true,
      esModuleInterop: true,
      types: ["node"],
      baseUrl: repo,
      paths: { warren: ["src/index.ts"], "warren/schema": ["src/schema.ts"] },
    };
    const program = ts.createProgram([...where.keys(), join(repo, "test/helpers/snippet-globals.d.ts")], options);
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (!d.file || d.start === undefined) return text;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const w = where.get(d.file.fileName);
      if (!w) return `${d.file.fileName}:${line + 1}: ${text}`;
      const [file, open] = w.split(":");
      return `${file}:${Number(open) + 1 + line}: ${text}`;
    });
    expect(errors).toEqual([]);
  });
});
