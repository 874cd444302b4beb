/**
 * The `devices` map of the config: name → spec, one zod schema per kind.
 * What a kind does with its spec (which host nodes and binds it resolves
 * to) lives in src/devices/, one module per kind; docs/devices.md says how
 * a kind is added.
 * @module
 */
import { z } from "zod";

import { GPU_VENDORS, PCI_ADDRESS } from "./pci.js";
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

/** Owner and mode of the nodes inside, shared by the hardware kinds (Incus's defaults: root, 0660). */
export const nodeAccessFields = {
  /** Permission bits of the nodes inside (default 0660). */
  mode: z
    .union([z.number().int(), z.string().regex(/^0?[0-7]{3}$/, "must be an octal mode like 0660").transform((s) => parseInt(s, 8))])
    .pipe(z.number().int().min(0).max(0o777, "must be permission bits (at most 0777)"))
    .default(0o660),
  /** Group and owner of the nodes inside the container (default 0). */
  uid: id.default(0),
  gid: id.default(0),
};

const usbId = z
  .string()
  .regex(/^[0-9a-fA-F]{4}$/, "must be 4 hex digits, like 0627")
  .transform((s) => s.toLowerCase());
const usbNumber = z.union([z.number(), z.string().regex(/^\d+$/, "must be a number").transform(Number)]).pipe(z.number().int().min(1).max(999));

/** A `usb` device: `{type: "usb", vendorid: "0627", productid: "0001"}` (src/devices/usb.ts). */
export const usbDeviceSchema = z.strictObject({
  type: z.literal("usb"),
  /** USB vendor id, 4 hex digits (`lsusb` shows `vendor:product`). */
  vendorid: usbId,
  /** USB product id; omitted, every product of the vendor matches. */
  productid: usbId.optional(),
  /** Only the device with this serial number (the `serial` attribute in sysfs, `iSerial` in `lsusb -v`). */
  serial: z.string().min(1).optional(),
  /** Only devices on this bus. */
  busnum: usbNumber.optional(),
  /** Only the device with this number on its bus (it changes on every replug). */
  devnum: usbNumber.optional(),
  /**
   * Refuse to start (or add) when no device matches. Default false, as in
   * Incus: a missing device is passed when it is plugged in, and a device
   * unplugged goes from inside.
   */
  required: z.boolean().default(false),
  ...nodeAccessFields,
});

/** A `gpu` device: `{type: "gpu"}` (every GPU), or narrowed by vendor, PCI address or DRM card id (src/devices/gpu.ts). */
export const gpuDeviceSchema = z.strictObject({
  type: z.literal("gpu"),
  /** `nvidia`, `amd`, `intel`, or a PCI vendor id (`10de`, `0x10de`). */
  vendor: z
    .string()
    .transform((v) => v.toLowerCase())
    .refine((v) => v in GPU_VENDORS || /^(0x)?[0-9a-f]{4}$/.test(v), "must be nvidia, amd, intel or a PCI vendor id like 10de")
    .transform((v) => (v in GPU_VENDORS ? GPU_VENDORS[v as keyof typeof GPU_VENDORS] : v.replace(/^0x/, "")))
    .optional(),
  /** PCI address, `0000:01:00.0` or `01:00.0` (`lspci` shows it). */
  pci: z
    .string()
    .transform((p) => (/^[0-9a-fA-F]{2}:/.test(p) ? `0000:${p}` : p).toLowerCase())
    .refine((p) => PCI_ADDRESS.test(p), "must be a PCI address like 0000:01:00.0")
    .optional(),
  /** DRM card number: `1` for `/dev/dri/card1`. */
  id: z.union([z.number(), z.string().regex(/^\d+$/, "must be a card number").transform(Number)]).pipe(z.number().int().min(0)).optional(),
  /**
   * Also bind the NVIDIA driver's user-space libraries and tools
   * (`nvidia-smi`, `libcuda.so.1`, `libnvidia-ml.so.1`, …) read-only, at
   * their host paths, and set `LD_LIBRARY_PATH` to their directories for
   * the init and every exec (Incus's `nvidia.runtime`). Needs an NVIDIA GPU.
   */
  nvidiaRuntime: z.boolean().default(false),
  ...nodeAccessFields,
});

/**
 * Every kind the config accepts. A kind added here needs its module in
 * src/devices/ registered in src/devices/kinds.ts.
 */
export const deviceSchema = z.discriminatedUnion("type", [unixCharSchema, unixBlockSchema, diskSchema, usbDeviceSchema, gpuDeviceSchema], {
  error: (i) => (i.code === "invalid_union" ? "unknown device type (unix-char, unix-block, disk, usb, gpu; nic through addDevice)" : undefined),
});

export const devicesSchema = z.record(z.string().regex(DEVICE_NAME, "must be a device name (letters, digits, `_`, `.`, `-`)"), deviceSchema);

export type DeviceSpec = z.output<typeof deviceSchema>;
export type DeviceInput = z.input<typeof deviceSchema>;
export type UnixDeviceSpec = z.output<typeof unixCharSchema>;
export type DiskDeviceSpec = z.output<typeof diskSchema>;
export type UsbDeviceInput = z.input<typeof usbDeviceSchema>;
export type UsbDeviceSpec = z.output<typeof usbDeviceSchema>;
export type GpuDeviceInput = z.input<typeof gpuDeviceSchema>;
export type GpuDeviceSpec = z.output<typeof gpuDeviceSchema>;
