/**
 * Intent records: what makes a multi-step operation safe to interrupt.
 *
 * An operation that changes several things (create: a directory, an id
 * range, leases, a rootfs; destroy: the same in reverse) first writes
 * `<state>/<name>/intent.json` naming itself and its owner (pid and start
 * time, so a recycled pid is not mistaken for it), and removes it as its
 * last step. A process that finds an intent whose owner is gone knows the
 * operation died half-way and which way to finish it: a create is rolled
 * back, a destroy rolled forward (src/container/recover.ts). A snapshot
 * being made carries the same owner in `snapshots/<name>/partial.json`
 * until its `snapshot.json` exists.
 * @module
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";

import { HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { readJsonFile, writeJsonAtomic } from "../linux/json-file.js";
import { processInfo } from "./proc.js";

export type IntentOp = "create" | "destroy";

/** A process, told apart from a later one with the same pid by its start time. */
export interface Owner {
  pid: number;
  startTime: number;
}

export interface Intent {
  op: IntentOp;
  owner: Owner;
  /** When it began (ISO time), for people reading the file. */
  at: string;
}

const INTENT = "intent.json";

let self: Owner | undefined;

/** This process as an owner. */
export function selfOwner(): Owner {
  self ??= { pid: process.pid, startTime: processInfo(process.pid)?.startTime ?? 0 };
  return self;
}

/** Whether the owner is still running (a zombie is not: it can finish nothing). */
export function ownerAlive(owner: Owner): boolean {
  const info = processInfo(owner.pid);
  return info !== undefined && info.startTime === owner.startTime && info.state !== "Z" && info.state !== "X";
}

export function intentPath(dir: string): string {
  return join(dir, INTENT);
}

/** Records that this process is about to run `op` on the container in `dir`. */
export function writeIntent(dir: string, op: IntentOp): void {
  const intent: Intent = { op, owner: selfOwner(), at: new Date().toISOString() };
  writeJsonAtomic(intentPath(dir), intent);
}

export async function readIntent(dir: string): Promise<Intent | undefined> {
  const intent = await readJsonFile<Intent>(intentPath(dir)).catch(() => undefined);
  if (!intent || typeof intent !== "object" || (intent.op !== "create" && intent.op !== "destroy") || typeof intent.owner?.pid !== "number") return undefined;
  return intent;
}

/** The operation is complete: nothing left to finish for anyone. */
export async function clearIntent(dir: string): Promise<void> {
  try {
    await fsp.unlink(intentPath(dir));
  } catch (e) {
    if (codeOf(e) !== "ENOENT") throw new HostError(`remove \`${intentPath(dir)}\``, codeOf(e), { path: intentPath(dir), syscall: "unlink", cause: e });
  }
}
