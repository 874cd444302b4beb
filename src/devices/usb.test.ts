import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { usbDeviceSchema } from "../config/devices.js";
import { NotFoundError } from "../errors.js";
import { fakeHost, type FakeHost } from "./fake-host.testutil.js";
import { listUsbDevices, matchUsbUevent, resolveUsbDevice } from "./usb.js";

let host: FakeHost;

/** A device directory under sys/devices, linked from sys/bus/usb/devices as the kernel does. */
function plug(name: string, a: { vid: string; pid: string; bus: number; dev: number; minor: number; serial?: string }): void {
  const real = `sys/devices/pci0000:00/0000:00:04.0/usb${a.bus}/${name}`;
  host.add({
    [`${real}/idVendor`]: `${a.vid}\n`,
    [`${real}/idProduct`]: `${a.pid}\n`,
    [`${real}/busnum`]: `${a.bus}\n`,
    [`${real}/devnum`]: `${a.dev}\n`,
    [`${real}/dev`]: `189:${a.minor}\n`,
    ...(a.serial ? { [`${real}/serial`]: `${a.serial}\n` } : {}),
    [`sys/bus/usb/devices/${name}`]: { link: `../../../devices/pci0000:00/0000:00:04.0/usb${a.bus}/${name}` },
  });
}

beforeEach(() => {
  host = fakeHost();
  plug("usb1", { vid: "1d6b", pid: "0003", bus: 1, dev: 1, minor: 0 }); // the root hub
  plug("1-1", { vid: "0627", pid: "0001", bus: 1, dev: 2, minor: 1, serial: "42" }); // qemu's usb-kbd
  plug("1-2", { vid: "0627", pid: "0001", bus: 1, dev: 3, minor: 2, serial: "43" });
  plug("1-3", { vid: "0781", pid: "5567", bus: 1, dev: 12, minor: 11 }); // a stick, no serial
  // An interface: no ids, no dev; must not count as a device.
  host.add({ "sys/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0/bInterfaceClass": "03\n" });
  host.add({ "sys/bus/usb/devices/1-1:1.0": { link: "../../../devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0" } });
});
afterEach(() => host.remove());

const spec = (s: Record<string, unknown>) => usbDeviceSchema.parse({ type: "usb", ...s });

describe("usb spec", () => {
  it("normalises ids to lower case and fills Incus's defaults", () => {
    expect(spec({ vendorid: "04B8", productid: "0E03" })).toEqual({
      type: "usb",
      vendorid: "04b8",
      productid: "0e03",
      required: false,
      mode: 0o660,
      uid: 0,
      gid: 0,
    });
    expect(spec({ vendorid: "0627", mode: "0640", busnum: "3" })).toMatchObject({ mode: 0o640, busnum: 3 });
  });

  it("rejects malformed fields, naming them", () => {
    const bad = usbDeviceSchema.safeParse({ type: "usb", vendorid: "627", productid: "xyz1", mode: 0o1777, busnum: 0, extra: 1 });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join(".") || (i as { keys?: string[] }).keys?.join(","));
    expect(paths).toEqual(expect.arrayContaining(["vendorid", "productid", "mode", "busnum", "extra"]));
  });
});

describe("usb discovery", () => {
  it("lists devices, not interfaces, with their numbers", () => {
    expect(listUsbDevices(host.sys).map((d) => `${d.name} ${d.vendorid}:${d.productid} ${d.busnum}/${d.devnum} 189:${d.minor} ${d.serial ?? "-"}`)).toEqual([
      "1-1 0627:0001 1/2 189:1 42",
      "1-2 0627:0001 1/3 189:2 43",
      "1-3 0781:5567 1/12 189:11 -",
      "usb1 1d6b:0003 1/1 189:0 -",
    ]);
  });

  it("passes every matching device's /dev/bus/usb node", () => {
    const r = resolveUsbDevice("kbd", spec({ vendorid: "0627", productid: "0001", uid: 1000, gid: 20 }), host);
    expect(r.binds).toEqual([]);
    expect(r.nodes).toEqual([
      { hostPath: `${host.dev}/bus/usb/001/002`, path: "/dev/bus/usb/001/002", type: "c", major: 189, minor: 1, uid: 1000, gid: 20, mode: 0o660 },
      { hostPath: `${host.dev}/bus/usb/001/003`, path: "/dev/bus/usb/001/003", type: "c", major: 189, minor: 2, uid: 1000, gid: 20, mode: 0o660 },
    ]);
  });

  it("narrows by serial, bus and device number; a vendor alone matches all its products", () => {
    const paths = (s: Record<string, unknown>) => resolveUsbDevice("x", spec(s), host).nodes.map((n) => n.path);
    expect(paths({ vendorid: "0627", serial: "43" })).toEqual(["/dev/bus/usb/001/003"]);
    expect(paths({ vendorid: "0627", devnum: 2 })).toEqual(["/dev/bus/usb/001/002"]);
    expect(paths({ vendorid: "0627", busnum: 2 })).toEqual([]);
    expect(paths({ vendorid: "0781" })).toEqual(["/dev/bus/usb/001/012"]);
  });

  it("fails a required spec with nothing plugged in, naming the device and the ids", () => {
    expect(() => resolveUsbDevice("dongle", spec({ vendorid: "1234", productid: "5678", required: true }), host)).toThrow(NotFoundError);
    expect(() => resolveUsbDevice("dongle", spec({ vendorid: "1234", productid: "5678", required: true }), host)).toThrow(
      'device "dongle": no USB device matches vendorid=1234 productid=5678 (required: true)',
    );
    expect(resolveUsbDevice("dongle", spec({ vendorid: "1234" }), host).nodes).toEqual([]);
  });

  it("finds nothing (and does not throw) on a host without a USB bus", () => {
    expect(listUsbDevices(`${host.root}/nowhere`)).toEqual([]);
  });
});

describe("usb uevents", () => {
  // What usbcore sends when qemu's usb-kbd is hot-added on bus 1 as device 4.
  const kbd = {
    ACTION: "add",
    DEVPATH: "/devices/pci0000:00/0000:00:04.0/usb1/1-4",
    SUBSYSTEM: "usb",
    DEVTYPE: "usb_device",
    PRODUCT: "627/1/0",
    TYPE: "0/0/0",
    BUSNUM: "001",
    DEVNUM: "004",
    MAJOR: "189",
    MINOR: "3",
    DEVNAME: "bus/usb/001/004",
    SEQNUM: "1234",
  };

  it("matches an added device by the hex ids in PRODUCT and gives its node", () => {
    expect(matchUsbUevent(spec({ vendorid: "0627", productid: "0001", mode: 0o600 }), kbd, host)).toEqual({
      action: "add",
      node: { hostPath: `${host.dev}/bus/usb/001/004`, path: "/dev/bus/usb/001/004", type: "c", major: 189, minor: 3, uid: 0, gid: 0, mode: 0o600 },
    });
    expect(matchUsbUevent(spec({ vendorid: "0627", productid: "0001" }), { ...kbd, ACTION: "remove" }, host)?.action).toBe("remove");
  });

  it("ignores other devices, interfaces, other subsystems and other actions", () => {
    const s = spec({ vendorid: "0627", productid: "0001" });
    expect(matchUsbUevent(spec({ vendorid: "0627", productid: "0002" }), kbd, host)).toBeUndefined();
    expect(matchUsbUevent(spec({ vendorid: "0627", busnum: 2 }), kbd, host)).toBeUndefined();
    expect(matchUsbUevent(s, { ...kbd, DEVTYPE: "usb_interface", PRODUCT: "627/1/0" }, host)).toBeUndefined();
    expect(matchUsbUevent(s, { ...kbd, SUBSYSTEM: "hidraw" }, host)).toBeUndefined();
    expect(matchUsbUevent(s, { ...kbd, ACTION: "bind" }, host)).toBeUndefined();
    expect(matchUsbUevent(s, { ...kbd, MAJOR: undefined }, host)).toBeUndefined();
  });

  it("checks a serial against sysfs on add; matches a remove without it", () => {
    host.add({ "sys/devices/pci0000:00/0000:00:04.0/usb1/1-4/serial": "42\n" });
    expect(matchUsbUevent(spec({ vendorid: "0627", serial: "42" }), kbd, host)?.action).toBe("add");
    expect(matchUsbUevent(spec({ vendorid: "0627", serial: "43" }), kbd, host)).toBeUndefined();
    expect(matchUsbUevent(spec({ vendorid: "0627", serial: "43" }), { ...kbd, ACTION: "remove" }, host)?.action).toBe("remove");
  });
});

describe("usbKind in the device core", () => {
  it("always follows the host, and is concerned by the uevents of a matching device only", async () => {
    const { usbKind } = await import("./usb.js");
    const s = usbDeviceSchema.parse({ type: "usb", vendorid: "0627", productid: "0001", required: true });
    expect(usbKind.follows!(s)).toBe(true);
    const env = { ACTION: "add", SUBSYSTEM: "usb", DEVTYPE: "usb_device", PRODUCT: "627/1/0", BUSNUM: "001", DEVNUM: "004", MAJOR: "189", MINOR: "3", DEVNAME: "bus/usb/001/004" };
    const ev = (e: Record<string, string>) => ({ action: e.ACTION!, devpath: "/devices/x", env: e });
    expect(usbKind.affectedBy!(s, ev(env))).toBe(true);
    expect(usbKind.affectedBy!(s, ev({ ...env, ACTION: "remove" }))).toBe(true);
    expect(usbKind.affectedBy!(s, ev({ ...env, PRODUCT: "627/2/0" }))).toBe(false);
    expect(usbKind.affectedBy!(s, ev({ ...env, DEVTYPE: "usb_interface" }))).toBe(false);
  });
});
