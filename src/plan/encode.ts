/**
 * Flattens a plan into the buffer layout of `native/child/plan.h`:
 * a 16-byte header, 48-byte ops, then a blob of NUL-terminated strings,
 * u32 lists and BPF programs.
 * @module
 */
import { STEP_NAMES, type Op } from "./ops.js";

/**
 * The plan ABI of `native/child/plan.h` as this encoder writes it. The addon
 * exports the compiler's view of the same constants as `abi`
 * (native/abi.cc); src/plan/abi.test.ts checks that both agree.
 */
export const PLAN_ABI = {
  /** "WRN1" read as a little-endian u32. */
  magic: 0x314e5257,
  version: 1,
  headerSize: 16,
  opSize: 48,
  /** An absent string or list offset. */
  none: 0xffffffff,
  /** fd slots an op may fill (open-tree) or read (move-mount). */
  maxSlots: 64,
  opFlags: {
    /** ENOENT on the target is not an error. */
    optional: 1 << 0,
    mkdir: 1 << 1,
    mkfile: 1 << 2,
    /** setsid: make fd 0 the controlling terminal. */
    ctty: 1 << 3,
    recursive: 1 << 4,
    /** mount: the target is resolved inside the root at blob offset `c`. */
    inRoot: 1 << 5,
    /** The target path may hold no symlink (openat2 RESOLVE_NO_SYMLINKS): ELOOP. */
    noSymlinks: 1 << 6,
    /** exec: warren-exec waits for a byte on fd `c` before the execve (the OCI create/start split). */
    hold: 1 << 7,
  },
} as const;

const STEP_INDEX = new Map(STEP_NAMES.map((k, i) => [k, i]));
const { magic: MAGIC, version: VERSION, headerSize: HEADER, opSize: OP_SIZE, none: NONE } = PLAN_ABI;
const { optional: F_OPTIONAL, mkdir: F_MKDIR, mkfile: F_MKFILE, ctty: F_CTTY, recursive: F_RECURSIVE, inRoot: F_IN_ROOT, noSymlinks: F_NO_SYMLINKS, hold: F_HOLD } =
  PLAN_ABI.opFlags;

/**
 * The plan's string and list area, written into one growing buffer (a plan
 * is made per start: a Buffer per string showed in a fleet's profile).
 */
class Blob {
  private buf = Buffer.allocUnsafe(4096);
  private length = 0;
  private strings = new Map<string, number>();

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  private align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    if (!pad) return;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  str(s: string | undefined): number {
    if (s === undefined) return NONE;
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (s.includes("\0")) throw new Error(`string contains NUL: ${JSON.stringify(s)}`);
    const size = Buffer.byteLength(s, "utf8");
    this.reserve(size + 1);
    const at = this.length;
    this.buf.write(s, at, size, "utf8");
    this.buf[at + size] = 0;
    this.length += size + 1;
    this.strings.set(s, at);
    return at;
  }

  u32list(items: number[]): number {
    this.align(4);
    this.reserve(4 + 4 * items.length);
    const at = this.length;
    this.buf.writeUInt32LE(items.length, at);
    items.forEach((v, i) => this.buf.writeUInt32LE(v >>> 0, at + 4 + 4 * i));
    this.length += 4 + 4 * items.length;
    return at;
  }

  strlist(items: string[]): number {
    const offs = items.map((s) => this.str(s));
    return this.u32list(offs);
  }

  bytes(b: Buffer, alignment: number): number {
    this.align(alignment);
    this.reserve(b.length);
    const at = this.length;
    b.copy(this.buf, at);
    this.length += b.length;
    return at;
  }

  /** Length with the final NUL the child checks for. */
  get size(): number {
    return this.length + 1;
  }

  writeTo(out: Buffer, at: number): void {
    this.buf.copy(out, at, 0, this.length);
    out[at + this.length] = 0; // the child checks the blob ends in NUL
  }
}

interface Encoded {
  flags: number;
  a: bigint | number;
  b: bigint | number;
  c: bigint | number;
  s: [number, number, number, number];
}

function targetFlags(o: { optional?: boolean; mkdir?: boolean; mkfile?: boolean; recursive?: boolean; noSymlinks?: boolean }): number {
  return (
    (o.optional ? F_OPTIONAL : 0) |
    (o.noSymlinks ? F_NO_SYMLINKS : 0) |
    (o.mkdir ? F_MKDIR : 0) |
    (o.mkfile ? F_MKFILE : 0) |
    (o.recursive ? F_RECURSIVE : 0)
  );
}

function encodeOp(op: Op, blob: Blob): Encoded {
  const e: Encoded = { flags: 0, a: 0, b: 0, c: 0, s: [NONE, NONE, NONE, NONE] };
  const n = (v: number) => v;
  switch (op.kind) {
    case "mount":
      e.flags = targetFlags(op);
      e.a = n(op.flags);
      if (op.inRoot !== undefined) {
        e.flags |= F_IN_ROOT;
        e.c = n(blob.str(op.inRoot));
      }
      e.s = [blob.str(op.source), blob.str(op.target), blob.str(op.fstype), blob.str(op.data)];
      break;
    case "open-tree":
      e.flags = targetFlags(op);
      e.b = n(op.slot);
      e.s[0] = blob.str(op.source);
      break;
    case "move-mount":
      e.flags = targetFlags(op);
      e.b = n(op.slot);
      e.s[1] = blob.str(op.target);
      break;
    case "mount-setattr":
      e.flags = targetFlags(op);
      e.a = n(op.set);
      e.b = n(op.clear ?? 0);
      e.s[1] = blob.str(op.target);
      break;
    case "mkdir":
    case "create-file":
      e.a = n(op.mode);
      e.s[1] = blob.str(op.path);
      break;
    case "mknod":
      e.a = n(op.mode);
      e.b = n(op.dev);
      e.s[1] = blob.str(op.path);
      break;
    case "symlink":
      e.s[0] = blob.str(op.target);
      e.s[1] = blob.str(op.path);
      break;
    case "mask-path":
    case "chdir":
      e.s[1] = blob.str(op.path);
      break;
    case "pivot-root":
      e.s[1] = blob.str(op.root);
      break;
    case "sethostname":
    case "setdomainname":
    case "link-up":
      e.s[0] = blob.str(op.name);
      break;
    case "setrlimit":
      e.a = op.soft;
      e.b = op.hard;
      e.c = n(op.resource);
      break;
    case "drop-capabilities":
      e.a = op.mask;
      break;
    case "no-new-privileges":
    case "fork-into-namespaces":
      break;
    case "seccomp":
      if (op.filter.length % 8 !== 0) throw new Error("seccomp filter is not a whole number of sock_filter");
      e.a = n(blob.bytes(op.filter, 8));
      e.b = n(op.filter.length / 8);
      e.c = n(op.flags ?? 0);
      break;
    case "seccomp-listener":
      if (op.filter.length % 8 !== 0) throw new Error("seccomp filter is not a whole number of sock_filter");
      e.a = n(blob.bytes(op.filter, 8));
      e.b = n(op.filter.length / 8);
      e.c = n(op.socket);
      break;
    case "set-credentials":
      e.a = n(op.uid);
      e.b = n(op.gid);
      e.c = n(blob.u32list(op.groups));
      break;
    case "stdio":
      e.a = n(op.fds[0]);
      e.b = n(op.fds[1]);
      e.c = n(op.fds[2]);
      break;
    case "terminal":
      e.a = n(op.socket);
      break;
    case "setsid":
      e.flags = op.controllingTerminal ? F_CTTY : 0;
      break;
    case "close-fds":
    case "close-inherited-fds":
      e.a = op.keep.length ? n(blob.u32list(op.keep)) : n(NONE);
      break;
    case "parent-death-signal":
      e.a = n(op.signal);
      break;
    case "setns":
      e.a = n(op.fd);
      e.b = n(op.flags);
      break;
    case "exec":
      e.s[0] = blob.str(op.file);
      e.a = n(blob.strlist(op.argv));
      e.b = n(blob.strlist(op.env));
      if (op.holdFd !== undefined) {
        e.flags = F_HOLD;
        e.c = n(op.holdFd);
      }
      break;
    case "write-file":
      e.s[0] = blob.str(op.data);
      e.s[1] = blob.str(op.path);
      break;
  }
  return e;
}

/** Writes a u64 field: a plain number without a BigInt when it is a non-negative safe integer. */
function writeU64(out: Buffer, v: bigint | number, at: number): void {
  if (typeof v === "number" && v >= 0 && Number.isSafeInteger(v)) {
    out.writeUInt32LE(v % 0x1_0000_0000, at);
    out.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
  } else {
    out.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), at);
  }
}

/** Encodes `ops` into the buffer the addon's `spawn` takes. */
export function encodePlan(ops: readonly Op[]): Buffer {
  const blob = new Blob();
  const encoded = ops.map((op) => encodeOp(op, blob));
  const out = Buffer.alloc(HEADER + OP_SIZE * ops.length + blob.size);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(ops.length, 8);
  out.writeUInt32LE(blob.size, 12);
  encoded.forEach((e, i) => {
    const at = HEADER + OP_SIZE * i;
    out.writeUInt32LE(STEP_INDEX.get(ops[i]!.kind)!, at);
    out.writeUInt32LE(e.flags, at + 4);
    writeU64(out, e.a, at + 8);
    writeU64(out, e.b, at + 16);
    writeU64(out, e.c, at + 24);
    e.s.forEach((s, k) => out.writeUInt32LE(s, at + 32 + 4 * k));
  });
  blob.writeTo(out, HEADER + OP_SIZE * ops.length);
  return out;
}
