/**
 * A fake host tree (sys, dev, proc) in a temp dir for the device kinds'
 * unit tests: files with contents, and symlinks (`-> target`), as sysfs
 * lays them out.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import type { HostRoots } from "./host-node.js";

export interface FakeHost extends HostRoots {
  root: string;
  /** Writes `files` (path relative to the root → contents, or `{link}` for a symlink). */
  add(files: Record<string, string | { link: string }>): void;
  remove(): void;
}

export function fakeHost(): FakeHost {
  const root = mkdtempSync(join(tmpdir(), "warren-fakehost-"));
  const host: FakeHost = {
    root,
    sys: join(root, "sys"),
    dev: join(root, "dev"),
    proc: join(root, "proc"),
    add(files) {
      for (const [rel, what] of Object.entries(files)) {
        const p = join(root, rel);
        mkdirSync(dirname(p), { recursive: true });
        if (typeof what === "string") writeFileSync(p, what);
        else symlinkSync(what.link, p);
      }
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
  for (const d of [host.sys, host.dev, host.proc]) mkdirSync(d);
  return host;
}
