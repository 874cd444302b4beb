/**
 * A snapshot of what tests could leave behind on the host: mounts, cgroup2
 * directories, processes in other pid namespaces. The global setup takes one
 * before the suite and fails the run if anything is new afterwards.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { detectCgroupHost } from "../../src/cgroup/cgroup2.js";

export interface Snapshot {
  mounts: string[];
  cgroups: string[];
  nestedPids: string[];
  /** The host's network interfaces. */
  links: string[];
  /** warren-monitor processes (console and notify keepers), zombies included. */
  monitors: string[];
  /** The host's nftables ruleset, one entry per line (empty without nft). */
  ruleset: string[];
  /** The host's main-table routes and proxy neighbour entries (a routed NIC's stay behind its namespace). */
  routes: string[];
}

function links(): string[] {
  try {
    return readdirSync("/sys/class/net").sort();
  } catch {
    return [];
  }
}

function ruleset(): string[] {
  try {
    return execFileSync("nft", ["list", "ruleset"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** `ip` output lines, without what changes on its own (link state, expiry timers). */
function ipLines(args: string[]): string[] {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .map((l) => l.replace(/ linkdown| expires \S+/g, "").trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

function routes(): string[] {
  return [
    ...ipLines(["-4", "route", "show", "table", "main"]).map((r) => `route ${r}`),
    ...ipLines(["-6", "route", "show", "table", "main"]).map((r) => `route ${r}`),
    ...ipLines(["-4", "neigh", "show", "proxy"]).map((n) => `proxy ${n}`),
    ...ipLines(["-6", "neigh", "show", "proxy"]).map((n) => `proxy ${n}`),
  ].sort();
}

function mounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const f = l.split(" ");
      const sep = f.indexOf("-");
      return `${f[4]} ${f[sep + 1]} ${f[sep + 2]}`;
    })
    .sort();
}

function cgroups(): string[] {
  const root = detectCgroupHost().mount;
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 3) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      try {
        if (statSync(p).isDirectory()) {
          out.push(p);
          walk(p, depth + 1);
        }
      } catch {
        /* raced with removal */
      }
    }
  };
  walk(root, 1);
  return out.sort();
}

/** Processes living in a pid namespace below the host's (NSpid has 2+ entries). */
function nestedPids(): string[] {
  const out: string[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const status = readFileSync(`/proc/${e}/status`, "utf8");
      const ns = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      if (ns.length > 1 && state !== "Z") {
        const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0/g, " ").trim();
        out.push(`${e} ${cmd}`);
      }
    } catch {
      /* exited meanwhile */
    }
  }
  return out.sort();
}

/** Container monitors and roots' device followers (`warren device follow`), alive or not yet reaped. */
function monitors(): string[] {
  const out: string[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (/ device follow --root /.test(readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0/g, " "))) {
        out.push(`${e} warren device follow`);
        continue;
      }
      if (readFileSync(`/proc/${e}/comm`, "utf8").trim() !== "warren-monitor") continue;
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${e}/status`, "utf8"))?.[1];
      out.push(`${e} warren-monitor${state === "Z" ? " (zombie)" : ""}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return out.sort();
}

export function snapshot(): Snapshot {
  return { mounts: mounts(), cgroups: cgroups(), nestedPids: nestedPids(), monitors: monitors(), links: links(), ruleset: ruleset(), routes: routes() };
}

/** What is in `after` but not in `before`, per kind; empty when clean. */
export function leftovers(before: Snapshot, after: Snapshot): string[] {
  const diff = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
  return [
    ...diff(before.mounts, after.mounts).map((m) => `mount: ${m}`),
    ...diff(before.cgroups, after.cgroups).map((c) => `cgroup: ${c}`),
    ...diff(before.nestedPids, after.nestedPids).map((p) => `process: ${p}`),
    ...diff(before.monitors ?? [], after.monitors).map((p) => `process: ${p}`),
    ...diff(before.links, after.links).map((l) => `network interface: ${l}`),
    ...diff(before.ruleset, after.ruleset).map((r) => `nftables rule: ${r}`),
    ...diff(before.routes ?? [], after.routes ?? []).map((r) => `network ${r}`),
  ];
}
