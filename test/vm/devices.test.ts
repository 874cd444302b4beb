/**
 * USB and GPU hardware in a VM (scripts/vm run.sh --hardware): a qemu-xhci
 * controller and a virtio GPU with Debian's drivers, USB devices hot-added
 * and removed over QMP while the guest runs (test/vm/guest/devices.mts),
 * and what src/devices/usb.ts and gpu.ts make of them there. One boot runs
 * every scenario; each `it` checks one.
 */
import { beforeAll, describe, expect, it } from "vitest";

import { runGuestScript, vmAvailable, type GuestReport } from "../helpers/vm.js";

const vm = await vmAvailable();
let guest: GuestReport | undefined;

beforeAll(async () => {
  if (!vm.ok) return;
  guest = await runGuestScript("devices", { hotplug: true, timeoutMs: 300_000 });
}, 360_000);

const result = (name: string): any => guest!.result(name);

/** What a hot-plugged device must look like, from sysfs to usb.ts's node and back to nothing. */
function expectHotplugged(r: any, ids: { idVendor: string; idProduct: string }, serial: string): void {
  expect(r.sysfs).toMatchObject({ ...ids, serial });
  const path = `/dev/bus/usb/${String(r.busnum).padStart(3, "0")}/${String(r.resolved.nodes[0]?.path ?? "").slice(-3)}`;
  expect(r.resolved.nodes).toHaveLength(1);
  const node = r.resolved.nodes[0];
  expect(node).toMatchObject({ hostPath: path, path, type: "c", major: 189, mode: 0o666, uid: 0, gid: 0 });
  // devtmpfs made the node usb.ts computed, with the numbers sysfs gave.
  expect(r.onHost).toEqual({ type: "c", major: node.major, minor: node.minor });
  expect(r.bySerial).toEqual([path]);
  expect(r.otherSerial).toEqual([]);
  // The kernel's uevent fields are what matchUsbUevent expects.
  expect(r.uevent).toEqual({ PRODUCT: expect.stringMatching(new RegExp(`^${parseInt(ids.idVendor, 16).toString(16)}/${parseInt(ids.idProduct, 16).toString(16)}/`)), DEVTYPE: "usb_device", DEVNAME: path.slice(5) });
  expect(r.fromUevent).toEqual({ action: "add", node });
  expect(r.fromRemoveUevent).toBe("remove");
  expect(r.afterUnplug).toEqual({ listed: 0, nodeExists: false });
}

describe("USB and GPU hardware in a VM", () => {
  it("has an xhci bus with its USB 2 and USB 3 root hubs", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    expect(result("bus")).toEqual(expect.arrayContaining([expect.stringMatching(/^usb\d 1d6b:0002$/), expect.stringMatching(/^usb\d 1d6b:0003$/)]));
  });

  it("finds the virtio GPU's DRM card and render node", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const g = result("gpu");
    expect(g.renderD128).toEqual({ type: "c", major: 226, minor: 128 });
    expect(g.gpus).toEqual([{ pci: expect.stringMatching(/^0000:00:[0-9a-f]{2}\.0$/), vendor: "1af4", card: 0, drm: [{ name: "card0", major: 226, minor: 0 }, { name: "renderD128", major: 226, minor: 128 }] }]);
    expect(g.nodes).toEqual(["/dev/dri/card0 c 226:0 660", "/dev/dri/renderD128 c 226:128 660"]);
  });

  it("a hot-added usb-kbd appears with qemu's ids, usb.ts finds its node, and it goes on device_del", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    expectHotplugged(result("usb-kbd"), { idVendor: "0627", idProduct: "0001" }, "kbd1");
  });

  it("a hot-added usb-storage stick appears with its disk, and goes on device_del", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = result("usb-storage");
    expectHotplugged(r, { idVendor: "46f4", idProduct: "0001" }, "stick1");
    expect(r.block).toMatch(/^sd[ab] b 131072$/); // 64 MiB in 512-byte sectors
    expect(guest!.qmp.filter((q) => q.error)).toEqual([]);
  });

  it("a usb device follows a plug and an unplug inside two running containers, with and without a user namespace", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = result("usb-container");
    expect(r.before).toBe("waiting");
    // usbcore's major 189; a USB 1/2 device's minor is (bus-1)*128 + dev-1.
    expect(r.inA).toMatch(/^character special file 640 bd [0-9a-f]+ 0 5$/);
    expect(r.inB).toBe(r.inA);
    expect(r.listed).toEqual({ state: "attached", paths: [r.path] });
    expect(r.openB).toBe("opened");
    expect(r.goneA).toBe("missing");
    expect(r.goneB).toBe("missing");
    expect(r.after).toBe("waiting");
  });

  it("a usb device plugged before the start is there from the start; required: true with nothing plugged refuses the start", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = result("usb-at-start");
    expect(r.inside).toMatch(/^character special file 660 bd [0-9a-f]+ 0 0$/);
    expect(r.refused).toMatch(/^NotFoundError: .*device "kbd": no USB device matches vendorid=0627 productid=0001 \(required: true\)/);
  });

  it("two containers have the virtio GPU's render node open at the same time", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = result("render-shared");
    // "together": each saw the other's word while holding the node open.
    expect(r.outs).toEqual([
      { code: 0, out: "together\ne2 80\ncard0\nrenderD128", err: "" },
      { code: 0, out: "together\ne2 80\ncard0\nrenderD128", err: "" },
    ]);
  });

  it("without a user namespace the device program allows the passed node only", (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = result("bpf-deny");
    expect(r.passed).toBe("0 opened");
    expect(r.passedViaBind).toBe("0 opened");
    expect(r.notPassed).toMatch(/^1 .*card0.*Operation not permitted/);
    expect(r.mknod).toMatch(/^1 .*Operation not permitted/);
  });
});
