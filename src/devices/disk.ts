/**
 * `disk`: a host directory or file bound at `path` (read-only, idmapped if
 * asked), or a block device whose filesystem is mounted there (a detached
 * mount made on the host, so nothing shows in the host's mount table).
 * @module
 */
import { execFileSync } from "node:child_process";
import { statSync, type Stats } from "node:fs";

import type { DiskDeviceSpec } from "../config/devices.js";
import { codeOf } from "../linux/errno.js";
import type { DeviceKind, HostView, ResolvedDevice } from "./types.js";
import { fieldError, onHost } from "./unix.js";

/** The filesystem type on a block device, as blkid reads its superblock. */
function probeFsType(source: string): string | undefined {
  try {
    const out = execFileSync("blkid", ["-o", "value", "-s", "TYPE", "--", source], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return /^[a-z0-9_.-]{1,32}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

export const diskKind: DeviceKind<DiskDeviceSpec> = {
  type: "disk",
  resolve(name: string, spec: DiskDeviceSpec, host: HostView): ResolvedDevice {
    let st: Stats;
    try {
      st = statSync(onHost(spec.source, host));
    } catch (e) {
      if (codeOf(e) !== "ENOENT" || spec.required) throw fieldError(name, "source", `\`${spec.source}\`: ${codeOf(e)}`);
      return { nodes: [], binds: [], mounts: [], waiting: `\`${spec.source}\` does not exist` };
    }
    if (st.isBlockDevice()) {
      if (spec.idmap) throw fieldError(name, "idmap", "applies to a directory or file, not a block device");
      const fstype = spec.fstype ?? probeFsType(spec.source);
      if (!fstype) throw fieldError(name, "fstype", `no filesystem found on \`${spec.source}\` by blkid: give fstype`);
      return { nodes: [], binds: [], mounts: [{ source: spec.source, fstype, target: spec.path, readonly: spec.readonly }] };
    }
    if (!st.isDirectory() && !st.isFile()) throw fieldError(name, "source", `\`${spec.source}\` is not a directory, a file or a block device`);
    if (spec.fstype !== undefined) throw fieldError(name, "fstype", "applies to a block device only");
    return {
      nodes: [],
      binds: [{ source: spec.source, target: spec.path, readonly: spec.readonly, idmap: spec.idmap, isDir: st.isDirectory() }],
      mounts: [],
    };
  },
};
