/**
 * An OCI runtime bundle's `config.json` (runtime-spec 1.x) as warren's
 * container config: the translation the `warren-oci` runtime (issue 16)
 * makes before it creates a container. Pure: it reads nothing but the
 * object it is given (and resolves the root against the bundle's path).
 *
 * What warren does by itself (the standard /proc, /dev, /dev/pts,
 * /dev/shm, /dev/mqueue, /sys and /sys/fs/cgroup mounts every OCI config
 * lists) is recognised and left to it; what it cannot do as asked is a
 * ConfigError naming the field (`linux.namespaces[2].path`), never
 * silently dropped. What does not change the container's behaviour in a
 * way warren could honour or refuse (an AppArmor profile, an SELinux
 * label) is a warning.
 * @module
 */
import { isAbsolute, resolve } from "node:path";

import { RLIMITS } from "../config/constants.js";
import type { ContainerConfig, MountConfig } from "../config/schema.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { seccompFromOci } from "./seccomp.js";

/** The result: the config, and what was ignored with a reason. */
export interface OciTranslation {
  config: ContainerConfig;
  /** The process wants a terminal (`process.terminal`): the runtime needs a console socket. */
  terminal: boolean;
  /** `linux.cgroupsPath`, as given (the runtime places the container's cgroup by it). */
  cgroupsPath?: string;
  warnings: string[];
  /** What runc logs at debug level only (`--debug`): seccomp names no table knows. */
  notes: string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The mounts every OCI config lists that warren makes itself (type, destination). */
const STANDARD_MOUNTS: Record<string, string> = {
  "/proc": "proc",
  "/dev": "tmpfs",
  "/dev/pts": "devpts",
  "/dev/shm": "tmpfs",
  "/dev/mqueue": "mqueue",
  "/sys": "sysfs",
  "/sys/fs/cgroup": "cgroup",
};

const NAMESPACE_KEYS: Record<string, "pid" | "net" | "mnt" | "ipc" | "uts" | "user" | "cgroup" | "time"> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

/** runc's conversion of cgroup v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 100;
  return Math.max(1, Math.min(10000, 1 + Math.floor(((shares - 2) * 9999) / 262142)));
}

class Issues {
  readonly list: ConfigIssue[] = [];
  readonly warnings: string[] = [];
  readonly notes: string[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

/**
 * Translates `spec` (the parsed config.json of the bundle at `bundle`).
 * Throws a ConfigError listing every field it cannot honour.
 */
export function ociToWarren(spec: unknown, bundle: string): OciTranslation {
  const issues = new Issues();
  if (!isObject(spec)) throw new ConfigError([{ path: "(config.json)", message: "must be a JSON object" }]);
  const config: ContainerConfig = {};
  if (typeof spec.ociVersion !== "string" || !/^1\.\d+/.test(spec.ociVersion)) {
    issues.add("ociVersion", `must be a runtime-spec 1.x version, got ${JSON.stringify(spec.ociVersion)}`);
  }

  // root
  const root = spec.root;
  if (!isObject(root) || typeof root.path !== "string" || root.path === "") {
    issues.add("root.path", "is required (the bundle's rootfs directory)");
  } else {
    const path = isAbsolute(root.path) ? root.path : resolve(bundle, root.path);
    config.rootfs = root.readonly === true ? { path, mode: "ro" } : path;
  }

  let terminal = false;
  if (spec.process !== undefined) terminal = processFields(spec.process, config, issues);
  if (typeof spec.hostname === "string" && spec.hostname !== "") config.hostname = spec.hostname;
  if (typeof spec.domainname === "string" && spec.domainname !== "") config.domainname = spec.domainname;
  if (spec.mounts !== undefined) mountFields(spec.mounts, config, issues);
  // `hooks` are the runtime's (src/oci/hooks.ts: parseHooks, runHooks), not the container's.
  let cgroupsPath: string | undefined;
  if (spec.linux !== undefined) cgroupsPath = linuxFields(spec.linux, config, issues);
  if (spec.linux === undefined) issues.add("linux", "is required on Linux (namespaces, id mappings)");

  if (issues.list.length) throw new ConfigError(issues.list);
  return { config, terminal, ...(cgroupsPath !== undefined ? { cgroupsPath } : {}), warnings: issues.warnings, notes: issues.notes };
}

function processFields(p: unknown, config: ContainerConfig, issues: Issues): boolean {
  if (!isObject(p)) {
    issues.add("process", "must be an object");
    return false;
  }
  if (!Array.isArray(p.args) || p.args.length === 0 || p.args.some((a) => typeof a !== "string")) {
    issues.add("process.args", "must be a non-empty array of strings");
  } else {
    config.init = p.args as string[];
  }
  if (p.env !== undefined) {
    const env: Record<string, string> = {};
    (Array.isArray(p.env) ? p.env : []).forEach((e, i) => {
      const eq = typeof e === "string" ? e.indexOf("=") : -1;
      if (eq <= 0) issues.add(`process.env[${i}]`, "must be NAME=VALUE");
      else env[(e as string).slice(0, eq)] = (e as string).slice(eq + 1);
    });
    config.env = env;
  }
  if (typeof p.cwd === "string") config.cwd = p.cwd;
  if (p.user !== undefined) {
    const u = p.user as Json;
    if (!isObject(u) || !Number.isInteger(u.uid) || !Number.isInteger(u.gid)) issues.add("process.user", "needs numeric uid and gid");
    else {
      const groups = Array.isArray(u.additionalGids) ? (u.additionalGids as number[]) : [];
      config.user = { uid: u.uid as number, gid: u.gid as number, groups };
      // 0o022 (podman's default) is what every container process gets anyway.
      if (u.umask !== undefined && u.umask !== 0o022) issues.warnings.push("process.user.umask is not applied (the init's umask is 0022)");
    }
  }
  if (p.noNewPrivileges === true) config.noNewPrivileges = true;
  if (Number.isInteger(p.oomScoreAdj)) config.oomScoreAdj = p.oomScoreAdj as number;
  if (p.apparmorProfile) issues.warnings.push("process.apparmorProfile is ignored (warren does not load AppArmor profiles)");
  if (p.selinuxLabel) issues.warnings.push("process.selinuxLabel is ignored (warren does not set SELinux labels)");
  if (p.rlimits !== undefined) {
    const rlimits: Record<string, { soft: number; hard: number }> = {};
    (Array.isArray(p.rlimits) ? p.rlimits : []).forEach((r, i) => {
      const name = isObject(r) && typeof r.type === "string" ? r.type.replace(/^RLIMIT_/, "").toLowerCase() : "";
      if (!(RLIMITS as readonly string[]).includes(name)) issues.add(`process.rlimits[${i}].type`, `unknown resource ${JSON.stringify(isObject(r) ? r.type : r)}`);
      else if (!Number.isInteger((r as Json).soft) || !Number.isInteger((r as Json).hard)) issues.add(`process.rlimits[${i}]`, "needs integer soft and hard");
      else rlimits[name] = { soft: (r as Json).soft as number, hard: (r as Json).hard as number };
    });
    config.rlimits = rlimits as ContainerConfig["rlimits"];
  }
  if (isObject(p.capabilities)) {
    // warren keeps one set, the bounding set; the others follow it for root.
    const bounding = p.capabilities.bounding;
    if (Array.isArray(bounding)) config.capabilities = { keep: bounding as string[] };
  }
  return p.terminal === true;
}

function mountFields(mounts: unknown, config: ContainerConfig, issues: Issues): void {
  if (!Array.isArray(mounts)) {
    issues.add("mounts", "must be an array");
    return;
  }
  const out: MountConfig[] = [];
  mounts.forEach((m, i) => {
    const at = `mounts[${i}]`;
    if (!isObject(m) || typeof m.destination !== "string" || !m.destination.startsWith("/")) {
      issues.add(`${at}.destination`, "must be an absolute path");
      return;
    }
    const options = Array.isArray(m.options) ? (m.options as string[]) : [];
    const type = typeof m.type === "string" ? m.type : options.includes("bind") || options.includes("rbind") ? "bind" : "";
    const standard = STANDARD_MOUNTS[m.destination];
    if (standard !== undefined && (type === standard || (standard === "cgroup" && type === "cgroup2"))) return; // warren's own
    if (type === "bind" || options.includes("bind") || options.includes("rbind")) {
      if (typeof m.source !== "string" || !isAbsolute(m.source)) {
        issues.add(`${at}.source`, "a bind mount needs an absolute host path");
        return;
      }
      const unknown = options.filter((o) => !BIND_OPTIONS.has(o));
      if (unknown.length) issues.add(`${at}.options`, `not supported for a bind mount: ${unknown.join(", ")}`);
      out.push({
        type: "bind",
        source: m.source,
        target: m.destination,
        readonly: options.includes("ro"),
        recursive: options.includes("rbind"),
        optional: false,
        idmap: false,
      });
      return;
    }
    if (type === "tmpfs") {
      const size = options.find((o) => o.startsWith("size="))?.slice(5);
      const mode = options.find((o) => o.startsWith("mode="))?.slice(5);
      out.push({
        type: "tmpfs",
        target: m.destination,
        ...(size !== undefined ? { size } : {}),
        ...(mode !== undefined && /^[0-7]{1,4}$/.test(mode) ? { mode: parseInt(mode, 8) } : {}),
        readonly: options.includes("ro"),
      } as MountConfig);
      return;
    }
    issues.add(`${at}.type`, `a ${JSON.stringify(type || "(none)")} mount at ${m.destination} is not supported (bind and tmpfs are; proc, sysfs, devpts, mqueue and cgroup only where warren makes them)`);
  });
  if (out.length) config.mounts = out as ContainerConfig["mounts"];
}

/** Options of a bind mount warren honours or that are the default anyway. */
const BIND_OPTIONS = new Set(["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "private", "rprivate", "slave", "rslave"]);

function linuxFields(linux: unknown, config: ContainerConfig, issues: Issues): string | undefined {
  if (!isObject(linux)) {
    issues.add("linux", "must be an object");
    return undefined;
  }
  // Namespaces: what is listed is the container's own (or joined by path);
  // what is not listed is the host's.
  const ns: Record<string, unknown> = { pid: false, net: false, ipc: false, uts: false, user: false, cgroup: false, time: false };
  let mount = false;
  (Array.isArray(linux.namespaces) ? linux.namespaces : []).forEach((n, i) => {
    const key = isObject(n) && typeof n.type === "string" ? NAMESPACE_KEYS[n.type] : undefined;
    if (!key) {
      issues.add(`linux.namespaces[${i}].type`, `unknown namespace ${JSON.stringify(isObject(n) ? n.type : n)}`);
      return;
    }
    const path = (n as Json).path;
    if (key === "mnt") {
      mount = true;
      if (path) issues.add(`linux.namespaces[${i}].path`, "joining a mount namespace is not supported");
      return;
    }
    if (path !== undefined && path !== "") {
      if (key === "net" || key === "ipc" || key === "uts") ns[key] = { path };
      else issues.add(`linux.namespaces[${i}].path`, `joining a ${n.type as string} namespace is not supported (network, ipc and uts can be joined)`);
      return;
    }
    ns[key] = true;
  });
  if (!mount) issues.add("linux.namespaces", "must include a mount namespace (warren always gives the container one)");
  config.namespaces = ns as ContainerConfig["namespaces"];

  const uid = mapping(linux.uidMappings, "linux.uidMappings", issues);
  const gid = mapping(linux.gidMappings, "linux.gidMappings", issues);
  if (ns.user === true) {
    if (uid && gid) {
      if (uid.size !== gid.size) issues.add("linux.gidMappings[0].size", `must equal the uid mapping's size (${uid.size})`);
      else config.idmap = { hostUid: uid.hostID, hostGid: gid.hostID, size: uid.size };
    }
    // Without mappings warren allocates a range of its own.
  } else if (uid || gid) {
    issues.add("linux.uidMappings", "needs a user namespace in linux.namespaces");
  }

  if (isObject(linux.sysctl)) config.sysctls = linux.sysctl as Record<string, string>;
  if (Array.isArray(linux.maskedPaths)) config.maskedPaths = linux.maskedPaths as string[];
  if (Array.isArray(linux.readonlyPaths)) config.readonlyPaths = linux.readonlyPaths as string[];
  if (linux.resources !== undefined) resourceFields(linux.resources, config, issues);
  if (linux.seccomp !== undefined && linux.seccomp !== null) {
    const seccomp = seccompFromOci(linux.seccomp, issues.list, issues.notes);
    if (seccomp) config.seccomp = seccomp;
  } else {
    // No profile in the config: no filter (runc installs none either).
    config.seccomp = false;
  }
  if (Array.isArray(linux.devices) && linux.devices.length > 0) issues.add("linux.devices", "device nodes by the OCI list are not supported yet (warren's `devices` are)");
  if (linux.rootfsPropagation !== undefined && !["private", "rprivate", "slave", "rslave"].includes(linux.rootfsPropagation as string)) {
    issues.add("linux.rootfsPropagation", `${JSON.stringify(linux.rootfsPropagation)} is not supported (the container's mounts never propagate to the host)`);
  }
  if (linux.mountLabel) issues.warnings.push("linux.mountLabel is ignored (warren does not set SELinux labels)");
  return typeof linux.cgroupsPath === "string" ? linux.cgroupsPath : undefined;
}

function mapping(list: unknown, field: string, issues: Issues): { hostID: number; size: number } | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length !== 1) {
    issues.add(field, "must be one mapping (warren maps one contiguous range)");
    return undefined;
  }
  const m = list[0] as Json;
  if (!isObject(m) || m.containerID !== 0 || !Number.isInteger(m.hostID) || !Number.isInteger(m.size) || (m.size as number) < 1) {
    issues.add(`${field}[0]`, "must map container id 0 to a host id, with a size");
    return undefined;
  }
  return { hostID: m.hostID as number, size: m.size as number };
}

/**
 * An OCI `LinuxResources` object (`runc update --resources`) as warren's
 * limits. Throws a ConfigError naming the field it cannot honour.
 */
export function ociResourcesToLimits(r: unknown): NonNullable<ContainerConfig["limits"]> {
  const issues = new Issues();
  const config: ContainerConfig = {};
  resourceFields(r, config, issues);
  if (issues.list.length) throw new ConfigError(issues.list.map((i) => ({ ...i, path: i.path.replace(/^linux\.resources\.?/, "") || "(resources)" })));
  return config.limits ?? {};
}

function resourceFields(r: unknown, config: ContainerConfig, issues: Issues): void {
  if (!isObject(r)) {
    issues.add("linux.resources", "must be an object");
    return;
  }
  const limits: Record<string, Record<string, unknown>> = {};
  const put = (group: string, key: string, value: unknown) => ((limits[group] ??= {})[key] = value);
  if (isObject(r.memory)) {
    const m = r.memory;
    const limit = m.limit as number | undefined;
    if (Number.isInteger(limit) && limit! > 0) put("memory", "max", limit);
    if (Number.isInteger(m.reservation) && (m.reservation as number) > 0) put("memory", "high", m.reservation);
    // OCI's swap is memory + swap (v1's memsw); v2's swap.max is swap alone.
    if (Number.isInteger(m.swap)) {
      const swap = m.swap as number;
      if (swap === -1) put("memory", "swapMax", "max");
      else if (Number.isInteger(limit) && limit! > 0) put("memory", "swapMax", Math.max(0, swap - limit!));
      else issues.add("linux.resources.memory.swap", "needs memory.limit (it is memory + swap)");
    }
    if (m.kernel !== undefined || m.kernelTCP !== undefined) issues.warnings.push("linux.resources.memory.kernel/kernelTCP are ignored (cgroup v2 has no separate kernel limit)");
  }
  if (isObject(r.cpu)) {
    const c = r.cpu;
    if (Number.isInteger(c.shares) && (c.shares as number) > 0) put("cpu", "weight", sharesToWeight(c.shares as number));
    if (Number.isInteger(c.quota) && (c.quota as number) > 0) {
      const period = Number.isInteger(c.period) && (c.period as number) > 0 ? (c.period as number) : 100_000;
      put("cpu", "max", (c.quota as number) / period);
    }
    if (typeof c.cpus === "string" && c.cpus !== "") put("cpu", "cpus", c.cpus);
    if (typeof c.mems === "string" && c.mems !== "") put("cpu", "mems", c.mems);
    if (c.realtimeRuntime !== undefined || c.realtimePeriod !== undefined) issues.add("linux.resources.cpu.realtimeRuntime", "real-time CPU limits are not supported on cgroup v2");
  }
  if (isObject(r.pids) && Number.isInteger(r.pids.limit)) put("pids", "max", (r.pids.limit as number) > 0 ? r.pids.limit : "max");
  if (isObject(r.blockIO) && Number.isInteger(r.blockIO.weight)) {
    // v1 blkio.weight 10..1000 → v2 io.weight 1..10000 (runc's formula).
    put("io", "weight", Math.max(1, Math.min(10000, 1 + Math.floor((((r.blockIO.weight as number) - 10) * 9999) / 990))));
  }
  if (isObject(r.hugepageLimits) || Array.isArray(r.hugepageLimits)) {
    for (const h of (r.hugepageLimits as Json[]) ?? []) if (isObject(h) && typeof h.pageSize === "string") put("hugetlb", h.pageSize, h.limit);
  }
  if (isObject(r.unified) && Object.keys(r.unified).length) issues.add("linux.resources.unified", "raw cgroup v2 files are not supported yet");
  if (Array.isArray(r.devices) && r.devices.some((d) => isObject(d) && d.allow === true)) {
    issues.warnings.push("linux.resources.devices: allow rules apply only to a container without a user namespace (warren's deviceRules)");
  }
  if (Object.keys(limits).length) config.limits = limits as ContainerConfig["limits"];
}
