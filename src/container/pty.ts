/**
 * The terminal of a `tty` exec: a pty from the container's own devpts and a
 * Duplex over its master that delivers every byte before it ends and always
 * closes the master.
 *
 * Node's `tty.ReadStream` alone does neither. It starts reading only when
 * someone reads, so a terminal nobody reads keeps its master open for good;
 * it treats EIO, which is how a pty master reports that every slave is
 * closed (its end of file), as an error and destroys itself, dropping what
 * it had buffered for a paused consumer; and it ends at a read that returns
 * 0 while the kernel still holds output.
 * @module
 */
import { closeSync, fchownSync, constants as fsc, openSync, readSync } from "node:fs";
import { Duplex } from "node:stream";
import { ReadStream } from "node:tty";

import { HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { native } from "../native/binding.js";

/**
 * The master side. The inner `tty.ReadStream` (highWaterMark 0) is kept
 * flowing, so each chunk it reads is handed on at once; when our consumer
 * applies backpressure it is paused, and then it stops reading after at
 * most one chunk, which the next resume delivers before it reads again.
 * So when the kernel answers EIO (once nothing is left) nothing is held
 * in the inner stream, and ending here loses no byte.
 */
export class PtyStream extends Duplex {
  readonly #inner: ReadStream;
  #draining = false;

  constructor(master: number) {
    // Not half-open: once the terminal is gone, writing to it is pointless,
    // and ending both sides lets the stream close.
    super({ allowHalfOpen: false });
    this.#inner = new ReadStream(master);
    this.#inner.on("data", (b: Buffer) => {
      if (!this.push(b) && !this.#draining) this.#inner.pause();
    });
    this.#inner.on("error", (e: NodeJS.ErrnoException) => (e.code === "EIO" ? this.push(null) : this.destroy(e)));
    // A master's read may return 0 once the slave is closed while the
    // kernel still holds output (seen on 6.18: 2-9 KiB of 100 MiB in one
    // run of three); libuv takes that 0 for end of file. Read the rest
    // ourselves, up to EIO, before the stream closes the fd: this listener
    // runs before the one that destroys it.
    this.#inner.on("end", () => {
      this.#drainKernel(master);
      this.push(null);
    });
  }

  #drainKernel(fd: number): void {
    const buf = Buffer.allocUnsafe(65536);
    for (let zeros = 0; zeros < 2; ) {
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch {
        return; // EIO: nothing left; EAGAIN: a slave was opened again
      }
      if (n > 0) this.push(Buffer.from(buf.subarray(0, n)));
      zeros = n === 0 ? zeros + 1 : 0;
    }
  }

  override _read(): void {
    this.#inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.#inner.write(chunk, cb);
  }

  /** A terminal has no half-close: ending the input leaves it open, as a terminal emulator would. */
  override _final(cb: (e?: Error | null) => void): void {
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.#inner.destroy();
    cb(err);
  }

  /**
   * The process exited: read on, whoever consumes, until every slave is
   * closed, so the master is closed even when nobody reads the output
   * (which stays buffered here for a late reader). A background process
   * still holding the terminal keeps it open, as it should.
   */
  drain(): void {
    if (this.destroyed || this.readableEnded) return;
    this.#draining = true;
    this.#inner.resume();
  }
}

export interface Pty {
  master: number;
  peer: number;
  stream: PtyStream;
}

/**
 * Opens a pty of the container's own devpts (reached through the init's
 * root, so the process sees `/dev/pts/N` of its container), its slave owned
 * by `owner` (host ids) when given: devpts gives a new slave the opener's
 * fsuid, host root, which shows as `nobody` inside.
 */
export function openPty(container: string, initPid: number, size: { cols?: number; rows?: number }, owner?: { uid: number; gid: number }): Pty {
  const path = `/proc/${initPid}/root/dev/ptmx`;
  let master: number;
  try {
    master = openSync(path, fsc.O_RDWR | fsc.O_NOCTTY);
  } catch (e) {
    throw new HostError(`open the container's pty multiplexer \`${path}\``, codeOf(e), { container, path, syscall: "open" });
  }
  let peer = -1;
  try {
    peer = native().ptyPeer(master);
    native().setWindowSize(master, size.cols ?? 80, size.rows ?? 24);
    if (owner) fchownSync(peer, owner.uid, owner.gid);
    return { master, peer, stream: new PtyStream(master) };
  } catch (e) {
    if (peer >= 0) closeSync(peer);
    closeSync(master);
    throw new HostError("set up the pty", codeOf(e), { container, syscall: (e as { syscall?: string }).syscall ?? "ioctl" });
  }
}
