/**
 * What `warren-oci` keeps of an OCI container beside warren's own state:
 * `<root>/oci/<id>.json` with the bundle, the creation time, the
 * annotations and where warren keeps the container (its name and cgroup
 * parent). The OCI status is not stored: every command derives it from
 * warren's state, the kernel (is the init alive) and the hold fifo
 * (container/hold.ts), so a fresh process sees what the last one left.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { codeOf } from "../linux/errno.js";
import { writeFileExclusive } from "../linux/json-file.js";

/** One OCI container's record. */import type { OciHooks } from "./hooks.js";

export interface OciRecord {
  id: string;
  /** The warren container's name (the id when it is a valid name, else derived from it). */
  name: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339, as runc prints it. */
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The cgroup v2 subtree the container's cgroup is made in (from `linux.cgroupsPath`). */
  cgroupParent: string;
  /** config.json's hooks, checked at create: start and delete run theirs from here. */
  hooks?: OciHooks;
}

/** runc's id rule. */
const ID = /^[\w+.-]+$/;

/** An error runc would print: the message, and exit status 1. */
export class OciError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "OciError";
  }
}

export function checkId(id: string | undefined): string {
  if (!id) throw new OciError("container id cannot be empty");
  if (!ID.test(id) || id === "." || id === "..") throw new OciError(`invalid id format: ${id}`);
  return id;
}

/**
 * The warren name of an OCI id: the id itself when warren accepts it
 * (1-63 characters), else `oci-` and a hash of it (containerd's and
 * podman's ids are 64 hex digits).
 */
export function warrenName(id: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(id)) return id;
  return `oci-${createHash("sha256").update(id).digest("hex").slice(0, 32)}`;
}

export const recordPath = (root: string, id: string) => join(root, "oci", `${id}.json`);

export function readRecord(root: string, id: string): OciRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(root, id), "utf8")) as OciRecord;
  } catch (e) {
    if (codeOf(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** Writes the record whole (a temporary file renamed over it). Throws EEXIST with `exclusive` when one is there. */
export function writeRecord(root: string, rec: OciRecord, exclusive = false): void {
  const path = recordPath(root, rec.id);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (exclusive) {
    // The claim on the id: two creates of one id race here, not later.
    writeFileExclusive(path, JSON.stringify(rec));
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  renameSync(tmp, path);
}

export function removeRecord(root: string, id: string): void {
  rmSync(recordPath(root, id), { force: true });
}

export function listRecords(root: string): OciRecord[] {
  let names: string[];
  try {
    names = readdirSync(join(root, "oci"));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".json"))
    .map((n) => readRecord(root, n.slice(0, -5)))
    .filter((r): r is OciRecord => r !== undefined)
    .sort((a, b) => a.created.localeCompare(b.created));
}

/**
 * The cgroup parent for `linux.cgroupsPath`: its directory part below the
 * cgroup2 mount (`/default/ID` → `default`; `/machine.slice/libpod-ID` →
 * `machine.slice`); warren's container cgroup is made there under the
 * container's warren name. systemd's `slice:prefix:name` form is refused
 * (with --systemd-cgroup, which warren does not implement).
 */
export function cgroupParentOf(cgroupsPath: string | undefined, id: string): string {
  if (!cgroupsPath) return "warren-oci";
  if (/^[^/]*:[^/]*:/.test(cgroupsPath)) {
    throw new OciError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} is a systemd slice path: warren-oci manages cgroupfs paths only (configure the client with cgroupfs)`);
  }
  const parts = cgroupsPath.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new OciError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} must not contain ..`);
  const parent = parts.slice(0, -1).join("/");
  return parent || "warren-oci";
}
