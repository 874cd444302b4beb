/**
 * The environment devices add to a container's processes (a GPU runtime's
 * `LD_LIBRARY_PATH`), kept apart from devices.ts so an exec does not load
 * the device kinds.
 * @module
 */
import type { DeviceState } from "./state.js";

/** Variables whose value is a `:`-separated list of directories: a device's entries join the config's. */
const PATH_LISTS = new Set(["LD_LIBRARY_PATH", "PATH"]);

/**
 * The environment of a process in the container: `base` (the config's)
 * with what the devices' binds need. A list variable the config also sets
 * keeps the config's directories first; any other variable the config
 * sets is the config's.
 */
export function withDeviceEnv(base: Record<string, string>, devices: Record<string, DeviceState> | undefined): Record<string, string> {
  const out = { ...base };
  for (const d of Object.values(devices ?? {})) {
    for (const [k, v] of Object.entries(d.env ?? {})) {
      if (out[k] === undefined) out[k] = v;
      else if (PATH_LISTS.has(k)) out[k] = [...new Set([...out[k]!.split(":"), ...v.split(":")])].filter(Boolean).join(":");
    }
  }
  return out;
}
