/**
 * Whether the module at `moduleUrl` is the program node was asked to run
 * (directly, or through a bin symlink), not a module a test imported.
 * @module
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function isEntryModule(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
