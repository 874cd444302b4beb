/**
 * The host side of lxcfs (see plan/lxcfs.ts): whether its mount is there
 * and answers, read from this process's mountinfo (the host's mount
 * namespace, where warren runs) and a few stats through the mount.
 * @module
 */
import { readFileSync, statSync } from "node:fs";

import type { ResolvedConfig } from "../config/schema.js";
import { HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { lxcfsMissing, probeLxcfs, type LxcfsProbe } from "../plan/lxcfs.js";

/** What the host's lxcfs offers now. */
export function hostLxcfs(mountinfoPath = "/proc/self/mountinfo"): LxcfsProbe {
  let text: string;
  try {
    text = readFileSync(mountinfoPath, "utf8");
  } catch (e) {
    return { ok: false, errno: codeOf(e), reason: `cannot read \`${mountinfoPath}\`` };
  }
  return probeLxcfs(text, (path) => {
    try {
      statSync(path);
      return true;
    } catch (e) {
      const errno = codeOf(e);
      return errno === "ENOENT" ? false : errno;
    }
  });
}

/**
 * How long a probe that found lxcfs answering is reused: a fleet's starts
 * would otherwise read the mountinfo and stat every view (a round trip to
 * the lxcfs daemon each) per container. A probe that found none is never
 * reused, so a start right after lxcfs comes up sees it. A daemon that dies
 * within the window fails that start's bind of its views with the errno.
 */
const PROBE_TTL_MS = 1000;
let lastProbe: { at: number; probe: LxcfsProbe } | undefined;

function recentHostLxcfs(): LxcfsProbe {
  if (lastProbe && Date.now() - lastProbe.at < PROBE_TTL_MS) return lastProbe.probe;
  const probe = hostLxcfs();
  lastProbe = probe.ok ? { at: Date.now(), probe } : undefined;
  return probe;
}

/** The probe a start uses (none for `lxcfs: false`); throws a HostError when the config requires lxcfs and it is not there. */
export function lxcfsForStart(container: string, config: Pick<ResolvedConfig, "lxcfs">, probe = recentHostLxcfs): LxcfsProbe | undefined {
  if (config.lxcfs === false) return undefined;
  const found = probe();
  const missing = lxcfsMissing(config.lxcfs, found);
  if (missing) {
    throw new HostError(`container "${container}" has \`lxcfs: true\` but ${missing.reason}`, missing.errno, { container, path: "/proc/self/mountinfo" });
  }
  return found;
}
