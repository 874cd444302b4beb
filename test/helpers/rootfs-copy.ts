/** A private, writable copy of the suite's busybox rootfs, for tests that plant hostile files in it. */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { rootfs } from "./env.js";

export interface RootfsCopy {
  path: string;
  remove(): void;
}

/** Copies the busybox rootfs (2 MB) with `cp -a`, so modes, links and xattrs stay as they are. */
export function copyRootfs(prefix: string): RootfsCopy {
  const dir = mkdtempSync(join(tmpdir(), `warren-${prefix}-`));
  // mkdtemp makes it 0700; the container's root (an unprivileged host id) must traverse it.
  chmodSync(dir, 0o755);
  const path = join(dir, "root");
  execFileSync("cp", ["-a", rootfs(), path]);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
