/**
 * A streaming tar reader without dependencies: ustar, GNU long names
 * ('L'/'K'), PAX extended headers (local and global), xattrs (`SCHILY.xattr.*`
 * as GNU tar and star write them, `LIBARCHIVE.xattr.*` as bsdtar does), and
 * input compressed with gzip, xz or zstd (see ./compress.ts).
 * @module
 */
import { Readable } from "node:stream";

import { decompress, type DecompressOptions } from "./compress.js";
import { ImageError } from "../errors.js";

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarEntry {
  /** The path as stored in the archive (not normalized). */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  /** Target of a symlink or hard link; "" otherwise. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** From PAX `SCHILY.xattr.NAME` records, keyed by NAME. */
  xattrs: Record<string, Buffer>;
  /**
   * The content (files only; empty for others). Consume it or leave it before
   * asking for the next entry: whatever is left is skipped then, and the
   * stream is destroyed.
   */
  body: Readable;
}

const BLOCK = 512;

/** Reads exact byte counts from an async iterator of chunks. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes handed out so far. */
  offset = 0;
  constructor(private readonly it: AsyncIterator<Buffer | string>) {}

  private async fill(n: number): Promise<void> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const chunk = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
      if (chunk.length) this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    }
  }

  /** Exactly n bytes, or null at a clean end of input (nothing left); throws when cut short. */
  async exact(n: number, what: string): Promise<Buffer | null> {
    await this.fill(n);
    if (this.buf.length === 0 && this.done) return null;
    if (this.buf.length < n) throw truncated(what, this.offset + this.buf.length);
    return this.take(n);
  }

  /** Between 1 and max bytes; throws at the end of input. */
  async some(max: number, what: string): Promise<Buffer> {
    await this.fill(1);
    if (this.buf.length === 0) throw truncated(what, this.offset);
    return this.take(Math.min(max, this.buf.length));
  }

  async skip(n: number, what: string): Promise<void> {
    while (n > 0) n -= (await this.some(n, what)).length;
  }

  /** Reads and drops the rest of the input. */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (!(await this.it.next()).done);
    this.done = true;
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }
}

function truncated(what: string, offset: number): ImageError {
  return new ImageError(`tar: truncated archive (unexpected end of input in ${what} at byte ${offset})`);
}

/** Parses an octal (or GNU base-256) numeric header field. */
function parseNumber(buf: Buffer, what: string): number {
  if (buf.length && (buf[0]! & 0x80) !== 0) {
    if (buf[0] === 0xff) throw new ImageError(`tar: negative base-256 value in ${what}`);
    let n = buf[0]! & 0x7f;
    for (let i = 1; i < buf.length; i++) n = n * 256 + buf[i]!;
    if (!Number.isSafeInteger(n)) throw new ImageError(`tar: value too large in ${what}`);
    return n;
  }
  const s = buf.toString("latin1").replace(/\0.*$/s, "").trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new ImageError(`tar: invalid octal value ${JSON.stringify(s)} in ${what}`);
  return parseInt(s, 8);
}

function cstr(buf: Buffer): string {
  const z = buf.indexOf(0);
  return buf.subarray(0, z === -1 ? buf.length : z).toString("utf8");
}

function checksumOk(h: Buffer): boolean {
  const stored = parseNumber(h.subarray(148, 156), "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** PAX records: "LEN key=value\n". Values stay bytes (xattrs are binary). */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const sp = data.indexOf(0x20, pos);
    if (sp === -1) throw new ImageError("tar: malformed PAX record");
    const len = Number(data.subarray(pos, sp).toString("latin1"));
    if (!Number.isInteger(len) || len <= sp - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new ImageError("tar: malformed PAX record");
    }
    const rec = data.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw new ImageError("tar: malformed PAX record");
    out.set(rec.subarray(0, eq).toString("utf8"), rec.subarray(eq + 1));
    pos += len;
  }
  return out;
}

function paxNumber(v: Buffer, key: string): number {
  const s = v.toString("utf8");
  const n = Number(s);
  if (s === "" || !Number.isFinite(n) || n < 0) throw new ImageError(`tar: invalid PAX ${key} ${JSON.stringify(s)}`);
  return n;
}

const SCHILY_XATTR = "SCHILY.xattr.";
const LIBARCHIVE_XATTR = "LIBARCHIVE.xattr.";

function libarchiveXattrName(key: string): string {
  const raw = key.slice(LIBARCHIVE_XATTR.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ImageError(`tar: malformed PAX record ${JSON.stringify(key)}`);
  }
}

/**
 * The xattrs of a set of PAX records, keyed by name: `SCHILY.xattr.NAME=raw
 * bytes` (GNU tar --xattrs, star, Go's archive/tar) and
 * `LIBARCHIVE.xattr.URLENCODED-NAME=base64` (bsdtar); the first wins.
 */
export function paxXattrs(records: Map<string, Buffer>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of records) if (k.startsWith(SCHILY_XATTR)) out[k.slice(SCHILY_XATTR.length)] = Buffer.from(v);
  for (const [k, v] of records) {
    if (!k.startsWith(LIBARCHIVE_XATTR)) continue;
    const name = libarchiveXattrName(k);
    if (!(name in out)) out[name] = Buffer.from(v.toString("latin1"), "base64");
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** Upper bound for a metadata entry (PAX header, GNU long name) kept in memory. */
const MAX_META = 1 << 20;

/**
 * Reads a tar archive (plain, gzip, xz or zstd: told by its first bytes)
 * entry by entry. Throws {@link ImageError} on a bad checksum, a truncated
 * archive or a malformed header, `DecompressionError` when the compressed
 * data is corrupt or cut short (naming `opts.source`), and
 * {@link UnsupportedCompressionError} for bzip2/lz4 input.
 */
export async function* readTar(stream: Readable, opts: DecompressOptions = {}): AsyncGenerator<TarEntry> {
  const source = decompress(stream, opts);
  const r = new ByteReader(source);
  let global = new Map<string, Buffer>();
  let local = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let finished = false;
  try {
    for (;;) {
      const h = await r.exact(BLOCK, "header");
      if (h === null) throw truncated("header (no end-of-archive marker)", r.offset);
      if (h.every((b) => b === 0)) {
        finished = true;
        break;
      }
      if (!checksumOk(h)) throw new ImageError(`tar: header checksum mismatch at byte ${r.offset - BLOCK}`);
      const flag = String.fromCharCode(h[156]!);
      let size = parseNumber(h.subarray(124, 136), "size");
      const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        if (size > MAX_META) throw new ImageError(`tar: metadata entry too large (${size} bytes)`);
        const data = size ? await r.exact(padded(size), "metadata entry") : Buffer.alloc(0);
        if (data === null) throw truncated("metadata entry", r.offset);
        const body = data.subarray(0, size);
        if (flag === "x") local = new Map([...local, ...parsePax(body)]);
        else if (flag === "g") global = new Map([...global, ...parsePax(body)]);
        else if (flag === "L") longName = cstr(body);
        else longLink = cstr(body);
        continue;
      }

      const pax = new Map([...global, ...local]);
      const ustar = h.subarray(257, 263).toString("latin1") === "ustar\0";
      let path = cstr(h.subarray(0, 100));
      if (ustar) {
        const prefix = cstr(h.subarray(345, 500));
        if (prefix) path = `${prefix}/${path}`;
      }
      if (longName !== undefined) path = longName;
      let linkname = longLink ?? cstr(h.subarray(157, 257));
      let type = TYPES[flag];
      if (type === undefined) {
        throw new ImageError(`tar: unsupported entry type ${JSON.stringify(flag)} for ${JSON.stringify(path)}`, {
          entry: path,
        });
      }
      let uid = parseNumber(h.subarray(108, 116), "uid");
      let gid = parseNumber(h.subarray(116, 124), "gid");
      let mtime = parseNumber(h.subarray(136, 148), "mtime");
      const xattrs = paxXattrs(pax);
      for (const [k, v] of pax) {
        if (k === "path") path = v.toString("utf8");
        else if (k === "linkpath") linkname = v.toString("utf8");
        else if (k === "size") size = paxNumber(v, k);
        else if (k === "uid") uid = paxNumber(v, k);
        else if (k === "gid") gid = paxNumber(v, k);
        else if (k === "mtime") mtime = paxNumber(v, k);
      }
      if (!Number.isSafeInteger(size)) throw new ImageError(`tar: invalid size for ${JSON.stringify(path)}`);
      local = new Map();
      longName = undefined;
      longLink = undefined;
      if (type === "file" && path.endsWith("/")) type = "dir";

      const dataSize = type === "file" ? size : type === "hardlink" || type === "symlink" ? 0 : size;
      let remaining = type === "file" ? size : 0;
      let pending: Promise<void> | null = null;
      const body = new Readable({
        read() {
          if (pending) return;
          if (remaining === 0) {
            this.push(null);
            return;
          }
          pending = (async () => {
            try {
              const chunk = await r.some(Math.min(remaining, 65536), `body of ${JSON.stringify(path)}`);
              remaining -= chunk.length;
              // Copy: the reader's buffer is reused by later slices.
              this.push(Buffer.from(chunk));
              if (remaining === 0) this.push(null);
            } catch (err) {
              this.destroy(err as Error);
            } finally {
              pending = null;
            }
          })();
        },
      });

      yield {
        path,
        type,
        mode: parseNumber(h.subarray(100, 108), "mode") & 0o7777,
        uid,
        gid,
        size: type === "file" ? size : 0,
        mtime: new Date(mtime * 1000),
        linkname,
        devmajor: parseNumber(h.subarray(329, 337), "devmajor"),
        devminor: parseNumber(h.subarray(337, 345), "devminor"),
        xattrs,
        body,
      };

      // Skip what the consumer left of the body, then the padding.
      while (pending) await pending;
      if (!body.readableEnded) body.destroy();
      const consumed = (type === "file" ? size : dataSize) - remaining;
      const rest = padded(dataSize) - consumed;
      remaining = 0;
      await r.skip(rest, `body of ${JSON.stringify(path)}`);
    }
  } finally {
    if (finished) {
      // Read to the end so that a caller hashing the raw input sees all of it.
      await r.drain();
    } else {
      await source.return(undefined).catch(() => {});
      stream.destroy();
    }
  }
}
