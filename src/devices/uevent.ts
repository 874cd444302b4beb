/**
 * Kernel uevents: the messages the kernel multicasts on a
 * NETLINK_KOBJECT_UEVENT socket when a device appears, changes or goes
 * (`add@/devices/…` then `KEY=value` strings, NUL-separated). The addon's
 * socket (native/devices/uevent.cc) delivers them; this module parses
 * them and hands them out to subscribers. No udev daemon is needed: the
 * kernel's message comes first, and warren makes its own nodes from
 * MAJOR/MINOR.
 * @module
 */
import { native } from "../native/binding.js";

/** One kernel uevent. */
export interface Uevent {
  /** `add`, `remove`, `change`, `bind`, `unbind`, `move`, `online`, `offline`. */
  action: string;
  /** The device's path below /sys (`/devices/virtual/block/loop9`). */
  devpath: string;
  subsystem?: string;
  /** The node's name below /dev (`loop9`, `bus/usb/001/004`). */
  devname?: string;
  major?: number;
  minor?: number;
  /** `disk`, `partition`, `usb_device`, … */
  devtype?: string;
  seqnum?: number;
  /** Every key as sent (`PRODUCT`, `BUSNUM`, `DEVNUM`, `DRIVER`, `DEVMODE`, …). */
  env: Record<string, string>;
}

const int = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/**
 * Parses one message, or returns undefined for what is not a kernel uevent
 * (udev's rebroadcasts start with `libudev\0`; a header without `@`, or an
 * ACTION/DEVPATH that disagrees with it, is malformed).
 */
export function parseUevent(message: Buffer | string): Uevent | undefined {
  const text = typeof message === "string" ? message : message.toString("utf8");
  const parts = text.split("\0").filter((p) => p.length > 0);
  const header = parts.shift();
  if (!header) return undefined;
  const at = header.indexOf("@");
  if (at <= 0) return undefined;
  const env: Record<string, string> = {};
  for (const p of parts) {
    const eq = p.indexOf("=");
    if (eq > 0) env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const action = env.ACTION ?? header.slice(0, at);
  const devpath = env.DEVPATH ?? header.slice(at + 1);
  if (action !== header.slice(0, at) || devpath !== header.slice(at + 1)) return undefined;
  const ev: Uevent = { action, devpath, env };
  if (env.SUBSYSTEM !== undefined) ev.subsystem = env.SUBSYSTEM;
  if (env.DEVNAME !== undefined) ev.devname = env.DEVNAME.replace(/^\/dev\//, "");
  if (env.DEVTYPE !== undefined) ev.devtype = env.DEVTYPE;
  const major = int(env.MAJOR), minor = int(env.MINOR), seqnum = int(env.SEQNUM);
  if (major !== undefined) ev.major = major;
  if (minor !== undefined) ev.minor = minor;
  if (seqnum !== undefined) ev.seqnum = seqnum;
  return ev;
}

/** Called with each uevent; `null` when the kernel dropped some (the socket's queue overflowed). */
export type UeventHandler = (event: Uevent | null) => void;

interface Listener {
  close(): void;
}

const handlers = new Set<UeventHandler>();
let listener: Listener | undefined;

/**
 * Subscribes to the host's uevents; returns the unsubscribe function. One
 * socket serves every subscriber of the process, opened with the first and
 * closed with the last; it never keeps Node alive by itself.
 */
export function onUevent(handler: UeventHandler): () => void {
  if (!listener) {
    listener = new (native().UeventListener)((message: Buffer | null) => {
      const ev = message === null ? null : parseUevent(message);
      if (ev === undefined) return;
      for (const h of [...handlers]) h(ev);
    });
  }
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
    if (handlers.size === 0 && listener) {
      listener.close();
      listener = undefined;
    }
  };
}
