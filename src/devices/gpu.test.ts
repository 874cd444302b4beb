import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { gpuDeviceSchema } from "../config/devices.js";
import { NotFoundError } from "../errors.js";
import { fakeHost, type FakeHost } from "./fake-host.testutil.js";
import { listGpus, resolveGpuDevice } from "./gpu.js";
import type { StatDevice } from "./host-node.js";

let host: FakeHost;
/** The host's device nodes that exist, by path: what `stat` would say. */
let nodes: Map<string, { type: "c" | "b"; major: number; minor: number }>;
const stat: StatDevice = (p) => nodes.get(p);

/** A DRM card with its render node under a sysfs device directory, linked from /sys/class/drm. */
function drmCard(deviceDir: string, card: number, render: number): void {
  host.add({
    [`sys/${deviceDir}/drm/card${card}/dev`]: `226:${card}\n`,
    [`sys/${deviceDir}/drm/card${card}/device`]: { link: "../.." },
    [`sys/${deviceDir}/drm/renderD${render}/dev`]: `226:${render}\n`,
    [`sys/class/drm/card${card}`]: { link: `../../${deviceDir}/drm/card${card}` },
    [`sys/class/drm/renderD${render}`]: { link: `../../${deviceDir}/drm/renderD${render}` },
    [`sys/class/drm/card${card}-HDMI-A-1`]: { link: `../../${deviceDir}/drm/card${card}` },
  });
}

beforeEach(() => {
  host = fakeHost();
  host.add({ "sys/class/drm/version": "drm 1.1.0 20060810\n" });
  // An Intel iGPU, a virtio GPU (its DRM parent is a virtio device), an
  // NVIDIA GPU with nvidia-drm loaded and one without.
  host.add({ "sys/devices/pci0000:00/0000:00:02.0/vendor": "0x8086\n" });
  drmCard("devices/pci0000:00/0000:00:02.0", 0, 128);
  host.add({ "sys/devices/pci0000:00/0000:00:05.0/vendor": "0x1af4\n", "sys/devices/pci0000:00/0000:00:05.0/virtio1/vendor": "0x1af4\n" });
  drmCard("devices/pci0000:00/0000:00:05.0/virtio1", 1, 129);
  host.add({ "sys/devices/pci0000:00/0000:00:01.0/0000:18:00.0/vendor": "0x10de\n" });
  drmCard("devices/pci0000:00/0000:00:01.0/0000:18:00.0", 2, 130);
  host.add({
    "proc/driver/nvidia/gpus/0000:18:00.0/information": "Model: \t\t NVIDIA H200\nIRQ:   \t\t 45\nDevice Minor: \t 0\nBus Location: \t 0000:18:00.0\n",
    "proc/driver/nvidia/gpus/0000:3b:00.0/information": "Model: \t\t NVIDIA H200\nDevice Minor: \t 1\n",
    "proc/devices": "Character devices:\n  1 mem\n195 nvidia-frontend\n226 drm\n508 nvidia-uvm\n511 nvidia-caps\n\nBlock devices:\n  7 loop\n254 nvidia-modeset\n",
    "dev/nvidia-caps/nvidia-cap1": "",
    "dev/nvidia-caps/nvidia-cap2": "",
  });
  nodes = new Map([
    [`${host.dev}/nvidia0`, { type: "c", major: 195, minor: 0 }],
    [`${host.dev}/nvidiactl`, { type: "c", major: 195, minor: 255 }],
    [`${host.dev}/nvidia-caps/nvidia-cap1`, { type: "c", major: 511, minor: 1 }],
    [`${host.dev}/nvidia-caps/nvidia-cap2`, { type: "c", major: 511, minor: 2 }],
  ]);
});
afterEach(() => host.remove());

const spec = (s: Record<string, unknown> = {}) => gpuDeviceSchema.parse({ type: "gpu", ...s });
const paths = (s: Record<string, unknown>) => resolveGpuDevice("gpu", spec(s), { roots: host, stat }).nodes.map((n) => `${n.path} ${n.major}:${n.minor}`);

describe("gpu spec", () => {
  it("turns vendor names into PCI ids and short PCI addresses into full ones", () => {
    expect(spec({ vendor: "NVIDIA", pci: "18:00.0", id: "2" })).toEqual({ type: "gpu", vendor: "10de", pci: "0000:18:00.0", id: 2, nvidiaRuntime: false, mode: 0o660, uid: 0, gid: 0 });
    expect(spec({ vendor: "0x1AF4" }).vendor).toBe("1af4");
  });

  it("rejects what it cannot match, naming the field", () => {
    const r = gpuDeviceSchema.safeParse({ type: "gpu", vendor: "matrox", pci: "18:00", id: -1 });
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["vendor", "pci", "id"]);
  });
});

describe("gpu discovery", () => {
  it("finds DRM cards and NVIDIA driver GPUs, merged by PCI address", () => {
    expect(listGpus(host)).toEqual([
      { pci: "0000:00:02.0", vendor: "8086", card: 0, drm: [{ name: "card0", major: 226, minor: 0 }, { name: "renderD128", major: 226, minor: 128 }] },
      { pci: "0000:00:05.0", vendor: "1af4", card: 1, drm: [{ name: "card1", major: 226, minor: 1 }, { name: "renderD129", major: 226, minor: 129 }] },
      { pci: "0000:18:00.0", vendor: "10de", card: 2, drm: [{ name: "card2", major: 226, minor: 2 }, { name: "renderD130", major: 226, minor: 130 }], nvidiaMinor: 0 },
      { pci: "0000:3b:00.0", vendor: "10de", drm: [], nvidiaMinor: 1 },
    ]);
  });

  it("without the driver's procfs (a sandbox that proxies only its nodes), takes each /dev/nvidiaN for a GPU", () => {
    host.add({ "proc/driver/nvidia/gpus/0000:18:00.0/information": "", "proc/driver/nvidia/gpus/0000:3b:00.0/information": "", "dev/nvidia0": "", "dev/nvidia1": "" });
    nodes.set(`${host.dev}/nvidia1`, { type: "c", major: 195, minor: 1 });
    expect(listGpus(host, stat).filter((g) => g.vendor === "10de")).toEqual([
      { pci: "0000:18:00.0", vendor: "10de", card: 2, drm: [{ name: "card2", major: 226, minor: 2 }, { name: "renderD130", major: 226, minor: 130 }] },
      { vendor: "10de", drm: [], nvidiaMinor: 0 },
      { vendor: "10de", drm: [], nvidiaMinor: 1 },
    ]);
    expect(paths({ vendor: "nvidia" }).filter((p) => /nvidia\d/.test(p))).toEqual(["/dev/nvidia0 195:0", "/dev/nvidia1 195:1"]);
    // Without a PCI address, a spec that names one matches none of them.
    expect(() => paths({ pci: "3b:00.0" })).toThrow(/no GPU matches pci=0000:3b:00\.0; .*\/dev\/nvidia1 \(vendor 10de\)$/);
  });

  it("passes a card's DRM nodes, with the spec's owner and mode", () => {
    const r = resolveGpuDevice("igpu", spec({ vendor: "intel", uid: 1000, gid: 44, mode: 0o666 }), { roots: host, stat });
    expect(r).toEqual({
      nodes: [
        { hostPath: `${host.dev}/dri/card0`, path: "/dev/dri/card0", type: "c", major: 226, minor: 0, uid: 1000, gid: 44, mode: 0o666 },
        { hostPath: `${host.dev}/dri/renderD128`, path: "/dev/dri/renderD128", type: "c", major: 226, minor: 128, uid: 1000, gid: 44, mode: 0o666 },
      ],
      binds: [],
      mounts: [],
    });
    expect(paths({ id: 1 })).toEqual(["/dev/dri/card1 226:1", "/dev/dri/renderD129 226:129"]);
  });

  it("adds the NVIDIA driver's nodes: the host's when present, else the driver's registered numbers", () => {
    expect(paths({ pci: "0000:18:00.0" })).toEqual([
      "/dev/dri/card2 226:2",
      "/dev/dri/renderD130 226:130",
      "/dev/nvidia0 195:0",
      "/dev/nvidiactl 195:255",
      "/dev/nvidia-uvm 508:0",
      "/dev/nvidia-uvm-tools 508:1",
      "/dev/nvidia-caps/nvidia-cap1 511:1",
      "/dev/nvidia-caps/nvidia-cap2 511:2",
    ]);
    // Both NVIDIA GPUs: each its own /dev/nvidiaN, the shared nodes once.
    expect(paths({ vendor: "nvidia" }).filter((p) => /nvidia\d|ctl/.test(p))).toEqual(["/dev/nvidia0 195:0", "/dev/nvidia1 195:1", "/dev/nvidiactl 195:255"]);
  });

  it("passes nvidia-modeset only when that module is loaded", () => {
    expect(paths({ pci: "3b:00.0" })).not.toContain("/dev/nvidia-modeset 195:254");
    host.add({ "proc/devices": "Character devices:\n195 nvidia-frontend\n195 nvidia-modeset\n" });
    expect(paths({ pci: "3b:00.0" })).toContain("/dev/nvidia-modeset 195:254");
  });

  it("passes every GPU when the spec names none", () => {
    expect(paths({}).filter((p) => p.includes("/dri/card"))).toEqual(["/dev/dri/card0 226:0", "/dev/dri/card1 226:1", "/dev/dri/card2 226:2"]);
  });

  it("fails when nothing matches, listing the GPUs there are", () => {
    expect(() => paths({ vendor: "amd" })).toThrow(NotFoundError);
    expect(() => paths({ vendor: "amd" })).toThrow(
      'device "gpu": no GPU matches vendor=1002; GPUs on this host: 0000:00:02.0 (vendor 8086, card0), 0000:00:05.0 (vendor 1af4, card1), 0000:18:00.0 (vendor 10de, card2), 0000:3b:00.0 (vendor 10de)',
    );
  });

  it("fails when an NVIDIA node is missing and the driver's major is unknown", () => {
    host.add({ "proc/devices": "Character devices:\n226 drm\n" });
    expect(() => paths({ pci: "3b:00.0" })).toThrow(/`.*\/dev\/nvidia1` is missing and the NVIDIA driver's major is not in/);
  });

  it("refuses nvidiaRuntime without an NVIDIA GPU", () => {
    expect(() => resolveGpuDevice("g", spec({ vendor: "intel", nvidiaRuntime: true }), { roots: host, stat })).toThrow(/nvidiaRuntime needs an NVIDIA GPU .* 0000:00:02\.0 \(vendor 8086\)/);
  });

  it("with nvidiaRuntime, binds the driver's libraries and sets LD_LIBRARY_PATH", () => {
    const lib = `${host.root}/usr/local/nvidia/lib64`;
    host.add({
      "usr/local/nvidia/lib64/libnvidia-ml.so.550.54.15": "nvml",
      "usr/local/nvidia/lib64/libnvidia-ml.so.1": { link: "libnvidia-ml.so.550.54.15" },
      "usr/local/nvidia/bin/nvidia-smi": "smi",
    });
    const r = resolveGpuDevice("g", spec({ pci: "3b:00.0", nvidiaRuntime: true }), { roots: host, stat, run: () => undefined, libraryDirs: [lib], binaryDirs: [`${host.root}/usr/local/nvidia/bin`] });
    expect(r.binds).toEqual([
      { source: `${lib}/libnvidia-ml.so.550.54.15`, target: `${lib}/libnvidia-ml.so.1`, readonly: true, isDir: false },
      { source: `${lib}/libnvidia-ml.so.550.54.15`, target: `${lib}/libnvidia-ml.so.550.54.15`, readonly: true, isDir: false },
      { source: `${host.root}/usr/local/nvidia/bin/nvidia-smi`, target: `${host.root}/usr/local/nvidia/bin/nvidia-smi`, readonly: true, isDir: false },
    ]);
    expect(r.env).toEqual({ LD_LIBRARY_PATH: lib });
    expect(() => resolveGpuDevice("g", spec({ pci: "3b:00.0", nvidiaRuntime: true }), { roots: host, stat, run: () => undefined, libraryDirs: [], binaryDirs: [] })).toThrow(
      /nvidiaRuntime: the NVIDIA driver's libraries \(libnvidia-ml\.so\) were not found/,
    );
  });
});
