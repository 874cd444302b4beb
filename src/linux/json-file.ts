/**
 * JSON records on disk that readers never see half-written: whole-file
 * replacement through a temporary file and rename(2), and reads that retry
 * a torn in-place rewrite.
 * @module
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

import { HostError } from "../errors.js";
import { codeOf } from "./errno.js";

/**
 * Replaces `path` with `value` as JSON: written to a temporary file in the
 * same directory (mode `mode`), then renamed over it, so a reader sees the
 * old file or the new one, never a mix.
 */
export function writeJsonAtomic(path: string, value: unknown, mode = 0o600): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n", mode);
}

/** Replaces `path` with `text` the same way (a temporary file renamed over it). */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new HostError(`write \`${path}\``, codeOf(e), { path, syscall: "write", cause: e });
  }
}

/**
 * The JSON in `path`, or `undefined` when it does not exist. A parse error
 * is retried a few times: a reader racing an in-place rewrite of a
 * fixed-size block (state.json) can see it torn.
 */
export async function readJsonFile<T>(path: string, retries = 5): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if (codeOf(e) === "ENOENT") return undefined;
      throw new HostError(`read \`${path}\``, codeOf(e), { path, syscall: "read", cause: e });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      if (attempt < retries) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      throw new HostError(`parse \`${path}\``, "EINVAL", { path, cause: e });
    }
  }
}
