/**
 * Many small files read in a few native calls off the event loop
 * (native/read-files.cc): a listing's state files, a stats sweep's cgroup
 * files. A large batch is split across the libuv pool's threads so the
 * kernel's share (most of the cost for cgroup files) runs on every core.
 * @module
 */
import { availableParallelism } from "node:os";

import { native } from "../native/binding.js";

/** Below this many directories one call is cheaper than splitting. */
const SPLIT_FROM = 256;
/** libuv's default pool size: more parts would only queue. */
const MAX_PARTS = 4;

/**
 * `dirs[d]/names[n]` for every pair: entry `d * names.length + n` is the
 * file's text without trailing whitespace, or the errno that reading it met.
 */
export async function readFiles(dirs: readonly string[], names: readonly string[]): Promise<(string | number)[]> {
  const parts = dirs.length < SPLIT_FROM ? 1 : Math.min(MAX_PARTS, availableParallelism());
  if (parts <= 1) return native().readFiles(dirs, names);
  const size = Math.ceil(dirs.length / parts);
  const chunks = await Promise.all(
    Array.from({ length: parts }, (_, k) => native().readFiles(dirs.slice(k * size, (k + 1) * size), names)),
  );
  return chunks.flat();
}
