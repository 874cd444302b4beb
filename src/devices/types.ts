/**
 * What a device kind resolves its spec to, whatever the kind: device nodes
 * warren makes on the host and binds in, host paths bound in, and block
 * devices whose filesystem is mounted. The container layer
 * (src/container/devices.ts) does the rest the same way for every kind:
 * the nodes, the binds, the device program of a privileged container,
 * live injection, removal.
 * @module
 */
import type { Uevent } from "./uevent.js";

/** A device node passed in: made by warren (mknod on the host), then bound at `path`. */
export interface DeviceNode {
  /** The host's node, when there is one (informational: warren makes its own from type/major/minor). */
  hostPath?: string;
  /** Where it appears inside the container. */
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  /** Owner and permission bits inside (the node on the host gets the mapped ids). */
  uid: number;
  gid: number;
  mode: number;
}

/** A host file or directory bound in (a disk, a GPU driver's libraries). */
export interface DeviceBind {
  source: string;
  target: string;
  readonly: boolean;
  /** Idmapped through the container's user namespace (host owners show as the container's). */
  idmap?: boolean;
  /** Whether `source` is a directory (else a file). */
  isDir: boolean;
}

/** A block device whose filesystem is mounted at `target` (detached on the host, then moved in). */
export interface DeviceFsMount {
  source: string;
  fstype: string;
  target: string;
  readonly: boolean;
}

export interface ResolvedDevice {
  nodes: DeviceNode[];
  /** Read-only host binds and other host paths. */
  binds: DeviceBind[];
  mounts: DeviceFsMount[];
  /** Set when the source is missing and the device waits for it (`required: false`): why. */
  waiting?: string;
  /**
   * Environment the container's processes need for the binds to work (the
   * GPU runtime's `LD_LIBRARY_PATH`): given to the init and to every exec.
   */
  env?: Record<string, string>;
}

/** Where a kind looks at the host (injectable: unit tests give a fake tree). */
export interface HostView {
  /** The host's /dev (default "/dev"). */
  dev: string;
  /** The host's /sys (default "/sys"). */
  sys: string;
  /** The host's /proc (default "/proc"). */
  proc: string;
}

export const HOST: HostView = { dev: "/dev", sys: "/sys", proc: "/proc" };

/**
 * A device kind: a module of src/devices/ registered in kinds.ts. Its spec
 * was validated by its schema in src/config/devices.ts.
 */
export interface DeviceKind<S extends { type: string }> {
  readonly type: S["type"];
  /**
   * The nodes and binds of this device on this host now. Throws a
   * ConfigError naming `devices.<name>.<field>` for what cannot be passed
   * (a missing required source, a node of the wrong type). A device that
   * waits for its host node returns no nodes and `waiting`.
   */
  resolve(name: string, spec: S, host: HostView): ResolvedDevice;
  /**
   * Whether a kernel uevent may change what `resolve` returns (a node of
   * this device appeared or went): the device is resolved again. Kinds
   * without hotplug leave it out.
   */
  affectedBy?(spec: S, event: Uevent): boolean;
  /**
   * Whether a running container's device follows the host (uevents make it
   * resolve again). Default: when the spec says `required: false`.
   */
  follows?(spec: S): boolean;
}
