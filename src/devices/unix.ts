/**
 * `unix-char` and `unix-block`: one host node, by its path or by its
 * numbers. warren makes its own node from type/major/minor (a container with
 * a user namespace could not mknod one), so the host's node only tells the
 * numbers; with `required: false` a missing one is waited for.
 * @module
 */
import { statSync, type Stats } from "node:fs";
import { join } from "node:path";

import type { UnixDeviceSpec } from "../config/devices.js";
import { ConfigError } from "../errors.js";
import { splitDev } from "../linux/dev.js";
import { codeOf } from "../linux/errno.js";
import type { DeviceKind, HostView, ResolvedDevice } from "./types.js";
import type { Uevent } from "./uevent.js";

/** A host path seen through `host` (a fake /dev in unit tests). */
export function onHost(path: string, host: HostView): string {
  if (path === "/dev" || path.startsWith("/dev/")) return join(host.dev, path.slice(4));
  if (path === "/sys" || path.startsWith("/sys/")) return join(host.sys, path.slice(4));
  return path;
}

export function fieldError(name: string, field: string, message: string): ConfigError {
  return new ConfigError([{ path: `devices.${name}.${field}`, message }]);
}

function statOrMissing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if (codeOf(e) === "ENOENT" || codeOf(e) === "ENOTDIR") return undefined;
    throw e;
  }
}

export function unixKind(type: "c" | "b"): DeviceKind<UnixDeviceSpec> {
  const kind = type === "c" ? "unix-char" : "unix-block";
  const what = type === "c" ? "a character device" : "a block device";
  return {
    type: kind as UnixDeviceSpec["type"],
    resolve(name: string, spec: UnixDeviceSpec, host: HostView): ResolvedDevice {
      let { major, minor } = spec;
      if (spec.source !== undefined) {
        const st = statOrMissing(onHost(spec.source, host));
        if (!st && major === undefined) {
          if (!spec.required) return { nodes: [], binds: [], mounts: [], waiting: `\`${spec.source}\` does not exist yet` };
          throw fieldError(name, "source", `\`${spec.source}\` does not exist (required: false waits for it)`);
        }
        if (st) {
          if (!(type === "c" ? st.isCharacterDevice() : st.isBlockDevice())) throw fieldError(name, "source", `\`${spec.source}\` is not ${what}`);
          const numbers = splitDev(st.rdev);
          if (major !== undefined && (numbers.major !== major || numbers.minor !== minor)) {
            throw fieldError(name, "major", `\`${spec.source}\` is ${numbers.major}:${numbers.minor}, not ${major}:${minor}`);
          }
          ({ major, minor } = numbers);
        }
      }
      return {
        nodes: [
          {
            ...(spec.source !== undefined ? { hostPath: spec.source } : {}),
            path: spec.path ?? spec.source!,
            type,
            major: major!,
            minor: minor!,
            uid: spec.uid,
            gid: spec.gid,
            mode: spec.mode,
          },
        ],
        binds: [],
        mounts: [],
      };
    },
    affectedBy(spec: UnixDeviceSpec, ev: Uevent): boolean {
      // Only a device that waits for its node follows it.
      if (spec.required || (ev.action !== "add" && ev.action !== "remove")) return false;
      if ((ev.subsystem === "block") !== (type === "b")) return false;
      if (spec.source !== undefined && ev.devname !== undefined && `/dev/${ev.devname}` === spec.source) return true;
      return spec.major !== undefined && ev.major === spec.major && ev.minor === spec.minor;
    },
  };
}
