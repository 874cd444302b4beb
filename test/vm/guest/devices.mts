/**
 * Runs INSIDE the VM (test/vm/devices.test.ts boots it with a qemu-xhci USB
 * controller, a virtio GPU and a QMP socket the host serves): the hardware
 * half of the device model, on real (emulated) hardware and Debian's
 * drivers. Each scenario prints one `@@RESULT` line; the host asserts.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";

import { gpuDeviceSchema, listGpus, resolveGpuDevice } from "../../../src/devices/gpu.js";
import { statDevice } from "../../../src/devices/host-node.js";
import { listUsbDevices, matchUsbUevent, resolveUsbDevice, usbDeviceSchema } from "../../../src/devices/usb.js";
import { plugUsb, QEMU_USB, unplugUsb, waitFor, type QemuUsbDriver } from "./hotplug.mjs";
import { runScenarios } from "./scenarios.mjs";

const attr = (dir: string, name: string) => (existsSync(`${dir}/${name}`) ? readFileSync(`${dir}/${name}`, "utf8").trim() : undefined);

/** A device's sysfs `uevent` file as the fields of an `add` uevent (what the core's netlink listener gets). */
function ueventOf(name: string): Record<string, string> {
  const dir = realpathSync(`/sys/bus/usb/devices/${name}`);
  const fields: Record<string, string> = { ACTION: "add", DEVPATH: dir.slice("/sys".length), SUBSYSTEM: "usb" };
  for (const line of readFileSync(`${dir}/uevent`, "utf8").split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/** Plugs a device, reads what sysfs, /dev and usb.ts say about it, unplugs it, and checks it is gone. */
async function hotplug(driver: QemuUsbDriver, id: string) {
  const ids = QEMU_USB[driver];
  const plugged = await plugUsb(id, driver);
  const dir = `/sys/bus/usb/devices/${plugged.name}`;
  const sysfs = { idVendor: attr(dir, "idVendor"), idProduct: attr(dir, "idProduct"), serial: attr(dir, "serial"), product: attr(dir, "product") };
  const spec = usbDeviceSchema.parse({ type: "usb", ...ids, mode: "0666" });
  const resolved = resolveUsbDevice(id, spec);
  const bySerial = resolveUsbDevice(id, usbDeviceSchema.parse({ type: "usb", ...ids, serial: id })).nodes.map((n) => n.path);
  const otherSerial = resolveUsbDevice(id, usbDeviceSchema.parse({ type: "usb", ...ids, serial: `${id}-not` })).nodes.map((n) => n.path);
  const node = resolved.nodes[0];
  const onHost = node && statDevice(node.hostPath);
  const uevent = ueventOf(plugged.name);
  const fromUevent = matchUsbUevent(spec, uevent);
  const fromRemoveUevent = matchUsbUevent(spec, { ...uevent, ACTION: "remove" });
  let block: string | undefined;
  if (driver === "usb-storage") {
    // sd_mod names the disk once the SCSI scan behind usb-storage is done.
    block = await waitFor("the usb-storage disk in /sys/block", () => {
      const disk = ["sda", "sdb"].find((d) => existsSync(`/sys/block/${d}`) && realpathSync(`/sys/block/${d}`).includes(`/${plugged.name}/`));
      return disk && existsSync(`/dev/${disk}`) ? `${disk} ${statDevice(`/dev/${disk}`)?.type} ${attr(`/sys/block/${disk}`, "size")}` : undefined;
    });
  }
  await unplugUsb(id, driver);
  return {
    sysfs,
    busnum: plugged.busnum,
    resolved,
    bySerial,
    otherSerial,
    onHost,
    uevent: { PRODUCT: uevent.PRODUCT, DEVTYPE: uevent.DEVTYPE, DEVNAME: uevent.DEVNAME },
    fromUevent,
    fromRemoveUevent: fromRemoveUevent?.action,
    block,
    afterUnplug: { listed: resolveUsbDevice(id, spec).nodes.length, nodeExists: node ? existsSync(node.hostPath) : null },
  };
}

await runScenarios({
  async bus() {
    // xhci registers a USB 2 and a USB 3 root hub (Linux Foundation 1d6b:0002 and :0003).
    return listUsbDevices().map((d) => `${d.name} ${d.vendorid}:${d.productid}`);
  },

  async gpu() {
    const gpus = listGpus();
    const resolved = resolveGpuDevice("gpu", gpuDeviceSchema.parse({ type: "gpu", vendor: "0x1af4" }));
    return {
      gpus,
      nodes: resolved.nodes.map((n) => `${n.path} ${n.type} ${n.major}:${n.minor} ${n.mode.toString(8)}`),
      renderD128: statDevice("/dev/dri/renderD128"),
    };
  },

  // The stick first: its last request (blockdev-del) has no effect the
  // guest can wait for, so something must still run while qemu answers it.
  "usb-storage": () => hotplug("usb-storage", "stick1"),
  "usb-kbd": () => hotplug("usb-kbd", "kbd1"),
});
