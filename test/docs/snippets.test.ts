/**
 * The docs' runnable code blocks (```ts run / ```js run in README.md and
 * docs/*.md), run as the programs they are, so the first thing a reader
 * copies works. Each runs in a private mount namespace with a tmpfs on
 * /var/lib: a block uses warren's default state root, /var/lib/warren, as a
 * reader's program would, and this one must not touch the host's.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { allSnippets, repo } from "../helpers/snippets.js";

const runnable = allSnippets().filter((s) => s.flags.includes("run"));
mkdirSync(join(repo, ".cache"), { recursive: true });
const dir = mkdtempSync(join(repo, ".cache/run-snippets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs runnable blocks", () => {
  it("exist", () => {
    expect(runnable.map((s) => s.where)).toContain("README.md:10");
  });

  for (const [i, s] of runnable.entries()) {
    it(`${s.where} runs`, { timeout: 60_000 }, () => {
      const file = join(dir, `block${i}.${s.lang === "ts" ? "mts" : "mjs"}`);
      // "warren" is this checkout's source, run through tsx.
      writeFileSync(file, s.code.replace(/from "warren"/g, `from ${JSON.stringify(join(repo, "src/index.ts"))}`));
      const r = spawnSync(
        "unshare",
        ["--mount", "--propagation", "private", "--", "sh", "-c", 'mount -t tmpfs warren-docs /var/lib && exec "$@"', "sh", process.execPath, "--import", "tsx", file],
        { cwd: repo, encoding: "utf8", timeout: 50_000 },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    });
  }
});
