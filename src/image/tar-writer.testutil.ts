/**
 * A tiny tar writer for tests: builds archives GNU tar refuses to make
 * (hostile paths, links out of the tree). Not part of the public API.
 * @module
 */
export interface WriteEntry {
  path: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "fifo" | "char";
  body?: string | Buffer;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  mtime?: number;
  /** Extra PAX records (e.g. SCHILY.xattr.user.x). */
  pax?: Record<string, string | Buffer>;
}

const FLAGS = { file: "0", hardlink: "1", symlink: "2", char: "3", dir: "5", fifo: "6" } as const;

function octal(buf: Buffer, off: number, len: number, n: number) {
  buf.write(n.toString(8).padStart(len - 1, "0") + "\0", off, len, "latin1");
}

function header(name: string, flag: string, size: number, e: WriteEntry): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 100, "utf8");
  octal(h, 100, 8, e.mode ?? (flag === "5" ? 0o755 : 0o644));
  octal(h, 108, 8, e.uid ?? 0);
  octal(h, 116, 8, e.gid ?? 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, e.mtime ?? 1_600_000_000);
  h.write(flag, 156, 1, "latin1");
  h.write((e.linkname ?? "").slice(0, 100), 157, 100, "utf8");
  h.write("ustar\0" + "00", 257, 8, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len++;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

/** Builds a tar archive (with PAX headers where needed) from entries. */
export function writeTar(entries: WriteEntry[], opts: { end?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = type === "file" ? Buffer.from(e.body ?? "") : Buffer.alloc(0);
    const pax: Record<string, Buffer> = {};
    if (Buffer.byteLength(e.path) > 99) pax.path = Buffer.from(e.path);
    if (e.linkname && Buffer.byteLength(e.linkname) > 99) pax.linkpath = Buffer.from(e.linkname);
    for (const [k, v] of Object.entries(e.pax ?? {})) pax[k] = Buffer.from(v);
    if (Object.keys(pax).length) {
      const data = Buffer.concat(Object.entries(pax).map(([k, v]) => paxRecord(k, v)));
      out.push(header("PaxHeader", "x", data.length, {} as WriteEntry), data, pad(data.length));
    }
    out.push(header(e.path, FLAGS[type], body.length, e), body, pad(body.length));
  }
  if (opts.end !== false) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
