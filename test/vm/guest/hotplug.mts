/**
 * Hot-plugging from inside the guest: a script asks the host (test/helpers/
 * qmp.ts QmpPump, enabled by runGuestScript's `hotplug`) to run a QMP
 * command by printing `@@QMP {json}@@`, then waits for the effect in sysfs:
 * the console is one-way, so the guest never sees qemu's answer (the host
 * test shows it when something fails). The VM has a USB 3 controller on bus
 * `xhci.0` and a virtio GPU.
 */
import { setTimeout as sleep } from "node:timers/promises";

import { listUsbDevices, type UsbDeviceInfo } from "../../../src/devices/usb.js";

/** Asks the host to run one QMP command. */
export function qmp(execute: string, args?: Record<string, unknown>): void {
  console.log(`@@QMP ${JSON.stringify(args ? { execute, arguments: args } : { execute })}@@`);
}

/** Polls `probe` until it returns something truthy; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** qemu's USB devices the tests plug, with the ids they show the guest. */
export const QEMU_USB = {
  "usb-kbd": { vendorid: "0627", productid: "0001" },
  "usb-storage": { vendorid: "46f4", productid: "0001" },
} as const;

export type QemuUsbDriver = keyof typeof QEMU_USB;

function find(driver: QemuUsbDriver, serial: string): UsbDeviceInfo | undefined {
  const ids = QEMU_USB[driver];
  return listUsbDevices().find((d) => d.vendorid === ids.vendorid && d.productid === ids.productid && d.serial === serial);
}

/**
 * Hot-adds a USB device on the guest's xhci bus and resolves when usbcore
 * has enumerated it (its sysfs entry). `usb-storage` gets a 64 MiB disk of
 * zeros (qemu's null-co driver: no file on the host). The serial tells
 * devices of one kind apart.
 */
export async function plugUsb(id: string, driver: QemuUsbDriver, serial = id): Promise<UsbDeviceInfo> {
  if (driver === "usb-storage") {
    qmp("blockdev-add", { driver: "null-co", "node-name": `${id}-disk`, size: 64 << 20, "read-zeroes": true });
    qmp("device_add", { driver, id, bus: "xhci.0", serial, drive: `${id}-disk`, removable: true });
  } else {
    qmp("device_add", { driver, id, bus: "xhci.0", serial });
  }
  return waitFor(`${driver} ${id} in /sys/bus/usb/devices`, () => find(driver, serial));
}

/** Unplugs a device {@link plugUsb} added; resolves when its sysfs entry is gone. */
export async function unplugUsb(id: string, driver: QemuUsbDriver, serial = id): Promise<void> {
  qmp("device_del", { id });
  await waitFor(`${driver} ${id} gone from /sys/bus/usb/devices`, () => !find(driver, serial));
  // The disk can be dropped only once the device let go of it.
  if (driver === "usb-storage") qmp("blockdev-del", { "node-name": `${id}-disk` });
}
