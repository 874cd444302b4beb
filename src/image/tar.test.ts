import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, linkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ImageError, UnsupportedCompressionError } from "../errors.js";
import { native } from "../native/binding.js";
import { DecompressionError } from "../errors.js";
import { paxXattrs, parsePax, readTar, type TarEntry } from "./tar.js";
import { writeTar } from "./tar-writer.testutil.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "warren-tar-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Read = Omit<TarEntry, "body"> & { content?: string };
async function readAll(buf: Buffer): Promise<Read[]> {
  const out: Read[] = [];
  for await (const e of readTar(Readable.from([buf]))) {
    const { body, ...rest } = e;
    const chunks: Buffer[] = [];
    if (e.type === "file") for await (const c of body) chunks.push(c as Buffer);
    out.push({ ...rest, ...(e.type === "file" ? { content: Buffer.concat(chunks).toString() } : {}) });
  }
  return out;
}

const longName = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(40)}.txt`;

function makeTree(): string {
  const src = join(dir, "src");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "hello.txt"), "hello\n", { mode: 0o640 });
  writeFileSync(join(src, "big.bin"), Buffer.alloc(100_000, 7));
  mkdirSync(join(src, longName, ".."), { recursive: true });
  writeFileSync(join(src, longName), "long");
  symlinkSync("hello.txt", join(src, "sub", "link"));
  linkSync(join(src, "hello.txt"), join(src, "zhard"));
  return src;
}

function gnuTar(src: string, format: string): Buffer {
  return execFileSync("tar", [`--format=${format}`, "--sort=name", "-cf", "-", "-C", src, "."], { maxBuffer: 64 << 20 });
}

describe("readTar", () => {
  for (const format of ["pax", "gnu", "ustar"]) {
    it(`reads a GNU tar --format=${format} archive${format === "ustar" ? " (no long names)" : ""}`, async () => {
      const src = makeTree();
      if (format === "ustar") rmSync(join(src, "d".repeat(60)), { recursive: true });
      const entries = await readAll(gnuTar(src, format));
      const by = new Map(entries.map((e) => [e.path.replace(/^\.\//, "").replace(/\/$/, ""), e]));
      expect(by.get("hello.txt")).toMatchObject({ type: "file", mode: 0o640, size: 6, content: "hello\n" });
      expect(by.get("big.bin")?.content).toBe("\x07".repeat(100_000));
      expect(by.get("sub")?.type).toBe("dir");
      expect(by.get("sub/link")).toMatchObject({ type: "symlink", linkname: "hello.txt" });
      const hard = by.get("zhard")!;
      const hello = by.get("hello.txt")!;
      // --sort=name: hello.txt comes first, zhard is the link.
      expect(hard).toMatchObject({ type: "hardlink", linkname: "./hello.txt" });
      expect(hello.type).toBe("file");
      if (format !== "ustar") expect(by.get(longName)).toMatchObject({ type: "file", content: "long" });
    });
  }

  it("reads gzip input and skips unconsumed bodies", async () => {
    const src = makeTree();
    const gz = gzipSync(gnuTar(src, "pax"));
    const paths: string[] = [];
    for await (const e of readTar(Readable.from([gz]))) paths.push(e.path); // never reads a body
    expect(paths).toContain("./big.bin");
    expect(paths).toContain(`./${longName}`);
  });

  it("reads PAX uid/gid/mtime/xattrs and long link names", async () => {
    const target = "t".repeat(150);
    const entries = await readAll(
      writeTar([
        { path: "a", body: "x", pax: { uid: "100000", gid: "200000", mtime: "1700000000.5", "SCHILY.xattr.user.k": Buffer.from([0, 1, 2]) } },
        { path: "l", type: "symlink", linkname: target },
      ]),
    );
    expect(entries[0]).toMatchObject({ uid: 100000, gid: 200000, content: "x" });
    expect(entries[0]!.mtime.getTime()).toBe(1700000000500);
    expect(entries[0]!.xattrs["user.k"]).toEqual(Buffer.from([0, 1, 2]));
    expect(entries[1]).toMatchObject({ type: "symlink", linkname: target });
  });

  it("rejects a bad checksum", async () => {
    const t = writeTar([{ path: "a", body: "x" }]);
    t[0] = "b".charCodeAt(0);
    await expect(readAll(t)).rejects.toThrow(/checksum/);
  });

  it("rejects truncated archives", async () => {
    const t = writeTar([{ path: "a", body: "x".repeat(2000) }]);
    await expect(readAll(t.subarray(0, 1024))).rejects.toThrow(ImageError);
    await expect(readAll(t.subarray(0, 1024))).rejects.toThrow(/truncated/);
    await expect(readAll(writeTar([{ path: "a", body: "x" }], { end: false }))).rejects.toThrow(/truncated/);
    const gz = gzipSync(t);
    await expect(readAll(gz.subarray(0, gz.length - 10))).rejects.toThrow(ImageError);
  });

  it("names unsupported compressions (bzip2, lz4)", async () => {
    const bz = Buffer.from("BZh91AY&SY");
    const err = await readAll(bz).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedCompressionError);
    expect((err as UnsupportedCompressionError).compression).toBe("bzip2");
    const lz4 = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0, 0, 0, 0]);
    await expect(readAll(lz4)).rejects.toThrow(/lz4/);
  });

  for (const [tool, args] of [["xz", ["-c"]], ["zstd", ["-c", "-q"]]] as const) {
    it(`reads ${tool} input; a truncated one is a DecompressionError`, async () => {
      const src = makeTree();
      const packed = execFileSync(tool, [...args], { input: gnuTar(src, "pax"), maxBuffer: 64 << 20 });
      const by = new Map((await readAll(packed)).map((e) => [e.path, e]));
      expect(by.get("./hello.txt")).toMatchObject({ type: "file", content: "hello\n" });
      expect(by.get("./big.bin")?.content).toBe("\x07".repeat(100_000));
      const err = await readAll(packed.subarray(0, packed.length - 20)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageError);
      expect(err).toBeInstanceOf(DecompressionError);
      expect((err as DecompressionError).compression).toBe(tool);
    });
  }
});

describe("PAX xattr records", () => {
  it("parses SCHILY.xattr (raw bytes, even newlines and '=') and LIBARCHIVE.xattr (URL-encoded name, base64)", () => {
    const cap = Buffer.from("0100000200200000000000000000000000000000", "hex");
    const tricky = Buffer.from("a=b\nc\0d");
    const tar = writeTar([{ path: "f", body: "", pax: { "SCHILY.xattr.security.capability": cap, "SCHILY.xattr.user.t": tricky } }]);
    // The PAX data block follows the first header.
    const size = parseInt(tar.subarray(124, 135).toString("latin1"), 8);
    const recs = parsePax(tar.subarray(512, 512 + size));
    expect(paxXattrs(recs)).toEqual({ "security.capability": cap, "user.t": tricky });

    const la = new Map<string, Buffer>([
      ["LIBARCHIVE.xattr.user.with%20space", Buffer.from(Buffer.from("v1").toString("base64"))],
      ["LIBARCHIVE.xattr.user.t", Buffer.from(Buffer.from("ignored").toString("base64"))],
      ["SCHILY.xattr.user.t", Buffer.from("star wins")],
      ["path", Buffer.from("x")],
    ]);
    expect(paxXattrs(la)).toEqual({ "user.with space": Buffer.from("v1"), "user.t": Buffer.from("star wins") });
    expect(() => paxXattrs(new Map([["LIBARCHIVE.xattr.%zz", Buffer.from("")]]))).toThrow(ImageError);
  });

  it("rejects malformed PAX records", () => {
    expect(() => parsePax(Buffer.from("5 a=b\n"))).toThrow(/malformed/); // length 5 but record is 6 bytes
    expect(() => parsePax(Buffer.from("7 abcd\n"))).toThrow(/malformed/); // no '='
  });

  it("hands xattrs of GNU tar --xattrs archives to the entry", async () => {
    const src = join(dir, "x");
    mkdirSync(src);
    writeFileSync(join(src, "f"), "x");
    native().lsetxattr(join(src, "f"), "user.k", Buffer.from("v"));
    const t = execFileSync("tar", ["--format=pax", "--xattrs", "--xattrs-include=*", "-cf", "-", "-C", src, "f"]);
    expect((await readAll(t))[0]!.xattrs).toEqual({ "user.k": Buffer.from("v") });
  });
});
