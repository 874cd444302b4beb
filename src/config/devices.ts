/**
 * The `devices` map of the config: name → spec, one zod schema per kind.
 * What a kind does with its spec (which host nodes and binds it resolves
 * to) lives in src/devices/, one module per kind; docs/devices.md says how
 * a kind is added.
 * @module
 */
import { z } from "zod";

import { absolutePath, containerPath } from "./paths.js";

/** A device's name in the map: what `removeDevice` and the CLI call it. */
export const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const id = z.number().int().min(0).max(0xfffffffe);
const major = z.number().int().min(0).max(0xfff);
const minor = z.number().int().min(0).max(0xfffff);

/** `0660`, `"0660"` or `"660"`: permission bits (octal in a string). */
export const deviceMode = z
  .union([
    z.number().int().min(0).max(0o7777, "must be at most 0o7777 (permission bits like 0o660)"),
    z.string().regex(/^0?[0-7]{3,4}$/, "must be permission bits like 0660 (an octal string such as \"0660\", or a number)"),
  ], { error: (i) => (i.code === "invalid_union" ? "must be permission bits like 0660 (a number, or an octal string such as \"0660\")" : undefined) })
  .transform((m) => (typeof m === "string" ? parseInt(m, 8) : m))
  .refine((m) => m <= 0o7777, "must be at most 07777");

const unixFields = {
  /** The host node (`/dev/ttyUSB0`): its type, major and minor are read from it. */
  source: absolutePath.optional(),
  /** Instead of `source` (or to check it against): the device numbers. */
  major: major.optional(),
  minor: minor.optional(),
  /** Where the node appears inside (default: `source`). */
  path: containerPath.optional(),
  /** Owner and permissions inside (default root:root 0660). */
  uid: id.default(0),
  gid: id.default(0),
  mode: deviceMode.default(0o660),
  /**
   * `false`: a missing source is waited for; the node is added when the host
   * device appears (a kernel uevent) and removed when it goes.
   */
  required: z.boolean().default(true),
};

function checkUnix(s: { source?: string | undefined; major?: number | undefined; minor?: number | undefined; path?: string | undefined; required: boolean }, ctx: z.RefinementCtx): void {
  if (s.source === undefined && (s.major === undefined || s.minor === undefined)) {
    ctx.addIssue({ code: "custom", path: ["source"], message: "give a source node or both major and minor" });
  }
  if ((s.major === undefined) !== (s.minor === undefined)) {
    ctx.addIssue({ code: "custom", path: [s.major === undefined ? "major" : "minor"], message: "give major and minor together" });
  }
  if (s.source === undefined && s.path === undefined) {
    ctx.addIssue({ code: "custom", path: ["path"], message: "needed when there is no source (where the node appears inside)" });
  }
  if (!s.required && s.source === undefined) {
    ctx.addIssue({ code: "custom", path: ["required"], message: "required: false waits for a source node: give source" });
  }
}

export const unixCharSchema = z.strictObject({ type: z.literal("unix-char"), ...unixFields }).superRefine(checkUnix);
export const unixBlockSchema = z.strictObject({ type: z.literal("unix-block"), ...unixFields }).superRefine(checkUnix);

export const diskSchema = z.strictObject({
  type: z.literal("disk"),
  /** A host directory or file (bound), or a block device (its filesystem mounted). */
  source: absolutePath,
  /** Where it appears inside. */
  path: containerPath,
  readonly: z.boolean().default(false),
  /** Directory or file only: an idmapped bind, so host owners show as the container's (needs a user namespace). */
  idmap: z.boolean().default(false),
  /** Block device only: the filesystem type (default: read from the device with blkid). */
  fstype: z.string().regex(/^[a-z0-9_.-]{1,32}$/, "must be a filesystem type like ext4").optional(),
  /** `false`: a missing source is skipped instead of failing. */
  required: z.boolean().default(true),
});

/**
 * Every kind the config accepts. A kind added here needs its module in
 * src/devices/ registered in src/devices/kinds.ts.
 */
export const deviceSchema = z.discriminatedUnion("type", [unixCharSchema, unixBlockSchema, diskSchema], {
  error: (i) => (i.code === "invalid_union" ? "unknown device type (unix-char, unix-block, disk; nic through addDevice)" : undefined),
});

export const devicesSchema = z.record(z.string().regex(DEVICE_NAME, "must be a device name (letters, digits, `_`, `.`, `-`)"), deviceSchema);

export type DeviceSpec = z.output<typeof deviceSchema>;
export type DeviceInput = z.input<typeof deviceSchema>;
export type UnixDeviceSpec = z.output<typeof unixCharSchema>;
export type DiskDeviceSpec = z.output<typeof diskSchema>;
