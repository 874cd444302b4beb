/**
 * The `usb` device kind: every USB device on the host whose vendor and
 * product id (and optionally serial, bus and device number) match is
 * passed as its `/dev/bus/usb/BBB/DDD` node, the node libusb opens.
 *
 * Discovery reads sysfs, not `/dev`: `/sys/bus/usb/devices/*` has one entry
 * per device (and per interface, which has no `idVendor`), with its ids,
 * `busnum`, `devnum` and `dev` (major:minor). Hotplug goes through the
 * kernel's uevents ({@link matchUsbUevent}): the device core listens on a
 * NETLINK_KOBJECT_UEVENT socket, so no udev daemon is needed.
 * @module
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

import type { UsbDeviceSpec } from "../config/devices.js";
import { NotFoundError } from "../errors.js";
import { HOST_ROOTS, parseDevNumbers, readAttr, type HostDeviceNode, type HostRoots } from "./host-node.js";
import type { DeviceKind, ResolvedDevice } from "./types.js";
import type { Uevent as KernelUevent } from "./uevent.js";

export type { UsbDeviceInput, UsbDeviceSpec } from "../config/devices.js";

/** One USB device as sysfs describes it. */
export interface UsbDeviceInfo {
  /** The sysfs name, e.g. `1-1.2` or `usb1` (a root hub). */
  name: string;
  vendorid: string;
  productid: string;
  serial?: string;
  busnum: number;
  devnum: number;
  major: number;
  minor: number;
}

/** Every USB device (not interface) under `<sys>/bus/usb/devices`; none when the bus is absent. */
export function listUsbDevices(sys = HOST_ROOTS.sys): UsbDeviceInfo[] {
  const dir = join(sys, "bus/usb/devices");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no usbcore loaded: no USB bus, no device
  }
  const out: UsbDeviceInfo[] = [];
  for (const name of names.sort()) {
    const info = readUsbDevice(join(dir, name), name);
    if (info) out.push(info);
  }
  return out;
}

/** The device at a sysfs directory; undefined for an interface, or one that went away while being read. */
function readUsbDevice(dir: string, name: string): UsbDeviceInfo | undefined {
  const vendorid = readAttr(join(dir, "idVendor"));
  const productid = readAttr(join(dir, "idProduct"));
  const busnum = Number(readAttr(join(dir, "busnum")));
  const devnum = Number(readAttr(join(dir, "devnum")));
  const dev = parseDevNumbers(readAttr(join(dir, "dev")));
  if (!vendorid || !productid || !dev || !(busnum > 0) || !(devnum > 0)) return undefined;
  const serial = readAttr(join(dir, "serial"));
  return { name, vendorid: vendorid.toLowerCase(), productid: productid.toLowerCase(), ...(serial ? { serial } : {}), busnum, devnum, ...dev };
}

/** Whether a device matches a spec (every field the spec gives). */
export function usbMatches(spec: UsbDeviceSpec, d: Omit<UsbDeviceInfo, "name" | "major" | "minor">): boolean {
  return (
    d.vendorid === spec.vendorid &&
    (spec.productid === undefined || d.productid === spec.productid) &&
    (spec.serial === undefined || d.serial === spec.serial) &&
    (spec.busnum === undefined || d.busnum === spec.busnum) &&
    (spec.devnum === undefined || d.devnum === spec.devnum)
  );
}

/** `/dev/bus/usb/001/002`: where usbcore names the node (its devnode callback), inside as on the host. */
export function usbNodePath(busnum: number, devnum: number): string {
  return `/dev/bus/usb/${String(busnum).padStart(3, "0")}/${String(devnum).padStart(3, "0")}`;
}

function usbNode(spec: UsbDeviceSpec, d: { busnum: number; devnum: number; major: number; minor: number }, dev: string): HostDeviceNode {
  const path = usbNodePath(d.busnum, d.devnum);
  return { hostPath: join(dev, path.slice("/dev/".length)), path, type: "c", major: d.major, minor: d.minor, uid: spec.uid, gid: spec.gid, mode: spec.mode };
}

function describe(spec: UsbDeviceSpec): string {
  const parts = [`vendorid=${spec.vendorid}`];
  if (spec.productid) parts.push(`productid=${spec.productid}`);
  if (spec.serial) parts.push(`serial=${spec.serial}`);
  if (spec.busnum) parts.push(`busnum=${spec.busnum}`);
  if (spec.devnum) parts.push(`devnum=${spec.devnum}`);
  return parts.join(" ");
}

/**
 * The nodes of every USB device on the host that matches `spec` now.
 * Throws {@link NotFoundError} when none does and the spec is `required`.
 */
export function resolveUsbDevice(name: string, spec: UsbDeviceSpec, roots: Partial<HostRoots> = {}): ResolvedDevice {
  const { sys, dev } = { ...HOST_ROOTS, ...roots };
  const nodes = listUsbDevices(sys)
    .filter((d) => usbMatches(spec, d))
    .map((d) => usbNode(spec, d, dev));
  if (nodes.length === 0 && spec.required) {
    throw new NotFoundError(`device "${name}": no USB device matches ${describe(spec)} (required: true)`);
  }
  return { nodes, binds: [], mounts: [], ...(nodes.length === 0 ? { waiting: `no USB device matches ${describe(spec)} yet` } : {}) };
}

/** A kernel uevent's fields (`ACTION`, `DEVPATH`, `SUBSYSTEM`, …), as the listener parsed them. */
export type UeventFields = Readonly<Record<string, string | undefined>>;

/** What a uevent means for a `usb` device spec: a node to add or to remove. */
export interface UsbUeventMatch {
  action: "add" | "remove";
  node: HostDeviceNode;
}

/**
 * Whether a hotplug uevent concerns a device `spec` wants, and its node.
 *
 * usbcore's uevent for a device (DEVTYPE=usb_device; interfaces have their
 * own) carries `PRODUCT=vid/pid/bcd` in hex without leading zeros,
 * `BUSNUM`, `DEVNUM`, `MAJOR`, `MINOR` and `DEVNAME=bus/usb/BBB/DDD`, on
 * `add` and on `remove` alike. It has no serial number: for a spec with
 * `serial`, an `add` is checked against `<sys><DEVPATH>/serial`; a
 * `remove` (the sysfs entry is gone) matches on the other fields, and the
 * core removes it only if it holds a node with those numbers.
 */
export function matchUsbUevent(spec: UsbDeviceSpec, uevent: UeventFields, roots: Partial<HostRoots> = {}): UsbUeventMatch | undefined {
  const { sys, dev } = { ...HOST_ROOTS, ...roots };
  const action = uevent.ACTION;
  if ((action !== "add" && action !== "remove") || uevent.SUBSYSTEM !== "usb" || uevent.DEVTYPE !== "usb_device") return undefined;
  const product = /^([0-9a-fA-F]{1,4})\/([0-9a-fA-F]{1,4})\/[0-9a-fA-F]{1,4}$/.exec(uevent.PRODUCT ?? "");
  const busnum = Number(uevent.BUSNUM);
  const devnum = Number(uevent.DEVNUM);
  const major = Number(uevent.MAJOR);
  const minor = Number(uevent.MINOR);
  if (!product || !(busnum > 0) || !(devnum > 0) || !Number.isInteger(major) || !Number.isInteger(minor) || uevent.MAJOR === undefined || uevent.MINOR === undefined) {
    return undefined;
  }
  const pad = (h: string) => h.toLowerCase().padStart(4, "0");
  let serial: string | undefined;
  if (spec.serial !== undefined && action === "add") {
    serial = uevent.DEVPATH ? readAttr(join(sys, uevent.DEVPATH, "serial")) : undefined;
    if (serial === undefined) return undefined;
  }
  const fields = { vendorid: pad(product[1]!), productid: pad(product[2]!), busnum, devnum, ...(serial === undefined ? {} : { serial }) };
  if (!usbMatches(action === "remove" ? { ...spec, serial: undefined } : spec, fields)) return undefined;
  const node = usbNode(spec, { busnum, devnum, major, minor }, dev);
  // DEVNAME is the kernel's own name for the node; trust it over the
  // computed one should a kernel ever name it differently.
  if (uevent.DEVNAME && /^bus\/usb\/\d{3}\/\d{3}$/.test(uevent.DEVNAME)) {
    node.path = `/dev/${uevent.DEVNAME}`;
    node.hostPath = join(dev, uevent.DEVNAME);
  }
  return { action, node };
}

/**
 * The `usb` kind of the device core: every matching device's node, and a
 * device that follows plugs and unplugs (`required` or not: a device
 * unplugged is gone whatever the spec said).
 */
export const usbKind: DeviceKind<UsbDeviceSpec> = {
  type: "usb",
  resolve: (name, spec, host) => resolveUsbDevice(name, spec, host),
  follows: () => true,
  affectedBy: (spec, ev: KernelUevent) => matchUsbUevent(spec, ev.env) !== undefined,
};
