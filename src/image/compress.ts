/**
 * Decompression of layers and image tarballs, whatever they are compressed
 * with: the format is told by the first bytes (magic numbers), never by a
 * file name or media type, which are often wrong (a `.tar.gz` that is
 * plain, a Docker `diff.tar` that is gzip or xz).
 *
 * gzip goes through Node's zlib. Node 20 has neither xz nor zstd, so those
 * stream through the `xz -dc` / `zstd -dc` programs (Debian: xz-utils,
 * zstd); a decompressor that fails (truncated or corrupt input) is a
 * {@link DecompressionError} naming the file or layer.
 * @module
 */
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import { Duplex, type Readable, type Writable } from "node:stream";
import { createGunzip } from "node:zlib";

import { DecompressionError, ImageError, MissingToolError, UnsupportedCompressionError } from "../errors.js";

export type Compression = "none" | "gzip" | "xz" | "zstd" | "bzip2" | "lz4";

/** Bytes needed to tell the formats apart. */
export const MAGIC_LENGTH = 6;

const MAGICS: [Compression, number[]][] = [
  ["gzip", [0x1f, 0x8b]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["lz4", [0x04, 0x22, 0x4d, 0x18]],
];

/** Programs that decompress what zlib cannot, and the Debian package that has each. */
const PROGRAMS: Partial<Record<Compression, { bin: string; args: string[]; pkg: string }>> = {
  // -T0: xz ≥ 5.4 decompresses multi-block files on all cores; older ones ignore it.
  xz: { bin: "xz", args: ["-dc", "-T0"], pkg: "xz-utils" },
  zstd: { bin: "zstd", args: ["-dc", "-q"], pkg: "zstd" },
};

/**
 * The compression of data starting with `head` (at least {@link MAGIC_LENGTH}
 * bytes when there are that many): "none" when no known magic matches.
 *
 * @example
 * ```ts
 * detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])); // "zstd"
 * ```
 */
export function detectCompression(head: Uint8Array): Compression {
  for (const [name, magic] of MAGICS) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  }
  return "none";
}

/** The compression of a file, from its first bytes. */
export async function detectFileCompression(path: string): Promise<Compression> {
  const fh = await fsp.open(path, "r");
  try {
    const head = Buffer.alloc(MAGIC_LENGTH);
    const { bytesRead } = await fh.read(head, 0, MAGIC_LENGTH, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export interface DecompressOptions {
  /** Named in errors: a path, `layer sha256:…`. */
  source?: string;
  /** The blob concerned, set on errors. */
  blob?: string;
}

function toBuffer(v: Buffer | string | Uint8Array): Buffer {
  return typeof v === "string" ? Buffer.from(v) : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Resolves when `w` can take more (or will never take more: closed, errored). */
function writable(w: Writable): Promise<void> {
  if (w.destroyed || w.writableEnded || !w.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      w.off("drain", done);
      w.off("close", done);
      w.off("error", done);
      resolve();
    };
    w.on("drain", done);
    w.on("close", done);
    w.on("error", done);
  });
}

/** A running decompressor: bytes in, bytes out, and a verdict once the output ended. */
interface Engine {
  input: Writable;
  output: Readable;
  /** After the output ended: throws when the decompressor failed. */
  finish(): Promise<void>;
  /** Stops it early. */
  kill(): void;
}

function zlibEngine(): Engine {
  const z = createGunzip();
  return { input: z, output: z, finish: async () => {}, kill: () => z.destroy() };
}

async function programEngine(kind: Compression, opts: DecompressOptions): Promise<Engine> {
  const prog = PROGRAMS[kind]!;
  const child = spawn(prog.bin, prog.args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new MissingToolError(prog.bin, prog.pkg, `decompressing ${opts.source ?? "input"} (${kind})`);
    }
    throw new DecompressionError(kind, opts.source, `cannot run ${prog.bin}: ${(err as Error).message}`, { ...opts, cause: err });
  }
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => {
    if (stderr.length < 4096) stderr += b.toString();
  });
  // EPIPE when the program gave up before reading everything: its exit status says why.
  child.stdin!.on("error", () => {});
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    input: child.stdin!,
    output: child.stdout!,
    async finish() {
      const { code, signal } = await closed;
      if (code === 0) return;
      const why = stderr.trim().split("\n").pop()?.replace(/^[^:]+: \(stdin\): /, "") || (signal ? `killed by ${signal}` : `exit status ${code}`);
      throw new DecompressionError(kind, opts.source, `${prog.bin}: ${why}`, { blob: opts.blob });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      child.stdin!.destroy();
      child.stdout!.destroy();
    },
  };
}

/**
 * Decompresses `input` (gzip, xz, zstd, or passed through when it is not
 * compressed) as an async generator of chunks. Throws
 * {@link UnsupportedCompressionError} for bzip2/lz4,
 * {@link DecompressionError} when the data is corrupt or cut short, and
 * {@link MissingToolError} when `xz`/`zstd` is needed but missing. Stopping
 * early (`return()`/`break`) stops the decompressor.
 *
 * @example
 * ```ts
 * for await (const chunk of decompress(createReadStream("rootfs.tar.xz"), { source: "rootfs.tar.xz" })) hash.update(chunk);
 * ```
 */
export async function* decompress(input: AsyncIterable<Buffer | string | Uint8Array>, opts: DecompressOptions = {}): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  let engine: Engine | undefined;
  let finished = false;
  try {
    while (head.length < MAGIC_LENGTH) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head = Buffer.concat([head, toBuffer(r.value)]);
    }
    const kind = detectCompression(head);
    if (kind === "bzip2" || kind === "lz4") {
      throw new UnsupportedCompressionError(kind, opts.blob === undefined ? undefined : { blob: opts.blob });
    }
    if (kind === "none") {
      if (head.length) yield head;
      while (!ended) {
        const r = await it.next();
        if (r.done) break;
        yield toBuffer(r.value);
      }
      finished = true;
      return;
    }

    const eng = (engine = kind === "gzip" ? zlibEngine() : await programEngine(kind, opts));
    let feedError: unknown;
    // Feeds the decompressor while its output is read below; waits when it is full.
    const feed = (async () => {
      try {
        let chunk: Buffer | null = head;
        while (chunk !== null && !eng.input.destroyed) {
          if (!eng.input.write(chunk)) await writable(eng.input);
          if (ended) break;
          const r = await it.next();
          chunk = r.done ? null : toBuffer(r.value);
        }
        if (!eng.input.destroyed) eng.input.end();
      } catch (err) {
        feedError = err;
        eng.kill();
      }
    })();
    try {
      for await (const chunk of eng.output) yield chunk as Buffer;
    } catch (err) {
      if (feedError !== undefined) throw feedError;
      if (err instanceof ImageError) throw err;
      throw new DecompressionError(kind, opts.source, (err as Error).message, { blob: opts.blob, cause: err });
    }
    await feed;
    if (feedError !== undefined) throw feedError;
    await eng.finish();
    finished = true;
  } finally {
    if (!finished) {
      engine?.kill();
      await Promise.resolve(it.return?.(undefined)).catch(() => {});
    }
  }
}

/**
 * {@link decompress} as a transform stream: compressed bytes in,
 * uncompressed bytes out.
 *
 * @example
 * ```ts
 * await pipeline(createReadStream("layer.tar.zst"), createDecompressor({ source: "layer.tar.zst" }), createWriteStream("layer.tar"));
 * ```
 */
export function createDecompressor(opts: DecompressOptions = {}): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    yield* decompress(source, opts);
  });
}
