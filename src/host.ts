/**
 * What this host offers warren, detected once: today its cgroup layout.
 * @module
 */
import { detectCgroupHost, type CgroupHost } from "./cgroup/cgroup2.js";

export interface HostInfo {
  cgroup: CgroupHost;
}

/**
 * The host as warren sees it.
 *
 * @example
 * ```ts
 * import { host } from "warren";
 * const { cgroup } = host();
 * if (!cgroup.controllers.includes("memory")) console.warn("memory limits unavailable here");
 * ```
 */
export function host(options?: { refresh?: boolean }): HostInfo {
  return { cgroup: detectCgroupHost(options?.refresh ?? false) };
}
