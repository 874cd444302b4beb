/**
 * A host-wide key → value record kept as an append-only journal: one JSON
 * line per change (`{"k":key,"v":value}`, `v` null to delete), replayed in
 * memory. A change costs one append under an flock, not a rewrite of the
 * whole record (a rewrite-and-rename replaces the file, which ext4 flushes
 * first, and reads everything back: O(N) per change, with N containers).
 *
 * Each process keeps the replayed map and the offset it has read to, and
 * catches up by reading only what was appended since; a compaction (when
 * dead lines outnumber live ones) writes a fresh journal and renames it
 * into place, which readers notice by the new id on its first line. A line cut short by
 * a crash during an append is dropped (and truncated away by the next
 * writer, who holds the lock and so knows nobody is appending).
 * @module
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";

import { HostError } from "../errors.js";
import { codeOf } from "./errno.js";
import { writeFileAtomic } from "./json-file.js";
import { withLock } from "./lock.js";

interface Replay<V> {
  /** The journal's id, from its first line: a file replaced (compaction, or anything else) has another. */
  id: string;
  /** Bytes replayed (up to the end of the last whole line). */
  offset: number;
  map: Map<string, V>;
  /** Lines replayed, live or dead: compaction is due when they are mostly dead. */
  lines: number;
  /** Read from a file in the older format: the next change rewrites it as a journal. */
  rewrite?: boolean;
}

export interface JournalChange<V> {
  set(key: string, value: V): void;
  delete(key: string): void;
}

export class Journal<V> {
  #replay: Replay<V> | undefined;

  /**
   * `convert` turns a file in an older whole-JSON format into entries (it is
   * rewritten as a journal on the first change). `newMap` makes the map the
   * entries are replayed into: a Map subclass can keep an index of them up
   * to date as they change (every change, replayed or made, is a `set` or
   * a `delete` on it; a map the journal no longer trusts is replaced by a
   * fresh one, replayed from the start).
   */
  constructor(
    readonly path: string,
    private readonly convert?: (old: unknown) => Iterable<[string, V]> | undefined,
    private readonly newMap: () => Map<string, V> = () => new Map(),
  ) {}

  /** The entries as of now (no lock: what writers have appended whole). */
  async read(): Promise<ReadonlyMap<string, V>> {
    // A line that does not parse is a rewrite in place (a full
    // filesystem's) read half-done: read again from the start.
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#catchUp(false).map;
      } catch (e) {
        if (attempt >= 5 || !(e instanceof HostError) || e.errno !== "EINVAL") throw e;
        this.#replay = undefined;
        await new Promise((r) => setTimeout(r, 2 * (attempt + 1)));
      }
    }
  }

  /**
   * Runs `fn` on the current entries under the journal's lock; the changes
   * it makes are appended as one write when it returns.
   */
  async update<T>(fn: (entries: ReadonlyMap<string, V>, change: JournalChange<V>) => T | Promise<T>): Promise<T> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    return withLock(`${this.path}.lock`, async () => {
      const replay = this.#catchUp(true);
      const lines: string[] = [];
      // Changes show in `entries` at once (fn may read what it just set);
      // if fn throws, the map no longer matches the file and is re-read.
      let result: T;
      try {
        result = await fn(replay.map, {
          set: (k, v) => {
            lines.push(JSON.stringify({ k, v }));
            replay.map.set(k, v);
          },
          delete: (k) => {
            lines.push(JSON.stringify({ k, v: null }));
            replay.map.delete(k);
          },
        });
      } catch (e) {
        if (lines.length) this.#replay = undefined;
        throw e;
      }
      if (lines.length === 0) return result;
      try {
        if (replay.rewrite || replay.lines + lines.length > 2 * (replay.map.size + lines.length) + 256) {
          this.#compact(replay);
        } else {
          this.#append(replay, `${lines.join("\n")}\n`);
        }
      } catch (e) {
        // A full filesystem has room neither for a line nor for a fresh
        // copy. A change that frees something (a release: what a full host
        // needs most) makes the live entries shorter than the file, which
        // is then rewritten in place.
        const errno = e instanceof HostError ? e.errno : codeOf(e);
        if ((errno !== "ENOSPC" && errno !== "EDQUOT") || !this.#compactInPlace(replay.map)) {
          this.#replay = undefined;
          throw e;
        }
      }
      return result;
    });
  }

  #apply(replay: Replay<V>, rec: { k: string; v: V | null }): void {
    if (rec.v === null) replay.map.delete(rec.k);
    else replay.map.set(rec.k, rec.v);
    replay.lines++;
  }

  /** Reads what was appended since the last look (everything after a compaction or on first use). */
  #catchUp(locked: boolean): Replay<V> {
    let fd: number;
    try {
      fd = openSync(this.path, "r+");
    } catch (e) {
      if (codeOf(e) !== "ENOENT") throw new HostError(`open \`${this.path}\``, codeOf(e), { path: this.path, syscall: "open", cause: e });
      this.#replay = { id: "", offset: 0, map: this.newMap(), lines: 0 };
      return this.#replay;
    }
    try {
      const st = fstatSync(fd);
      const head = Buffer.alloc(64);
      const id = /^\{"journal":"([0-9a-f]+)"\}\n/.exec(head.toString("utf8", 0, readSync(fd, head, 0, 64, 0)))?.[1] ?? "";
      let replay = this.#replay;
      if (!replay || replay.id !== id || st.size < replay.offset) replay = { id, offset: 0, map: this.newMap(), lines: 0 };
      if (st.size > replay.offset) {
        const buf = Buffer.alloc(st.size - replay.offset);
        let got = 0;
        while (got < buf.length) {
          const n = readSync(fd, buf, got, buf.length - got, replay.offset + got);
          if (n === 0) break;
          got += n;
        }
        const text = buf.subarray(0, got).toString("utf8");
        if (replay.offset === 0 && !id && this.convert && text.startsWith("{")) {
          // A record in the older whole-file format: its entries, rewritten as a journal by the next writer.
          const old = this.convert(JSON.parse(text));
          replay.map = this.newMap();
          for (const [k, v] of old ?? []) replay.map.set(k, v);
          replay.offset = st.size;
          replay.rewrite = true;
          this.#replay = replay;
          return replay;
        }
        const end = text.lastIndexOf("\n") + 1;
        for (const line of text.slice(0, end).split("\n")) {
          if (!line) continue;
          const rec = JSON.parse(line) as { k?: string; v?: V | null; journal?: string };
          if (typeof rec.k === "string") this.#apply(replay, { k: rec.k, v: rec.v ?? null });
        }
        replay.offset += Buffer.byteLength(text.slice(0, end));
        // A cut line after the last newline: an append a crash interrupted. Only a lock holder may drop it.
        if (locked && end < text.length) ftruncateSync(fd, replay.offset);
      }
      this.#replay = replay;
      return replay;
    } catch (e) {
      if (e instanceof HostError) throw e;
      throw new HostError(`read \`${this.path}\``, codeOf(e) === "EUNKNOWN" ? "EINVAL" : codeOf(e), { path: this.path, syscall: "read", cause: e });
    } finally {
      closeSync(fd);
    }
  }

  #append(replay: Replay<V>, text: string): void {
    if (!replay.id) {
      // No journal yet: a new one, with its id line first.
      this.#compact(replay);
      return;
    }
    let fd: number;
    try {
      fd = openSync(this.path, "a", 0o600);
    } catch (e) {
      throw new HostError(`open \`${this.path}\``, codeOf(e), { path: this.path, syscall: "open", cause: e });
    }
    try {
      const data = Buffer.from(text);
      writeSync(fd, data);
      replay.lines += text.split("\n").length - 1;
      replay.offset += data.length;
    } catch (e) {
      // Whatever part of the write landed is a cut line: the next writer drops it.
      this.#replay = undefined;
      throw new HostError(`append to \`${this.path}\``, codeOf(e), { path: this.path, syscall: "write", cause: e });
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Overwrites the file with the live entries under a new id (readers see
   * the id change and replay from the start), if that is not longer than
   * what is there; false when it would be.
   */
  #compactInPlace(map: Map<string, V>): boolean {
    const id = randomBytes(8).toString("hex");
    const data = Buffer.from(journalText(id, map));
    let fd: number;
    try {
      fd = openSync(this.path, "r+");
    } catch {
      return false;
    }
    try {
      if (fstatSync(fd).size < data.length) return false;
      writeSync(fd, data, 0, data.length, 0);
      ftruncateSync(fd, data.length);
    } catch (e) {
      this.#replay = undefined;
      throw new HostError(`rewrite \`${this.path}\` in place`, codeOf(e), { path: this.path, syscall: "write", cause: e });
    } finally {
      closeSync(fd);
    }
    this.#replay = { id, offset: data.length, map, lines: map.size };
    return true;
  }

  /** Writes the live entries as a fresh journal with a new id, renamed over the old one. */
  #compact(replay: Replay<V>): void {
    const id = randomBytes(8).toString("hex");
    const text = journalText(id, replay.map);
    writeFileAtomic(this.path, text);
    this.#replay = { id, offset: Buffer.byteLength(text), map: replay.map, lines: replay.map.size };
  }
}

/** A whole journal: its id line, then one line per live entry. */
function journalText<V>(id: string, map: ReadonlyMap<string, V>): string {
  const body = [...map].map(([k, v]) => JSON.stringify({ k, v })).join("\n");
  return `{"journal":"${id}"}\n${body ? `${body}\n` : ""}`;
}
