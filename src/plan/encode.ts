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

const { magic: MAGIC, version: VERSION, headerSize: HEADER, opSize: OP_SIZE, none: NONE } = PLAN_ABI;
const { optional: F_OPTIONAL, mkdir: F_MKDIR, mkfile: F_MKFILE, ctty: F_CTTY, recursive: F_RECURSIVE, inRoot: F_IN_ROOT, noSymlinks: F_NO_SYMLINKS, hold: F_HOLD } =
  PLAN_ABI.opFlags;

class Blob {
  private chunks: Buffer[] = [];
  private length = 0;
  private strings = new Map<string, number>();

  private align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    if (pad) this.push(Buffer.alloc(pad));
  }

  private push(b: Buffer): number {
    const at = this.length;
    this.chunks.push(b);
    this.length += b.length;
    return at;
  }

  str(s: string | undefined): number {
    if (s === undefined) return NONE;
    if (s.includes("\0")) throw new Error(`string contains NUL: ${JSON.stringify(s)}`);
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    const at = this.push(Buffer.from(s + "\0", "utf8"));
    this.strings.set(s, at);
    return at;
  }

  u32list(items: number[]): number {
    this.align(4);
    const b = Buffer.alloc(4 + 4 * items.length);
    b.writeUInt32LE(items.length, 0);
    items.forEach((v, i) => b.writeUInt32LE(v >>> 0, 4 + 4 * i));
    return this.push(b);
  }

  strlist(items: string[]): number {
    const offs = items.map((s) => this.str(s));
    return this.u32list(offs);
  }

  bytes(b: Buffer, alignment: number): number {
    this.align(alignment);
    return this.push(b);
  }

  finish(): Buffer {
    this.push(Buffer.from([0])); // the child checks the blob ends in NUL
    return Buffer.concat(this.chunks, this.length);
  }
}

interface Encoded {
  flags: number;
  a: bigint;
  b: bigint;
  c: bigint;
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
  const e: Encoded = { flags: 0, a: 0n, b: 0n, c: 0n, s: [NONE, NONE, NONE, NONE] };
  const n = (v: number) => BigInt(v);
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

/** Encodes `ops` into the buffer the addon's `spawn` takes. */
export function encodePlan(ops: readonly Op[]): Buffer {
  const blob = new Blob();
  const encoded = ops.map((op) => encodeOp(op, blob));
  const blobBuf = blob.finish();
  const out = Buffer.alloc(HEADER + OP_SIZE * ops.length + blobBuf.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(ops.length, 8);
  out.writeUInt32LE(blobBuf.length, 12);
  encoded.forEach((e, i) => {
    const at = HEADER + OP_SIZE * i;
    out.writeUInt32LE(STEP_NAMES.indexOf(ops[i]!.kind), at);
    out.writeUInt32LE(e.flags, at + 4);
    out.writeBigUInt64LE(BigInt.asUintN(64, e.a), at + 8);
    out.writeBigUInt64LE(BigInt.asUintN(64, e.b), at + 16);
    out.writeBigUInt64LE(BigInt.asUintN(64, e.c), at + 24);
    e.s.forEach((s, k) => out.writeUInt32LE(s, at + 32 + 4 * k));
  });
  blobBuf.copy(out, HEADER + OP_SIZE * ops.length);
  return out;
}
