/**
 * The code blocks of README.md and docs/*.md, for the tests that type-check
 * them (src/docs.test.ts) and run the runnable ones
 * (test/docs/snippets.test.ts).
 *
 * A block's info string is its language and flags: ```ts, ```js, or
 * ```ts run (a complete program the kernel test runs), ```ts no-check
 * (not type-checked; say why in the block's text). Other languages (sh,
 * yaml, text) are not checked.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const repo = resolve(import.meta.dirname, "../..");

export interface Snippet {
  /** `README.md:10`: file and line of the opening fence. */
  where: string;
  lang: "ts" | "js";
  flags: string[];
  code: string;
}

/** The markdown files whose blocks are checked. */
export function docFiles(): string[] {
  return ["README.md", ...readdirSync(join(repo, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
}

const LANGS: Record<string, "ts" | "js"> = { ts: "ts", typescript: "ts", js: "js", javascript: "js", mjs: "js" };

/** The ts and js blocks of one markdown text. */
export function extractSnippets(file: string, text: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info, rest] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = lines[j]!.trimStart();
      if (close.startsWith(fence!) && close.slice(fence!.length).trim() === "") break;
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!);
    }
    const lang = LANGS[info!.toLowerCase()];
    if (lang) out.push({ where: `${file}:${i + 1}`, lang, flags: rest!.split(/[\s,]+/).filter(Boolean), code: body.join("\n") });
    i = j;
  }
  return out;
}

/** Every ts and js block of README.md and docs/*.md. */
export function allSnippets(): Snippet[] {
  return docFiles().flatMap((f) => extractSnippets(f, readFileSync(join(repo, f), "utf8")));
}
