/**
 * Where containers live: the state root and the cgroup subtree named after
 * it. Every layer that keeps host-side state (containers, networks, images)
 * is told this, never the other way round.
 * @module
 */
import { createHash } from "node:crypto";

export const DEFAULT_ROOT = "/var/lib/warren";

/** Where containers live, and the cgroup subtree they use. */
export interface RuntimeOptions {
  /** State directory (default `/var/lib/warren`). */
  root?: string;
  /**
   * Name of the cgroup v2 subtree (below the cgroup2 mount) holding this
   * root's containers. Default `warren` for the default root, and
   * `warren-<hash of root>` for any other, so two roots never collide.
   */
  cgroupParent?: string;
}

export interface ResolvedRuntime {
  root: string;
  cgroupParent: string;
}

export function resolveRuntime(o: RuntimeOptions | undefined): ResolvedRuntime {
  const root = o?.root ?? DEFAULT_ROOT;
  const cgroupParent =
    o?.cgroupParent ?? (root === DEFAULT_ROOT ? "warren" : `warren-${createHash("sha256").update(root).digest("hex").slice(0, 8)}`);
  return { root, cgroupParent };
}
