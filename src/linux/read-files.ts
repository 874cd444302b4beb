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

/** Directories per chunk of {@link readFilesInChunks}: big enough that a pool trip is a small share, small enough that the last chunk's parse is short. */
const CHUNK = 512;

/**
 * {@link readFiles} for a caller with work to do on what it reads (a stats
 * sweep parses every file): `dirs` are read a chunk at a time and each chunk
 * is handed to `each` in order, with its first directory's index, while the
 * pool reads the chunks after it. The caller's work then runs beside the
 * kernel's reads instead of after all of them. Up to `inFlight` chunks are
 * read at once: one less than the cores (at most the pool's four threads),
 * so a core is left for `each`.
 */
export async function readFilesInChunks(
  dirs: readonly string[],
  names: readonly string[],
  each: (texts: (string | number)[], from: number) => void,
  options: { chunk?: number; inFlight?: number } = {},
): Promise<void> {
  const chunk = Math.max(1, options.chunk ?? CHUNK);
  const inFlight = Math.max(1, options.inFlight ?? Math.min(MAX_PARTS, availableParallelism() - 1));
  const reads: Promise<(string | number)[]>[] = [];
  let next = 0;
  const issue = () => {
    if (next >= dirs.length) return;
    const read = native().readFiles(dirs.slice(next, next + chunk), names);
    // Awaited in order below; until then a failure must not count as unhandled.
    read.catch(() => undefined);
    reads.push(read);
    next += chunk;
  };
  for (let k = 0; k < inFlight; k++) issue();
  for (let from = 0; from < dirs.length; from += chunk) {
    const texts = await reads.shift()!;
    issue();
    each(texts, from);
  }
}
