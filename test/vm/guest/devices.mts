/**
 * Runs INSIDE the VM (test/vm/devices.test.ts boots it with a qemu-xhci USB
 * controller, a virtio GPU and a QMP socket the host serves): the hardware
 * half of the device model, on real (emulated) hardware and Debian's
 * drivers. Each scenario prints one `@@RESULT` line; the host asserts.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync } from "node:fs";

import { gpuDeviceSchema, usbDeviceSchema } from "../../../src/config/devices.js";
import { listGpus, resolveGpuDevice } from "../../../src/devices/gpu.js";
import { statDevice } from "../../../src/devices/host-node.js";
import { listUsbDevices, matchUsbUevent, resolveUsbDevice } from "../../../src/devices/usb.js";
import { Container, type ContainerConfig } from "../../../src/index.js";
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
  const onHost = node && statDevice(node.hostPath!);
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
    afterUnplug: { listed: resolveUsbDevice(id, spec).nodes.length, nodeExists: node ? existsSync(node.hostPath!) : null },
  };
}

const root = mkdtempSync("/tmp/warren-vm-devices-");
const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

/** Containers made by one scenario, stopped and destroyed after it whatever happened. */
async function withContainers<T>(configs: Record<string, ContainerConfig>, body: (cs: Container[]) => Promise<T>): Promise<T> {
  const cs: Container[] = [];
  try {
    for (const [name, config] of Object.entries(configs)) {
      const c = await Container.create(name, { init: IDLE, stopTimeout: 2000, ...config }, { root });
      cs.push(c);
      await c.start();
    }
    return await body(cs);
  } finally {
    for (const c of cs) {
      await c.stop({ timeout: 0 }).catch(() => undefined);
      await c.destroy().catch(() => undefined);
    }
  }
}

/** What a path is inside, as `stat` prints it (`character special file 666 bd 3`), or `missing`. */
async function statInside(c: Container, path: string): Promise<string> {
  const r = await c.execOutput(["/bin/sh", "-c", `stat -c '%F %a %t %T %u %g' ${path} 2>/dev/null || echo missing`]);
  return r.stdout.trim();
}

/** Polls a container until `path` is (or is not) there; returns how it looked. */
async function waitInside(c: Container, path: string, present: boolean): Promise<string> {
  let last: string;
  const deadline = Date.now() + 20_000;
  for (;;) {
    last = await statInside(c, path);
    if ((last !== "missing") === present) return last;
    if (Date.now() > deadline) throw new Error(`${path} still ${last} in ${c.name} after 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
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

  // A `usb` device in two running containers (one with a user namespace,
  // one without): the keyboard plugged while they run appears in both,
  // owned and moded as asked, and goes from both on device_del. The
  // process that started them follows the uevents.
  async "usb-container"() {
    const dongle = { type: "usb", ...QEMU_USB["usb-kbd"], mode: "0640", gid: 5 } as const;
    return withContainers({ "usb-a": { devices: { dongle } }, "usb-b": { namespaces: { user: false }, devices: { dongle } } }, async ([a, b]) => {
      const before = (await a!.devices()).find((d) => d.name === "dongle");
      const plugged = await plugUsb("kbd2", "usb-kbd");
      const path = `/dev/bus/usb/${String(plugged.busnum).padStart(3, "0")}/${String(plugged.devnum).padStart(3, "0")}`;
      const t0 = Date.now();
      const inA = await waitInside(a!, path, true);
      const inB = await waitInside(b!, path, true);
      const seenMs = Date.now() - t0;
      const listed = (await a!.devices()).find((d) => d.name === "dongle");
      // The privileged one opens it through its device program.
      const openB = (await b!.execOutput(["/bin/sh", "-c", `head -c0 ${path} && echo opened`])).stdout.trim();
      await unplugUsb("kbd2", "usb-kbd");
      const goneA = await waitInside(a!, path, false);
      const goneB = await waitInside(b!, path, false);
      const after = (await a!.devices()).find((d) => d.name === "dongle");
      return { before: before?.state, path, inA, inB, seenMs, listed: { state: listed?.state, paths: listed?.paths }, openB, goneA, goneB, after: after?.state };
    });
  },

  // A device plugged before the start is passed at the start; `required:
  // true` with nothing plugged refuses the start, naming the device.
  async "usb-at-start"() {
    const plugged = await plugUsb("kbd3", "usb-kbd");
    const path = `/dev/bus/usb/${String(plugged.busnum).padStart(3, "0")}/${String(plugged.devnum).padStart(3, "0")}`;
    let inside: string;
    try {
      inside = await withContainers({ "usb-c": { devices: { kbd: { type: "usb", ...QEMU_USB["usb-kbd"], serial: "kbd3" } } } }, async ([c]) => statInside(c!, path));
    } finally {
      await unplugUsb("kbd3", "usb-kbd");
    }
    let refused = "";
    const c = await Container.create("usb-d", { init: IDLE, devices: { kbd: { type: "usb", vendorid: "0627", productid: "0001", required: true } } }, { root });
    try {
      await c.start();
      refused = "started";
    } catch (e) {
      refused = `${(e as Error).name}: ${(e as Error).message}`;
    } finally {
      await c.stop({ timeout: 0 }).catch(() => undefined);
      await c.destroy();
    }
    return { path, inside, refused };
  },

  // One virtio GPU's render node opened by two containers at the same
  // time: each opens it, says so in a directory both have, and waits for
  // the other's word before it lets go.
  async "render-shared"() {
    const shared = mkdtempSync("/tmp/warren-vm-shared-");
    chmodSync(shared, 0o777);
    const devices = { gpu: { type: "gpu", vendor: "0x1af4", mode: 0o666 }, shared: { type: "disk", source: shared, path: "/shared" } } as const;
    return withContainers({ "gpu-a": { devices }, "gpu-b": { devices } }, async (cs) => {
      const script = (me: string, other: string) =>
        `exec 3<>/dev/dri/renderD128 && touch /shared/${me} && i=0; while [ ! -e /shared/${other} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; ` +
        `[ -e /shared/${other} ] && echo together; stat -L -c '%t %T' /proc/self/fd/3; ls /dev/dri`;
      const outs = await Promise.all([cs[0]!.execOutput(["/bin/sh", "-c", script("a", "b")]), cs[1]!.execOutput(["/bin/sh", "-c", script("b", "a")])]);
      return { outs: outs.map((o) => ({ code: o.code, out: o.stdout.trim(), err: o.stderr.trim() })) };
    });
  },

  // Without a user namespace the device program allows exactly what was
  // passed: the host's /dev/dri bound in as a plain directory shows card0
  // too, but only renderD128 (the passed one) opens; mknod is refused.
  async "bpf-deny"() {
    const config: ContainerConfig = {
      namespaces: { user: false },
      mounts: [{ type: "bind", source: "/dev/dri", target: "/mnt/dri" }],
      devices: { render: { type: "unix-char", source: "/dev/dri/renderD128", mode: 0o666 } },
    };
    return withContainers({ "gpu-priv": config }, async ([c]) => {
      const run = async (cmd: string) => {
        const r = await c!.execOutput(["/bin/sh", "-c", cmd]);
        return `${r.code} ${(r.stdout + r.stderr).trim()}`;
      };
      return {
        passed: await run("head -c0 /dev/dri/renderD128 && echo opened"),
        passedViaBind: await run("head -c0 /mnt/dri/renderD128 && echo opened"),
        notPassed: await run("head -c0 /mnt/dri/card0 && echo opened"),
        mknod: await run("mknod /tmp/card0 c 226 0 && echo made"),
      };
    });
  },
});
