import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createDecompressor, decompress, detectCompression, detectFileCompression, type Compression } from "./compress.js";
import { DecompressionError } from "../errors.js";
import { ImageError, UnsupportedCompressionError } from "../errors.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "warren-compress-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 300 KiB that compress well but not trivially. */
const data = Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * 7919) % 251));

function packed(kind: Compression): Buffer {
  if (kind === "gzip") return gzipSync(data);
  if (kind === "xz") return execFileSync("xz", ["-c"], { input: data });
  if (kind === "zstd") return execFileSync("zstd", ["-c", "-q"], { input: data });
  return data;
}

/** Small chunks, so the magic is split across them. */
function chunked(buf: Buffer, size = 3): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += i < 12 ? size : 65536) parts.push(buf.subarray(i, i + (i < 12 ? size : 65536)));
  return Readable.from(parts);
}

async function all(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

describe("detectCompression", () => {
  it("knows the magic numbers", () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]))).toBe("gzip");
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe("xz");
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe("zstd");
    expect(detectCompression(Buffer.from("BZh91A"))).toBe("bzip2");
    expect(detectCompression(Buffer.from([0x04, 0x22, 0x4d, 0x18]))).toBe("lz4");
    // A tar header starts with a name; one byte short of a magic is not it.
    expect(detectCompression(Buffer.from("./etc/passwd"))).toBe("none");
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a]))).toBe("none");
    expect(detectCompression(Buffer.from([0x1f]))).toBe("none");
    expect(detectCompression(Buffer.alloc(0))).toBe("none");
  });

  it("reads a file's first bytes, whatever its name", async () => {
    const p = join(dir, "looks-like.tar.gz");
    writeFileSync(p, packed("zstd"));
    expect(await detectFileCompression(p)).toBe("zstd");
  });
});

describe("decompress", () => {
  for (const kind of ["none", "gzip", "xz", "zstd"] as const) {
    it(`round-trips ${kind}, with the magic split across chunks`, async () => {
      expect((await all(decompress(chunked(packed(kind))))).equals(data)).toBe(true);
    });
  }

  it("passes short and empty input through", async () => {
    expect(await all(decompress(Readable.from([Buffer.from("ab")])))).toEqual(Buffer.from("ab"));
    expect(await all(decompress(Readable.from([])))).toEqual(Buffer.alloc(0));
  });

  for (const kind of ["gzip", "xz", "zstd"] as const) {
    it(`a truncated ${kind} stream is a DecompressionError naming the source`, async () => {
      const p = packed(kind);
      const err = await all(decompress(Readable.from([p.subarray(0, p.length - 30)]), { source: "rootfs.tar", blob: "sha256:x" })).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DecompressionError);
      expect(err).toBeInstanceOf(ImageError);
      expect((err as DecompressionError).compression).toBe(kind);
      expect((err as DecompressionError).source).toBe("rootfs.tar");
      expect((err as DecompressionError).blob).toBe("sha256:x");
      expect((err as Error).message).toMatch(new RegExp(`^rootfs\\.tar: ${kind}: cannot decompress: `));
    });
  }

  it("corrupt xz data is a DecompressionError with xz's reason", async () => {
    const p = Buffer.from(packed("xz"));
    p[200]! ^= 0xff;
    const err = await all(decompress(Readable.from([p]), { source: "x.tar.xz" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecompressionError);
    expect((err as Error).message).toMatch(/x\.tar\.xz: xz: cannot decompress: xz: /);
  });

  it("refuses bzip2 and lz4", async () => {
    const err = await all(decompress(Readable.from([Buffer.from("BZh91AY&SY")]))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedCompressionError);
    expect((err as UnsupportedCompressionError).compression).toBe("bzip2");
  });

  it("stops the decompressor when the reader stops early", async () => {
    const big = execFileSync("zstd", ["-c", "-q"], { input: Buffer.alloc(64 << 20), maxBuffer: 64 << 20 });
    let n = 0;
    for await (const c of decompress(Readable.from([big]))) {
      n += c.length;
      if (n > 1 << 20) break;
    }
    expect(n).toBeGreaterThan(1 << 20);
  });

  it("passes a source stream's error through", async () => {
    const src = new Readable({ read() {} });
    src.push(packed("xz").subarray(0, 100));
    setTimeout(() => src.destroy(new Error("disk on fire")), 20);
    await expect(all(decompress(src))).rejects.toThrow("disk on fire");
  });
});

describe("createDecompressor", () => {
  it("is a transform stream", async () => {
    const out: Buffer[] = [];
    await pipeline(chunked(packed("xz")), createDecompressor(), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) out.push(c);
    });
    expect(Buffer.concat(out).equals(data)).toBe(true);
  });

  it("fails the pipeline with a DecompressionError", async () => {
    const p = packed("zstd");
    await expect(
      pipeline(Readable.from([p.subarray(0, 50)]), createDecompressor({ source: "layer.tar.zst" }), async (src: AsyncIterable<Buffer>) => {
        for await (const _ of src);
      }),
    ).rejects.toThrow(DecompressionError);
  });
});
