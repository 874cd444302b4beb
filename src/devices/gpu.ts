/**
 * The `gpu` device kind: the DRM nodes (`/dev/dri/cardN`, `renderD*`) of
 * the GPUs that match, and for NVIDIA GPUs the driver's own nodes
 * (`/dev/nvidia<N>`, `nvidiactl`, `nvidia-uvm`, `nvidia-uvm-tools`,
 * `nvidia-modeset`, `/dev/nvidia-caps/*`) and, with `nvidiaRuntime`, the
 * driver's user-space libraries and tools (see nvidia-runtime.ts).
 *
 * GPUs are found two ways, merged by PCI address: DRM cards in
 * `/sys/class/drm` (every vendor, NVIDIA only when nvidia-drm is loaded),
 * and NVIDIA GPUs in `/proc/driver/nvidia/gpus/<pci>` (compute machines
 * often run without nvidia-drm). A card's PCI address is the first PCI
 * device among the ancestors of its `device` link (virtio-gpu's parent is a
 * virtio device, whose parent is the PCI function). Where neither is there
 * but `/dev/nvidia<N>` nodes are (a sandbox such as gVisor proxies the
 * driver's nodes without its procfs or sysfs), each node is an NVIDIA GPU
 * of unknown PCI address.
 * @module
 */
import { readdirSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";

import type { GpuDeviceSpec } from "../config/devices.js";
import { NotFoundError } from "../errors.js";
import { HOST_ROOTS, parseDevNumbers, readAttr, statDevice, type HostDeviceNode, type HostRoots, type StatDevice } from "./host-node.js";
import { nvidiaRuntimeFiles, type NvidiaRuntimeOptions } from "./nvidia-runtime.js";
import { GPU_VENDORS, PCI_ADDRESS } from "../config/pci.js";
import type { DeviceKind, ResolvedDevice } from "./types.js";

export { GPU_VENDORS } from "../config/pci.js";
export type { GpuDeviceInput, GpuDeviceSpec } from "../config/devices.js";

/** A device node as sysfs or stat describes it. */
interface NodeInfo {
  name: string;
  major: number;
  minor: number;
}

/** One GPU on the host. */
export interface GpuInfo {
  /** PCI address, `0000:01:00.0`; unknown for a GPU seen only as a `/dev/nvidia<N>` node. */
  pci?: string;
  /** PCI vendor id, 4 hex digits. */
  vendor: string;
  /** DRM card number, when the GPU has a DRM driver. */
  card?: number;
  /** Its DRM nodes (`card0`, `renderD128`), placed under `/dev/dri`. */
  drm: NodeInfo[];
  /** The NVIDIA driver's minor number (`/dev/nvidia<minor>`), for an NVIDIA GPU with the driver loaded. */
  nvidiaMinor?: number;
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  } catch {
    return [];
  }
}

/** The PCI function a sysfs device directory belongs to (itself or an ancestor). */
function pciAncestor(dir: string): string | undefined {
  for (let d = dir; d !== "/" && d !== "."; d = dirname(d)) if (PCI_ADDRESS.test(basename(d))) return d;
  return undefined;
}

/** Every GPU: DRM cards and NVIDIA driver GPUs, merged by PCI address, in PCI order. */
export function listGpus(roots: Partial<HostRoots> = {}, stat: StatDevice = statDevice): GpuInfo[] {
  const { sys, dev, proc } = { ...HOST_ROOTS, ...roots };
  const gpus = new Map<string, GpuInfo>();
  const vendorOf = (pciDir: string) => readAttr(join(pciDir, "vendor"))?.toLowerCase().replace(/^0x/, "");
  for (const name of list(join(sys, "class/drm"))) {
    const card = /^card(\d+)$/.exec(name);
    if (!card) continue; // connectors (card0-HDMI-A-1), render nodes (listed with their card), version
    const device = realpathOrUndefined(join(sys, "class/drm", name, "device"));
    const pciDir = device && pciAncestor(device);
    if (!device || !pciDir) continue; // a platform or virtual (vkms) card: not a PCI GPU
    const pci = basename(pciDir);
    const drm: NodeInfo[] = [];
    for (const node of list(join(device, "drm"))) {
      if (!/^(card|renderD)\d+$/.test(node)) continue;
      const numbers = parseDevNumbers(readAttr(join(device, "drm", node, "dev")));
      if (numbers) drm.push({ name: node, ...numbers });
    }
    gpus.set(pci, { pci, vendor: vendorOf(pciDir) ?? "", card: Number(card[1]), drm });
  }
  for (const pci of list(join(proc, "driver/nvidia/gpus"))) {
    const info = readAttr(join(proc, "driver/nvidia/gpus", pci, "information")) ?? "";
    const minor = /^Device Minor:\s*(\d+)\s*$/m.exec(info);
    if (!minor) continue;
    const gpu = gpus.get(pci.toLowerCase()) ?? { pci: pci.toLowerCase(), vendor: GPU_VENDORS.nvidia, drm: [] };
    gpu.nvidiaMinor = Number(minor[1]);
    gpus.set(gpu.pci!, gpu);
  }
  const sorted = [...gpus.values()].sort((a, b) => a.pci!.localeCompare(b.pci!));
  if (!sorted.some((g) => g.nvidiaMinor !== undefined)) {
    for (const name of list(dev)) {
      const n = /^nvidia(\d+)$/.exec(name);
      if (n && stat(join(dev, name))?.type === "c") sorted.push({ vendor: GPU_VENDORS.nvidia, drm: [], nvidiaMinor: Number(n[1]) });
    }
  }
  return sorted;
}

/** Whether a GPU is one the spec asks for (every given field). */
export function gpuMatches(spec: GpuDeviceSpec, gpu: GpuInfo): boolean {
  return (spec.vendor === undefined || gpu.vendor === spec.vendor) && (spec.pci === undefined || gpu.pci === spec.pci) && (spec.id === undefined || gpu.card === spec.id);
}

/** Character-device majors by driver name, from `/proc/devices`. */
function charMajors(proc: string): Map<string, number> {
  const out = new Map<string, number>();
  const text = readAttr(join(proc, "devices")) ?? "";
  const chars = text.split(/^Block devices:/m)[0]!;
  for (const m of chars.matchAll(/^\s*(\d+)\s+(\S+)\s*$/gm)) out.set(m[2]!, Number(m[1]));
  return out;
}

export interface GpuResolveOptions extends NvidiaRuntimeOptions {
  roots?: Partial<HostRoots>;
  /** How host nodes are stat'ed (a fake in tests). */
  stat?: StatDevice;
}

/**
 * The nodes (and, with `nvidiaRuntime`, the binds and environment) of the
 * GPUs that match `spec`. Throws {@link NotFoundError} when none matches,
 * or when `nvidiaRuntime` is asked without an NVIDIA GPU or its libraries.
 */
export function resolveGpuDevice(name: string, spec: GpuDeviceSpec, opts: GpuResolveOptions = {}): ResolvedDevice {
  const roots = { ...HOST_ROOTS, ...opts.roots };
  const stat = opts.stat ?? statDevice;
  const all = listGpus(roots, stat);
  const gpus = all.filter((g) => gpuMatches(spec, g));
  if (gpus.length === 0) {
    const found = all.map((g) => `${label(g)} (vendor ${g.vendor}${g.card === undefined ? "" : `, card${g.card}`})`).join(", ") || "none";
    throw new NotFoundError(`device "${name}": no GPU matches${describe(spec)}; GPUs on this host: ${found}`);
  }
  const nodes: HostDeviceNode[] = [];
  const add = (hostName: string, n: { type: "c" | "b"; major: number; minor: number }) => {
    if (nodes.some((x) => x.path === `/dev/${hostName}`)) return;
    nodes.push({ hostPath: join(roots.dev, hostName), path: `/dev/${hostName}`, ...n, uid: spec.uid, gid: spec.gid, mode: spec.mode });
  };
  for (const g of gpus) for (const n of g.drm) add(`dri/${n.name}`, { type: "c", major: n.major, minor: n.minor });

  const nvidia = gpus.filter((g) => g.nvidiaMinor !== undefined);
  if (nvidia.length > 0) {
    // The host's node when it is there (its numbers are the truth); else
    // the numbers the driver registered, as nvidia-container-cli does when
    // it creates missing nodes: nvidia-frontend (195) with minor N for
    // GPU N, 255 for nvidiactl, 254 for nvidia-modeset; nvidia-uvm with
    // minors 0 and 1.
    const majors = charMajors(roots.proc);
    const nvMajor = majors.get("nvidia-frontend") ?? majors.get("nvidia");
    const node = (hostName: string, major: number | undefined, minor: number, required: boolean) => {
      const st = stat(join(roots.dev, hostName));
      if (st) add(hostName, { type: st.type, major: st.major, minor: st.minor });
      else if (major !== undefined) add(hostName, { type: "c", major, minor });
      else if (required) throw new NotFoundError(`device "${name}": \`${join(roots.dev, hostName)}\` is missing and the NVIDIA driver's major is not in \`${join(roots.proc, "devices")}\``);
    };
    for (const g of nvidia) node(`nvidia${g.nvidiaMinor}`, nvMajor, g.nvidiaMinor!, true);
    node("nvidiactl", nvMajor, 255, true);
    node("nvidia-uvm", majors.get("nvidia-uvm"), 0, false);
    node("nvidia-uvm-tools", majors.get("nvidia-uvm"), 1, false);
    // Only when nvidia-modeset is loaded: the node alone would not open.
    node("nvidia-modeset", majors.has("nvidia-modeset") ? nvMajor : undefined, 254, false);
    for (const cap of list(join(roots.dev, "nvidia-caps"))) {
      const st = stat(join(roots.dev, "nvidia-caps", cap));
      if (st) add(`nvidia-caps/${cap}`, { type: st.type, major: st.major, minor: st.minor });
    }
  }

  if (!spec.nvidiaRuntime) return { nodes, binds: [], mounts: [] };
  if (nvidia.length === 0) {
    throw new NotFoundError(`device "${name}": nvidiaRuntime needs an NVIDIA GPU with its driver loaded; the GPUs matched are ${gpus.map((g) => `${label(g)} (vendor ${g.vendor})`).join(", ")}`);
  }
  const runtime = nvidiaRuntimeFiles(opts);
  if (!runtime.binds.some((b) => /\/libnvidia-ml\.so[^/]*$/.test(b.target))) {
    throw new NotFoundError(`device "${name}": nvidiaRuntime: the NVIDIA driver's libraries (libnvidia-ml.so) were not found (searched ${runtime.searched.join(", ")})`);
  }
  // The driver's files, read-only at their host paths (regular files: a
  // library's symlink chain was followed by the search).
  const binds = runtime.binds.map((b) => ({ source: b.source, target: b.target, readonly: true, isDir: false }));
  return { nodes, binds, mounts: [], env: runtime.env };
}

/** The `gpu` kind of the device core (no hotplug: a GPU does not come and go). */
export const gpuKind: DeviceKind<GpuDeviceSpec> = {
  type: "gpu",
  resolve: (name, spec, host) => resolveGpuDevice(name, spec, { roots: host }),
};

/** A GPU's name in messages: its PCI address, or its NVIDIA node. */
const label = (g: GpuInfo) => g.pci ?? `/dev/nvidia${g.nvidiaMinor}`;

function describe(spec: GpuDeviceSpec): string {
  const parts: string[] = [];
  if (spec.vendor !== undefined) parts.push(`vendor=${spec.vendor}`);
  if (spec.pci !== undefined) parts.push(`pci=${spec.pci}`);
  if (spec.id !== undefined) parts.push(`id=${spec.id}`);
  return parts.length ? ` ${parts.join(" ")}` : "";
}
