/**
 * JSON records on disk that readers never see half-written: whole-file
 * replacement through a temporary file and rename(2), and reads that retry
 * a torn in-place rewrite.
 * @module
 */
import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { HostError } from "../errors.js";
import { codeOf } from "./errno.js";
import { readFiles } from "./read-files.js";

const ENOENT = 2;
const SMALL_BATCH = 32;

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
 * Creates `path` with `text`, whole, only if nothing is there: written to a
 * temporary file, then link(2)ed to its name, which fails with EEXIST when
 * the name is taken. Unlike open(O_EXCL) and a write, a process killed in
 * between never leaves an empty file that names a claim without its owner.
 * Errors (EEXIST included) are thrown as they are, with their code.
 */
export function writeFileExclusive(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, text, { mode, flag: "wx" });
    linkSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
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

/**
 * `dir/file` for each of `dirs`, as {@link readJsonFile} reads one, but in
 * one batched native read off the event loop (thousands of state files for
 * a listing). What the batch could not read or parse (a torn rewrite, an
 * error other than ENOENT) is read again the careful way, one by one.
 */
export async function readJsonFilesIn<T>(dirs: readonly string[], file: string): Promise<(T | undefined)[]> {
  // A few files cost less read one by one than a trip through the pool (and
  // a short `warren list` then never loads the addon: CLI cold start).
  if (dirs.length < SMALL_BATCH) {
    const out: (T | undefined)[] = [];
    for (const dir of dirs) out.push(await readJsonFile<T>(join(dir, file)));
    return out;
  }
  const texts = await readFiles(dirs, [file]);
  const out: (T | undefined)[] = new Array(texts.length);
  const again: number[] = [];
  texts.forEach((t, i) => {
    if (t === ENOENT) return;
    if (typeof t === "string") {
      try {
        out[i] = JSON.parse(t) as T;
        return;
      } catch {
        /* torn: read again below */
      }
    }
    again.push(i);
  });
  for (const i of again) out[i] = await readJsonFile<T>(join(dirs[i]!, file));
  return out;
}
