/**
 * `doctor()`: whether this host can run warren, and N containers of it.
 * Every check reads the host (uname, /proc, the cgroup2 mount, the
 * process's limits, PATH); nothing is changed. A failed check says what to
 * run to fix it.
 * @module
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { delimiter, join } from "node:path";

import { ConfigError } from "../errors.js";
import { MANAGED_CONTROLLERS, unavailableReason } from "../cgroup/apply.js";
import { detectCgroupHost } from "../cgroup/cgroup2.js";
import { atLeast, KERNEL_FEATURES, parseKernelRelease, SYSCTLS } from "./requirements.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  /** Stable id, e.g. `kernel.openat2`, `sysctl.kernel.pid_max`, `cgroup.memory`. */
  id: string;
  area: "kernel" | "cgroup" | "sysctl" | "limits" | "tools";
  status: CheckStatus;
  /** What the host has now. */
  value: string;
  /** What is wanted, when there is a threshold. */
  want?: string;
  /** Why it matters. */
  why: string;
  /** What to run (as root) to fix it, for checks that are not ok. */
  fix?: string;
}

export interface DoctorReport {
  /** The number of containers the sysctl and limit checks were sized for. */
  containers: number;
  kernel: string;
  checks: DoctorCheck[];
  /** No check failed (warnings allowed). */
  ok: boolean;
}

export interface DoctorOptions {
  /** Size the host checks for this many containers (default 1,000). */
  containers?: number;
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim().split(/\s+/)[0]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function kernelChecks(kernel: string): DoctorCheck[] {
  const have = parseKernelRelease(kernel);
  const checks: DoctorCheck[] = KERNEL_FEATURES.map((f) => {
    const ok = have !== undefined && atLeast(have, f.since);
    return {
      id: `kernel.${f.id}`,
      area: "kernel",
      status: ok ? "ok" : f.required ? "fail" : "warn",
      value: kernel,
      want: `>= ${f.since.join(".")}`,
      why: f.what,
      ...(ok ? {} : { fix: "boot a newer kernel" }),
    } satisfies DoctorCheck;
  });
  const userns = readNumber("/proc/sys/user/max_user_namespaces");
  checks.push({
    id: "kernel.user-namespaces",
    area: "kernel",
    status: userns === undefined ? "fail" : userns > 0 ? "ok" : "fail",
    value: userns === undefined ? "not available" : `max_user_namespaces=${userns}`,
    want: "> 0",
    why: "every container gets a user namespace unless `namespaces.user: false`",
    ...(userns ? {} : { fix: "sysctl -w user.max_user_namespaces=100000 (and a kernel built with CONFIG_USER_NS)" }),
  });
  const filesystems = (() => {
    try {
      return readFileSync("/proc/filesystems", "utf8");
    } catch {
      return "";
    }
  })();
  for (const [fs, why] of [
    ["overlay", "containers made from an image are an overlay on the shared image"],
    ["tmpfs", "/dev, /run and the staging of locked mounts"],
  ] as const) {
    const ok = new RegExp(`\\s${fs}\\n`).test(filesystems);
    checks.push({ id: `kernel.fs.${fs}`, area: "kernel", status: ok ? "ok" : "fail", value: ok ? "available" : "missing", why, ...(ok ? {} : { fix: `modprobe ${fs}` }) });
  }
  const actions = (() => {
    try {
      return readFileSync("/proc/sys/kernel/seccomp/actions_avail", "utf8").trim();
    } catch {
      return "";
    }
  })();
  checks.push({
    id: "kernel.seccomp",
    area: "kernel",
    status: actions.includes("errno") ? "ok" : "fail",
    value: actions || "not available",
    why: "the default seccomp filter denies the calls a container must not make",
    ...(actions.includes("errno") ? {} : { fix: "a kernel with CONFIG_SECCOMP_FILTER" }),
  });
  return checks;
}

function cgroupChecks(): DoctorCheck[] {
  let host;
  try {
    host = detectCgroupHost(true);
  } catch (e) {
    return [{ id: "cgroup.v2", area: "cgroup", status: "fail", value: (e as Error).message, why: "warren uses cgroup v2 only", fix: "mount -t cgroup2 none /sys/fs/cgroup" }];
  }
  const checks: DoctorCheck[] = [
    {
      id: "cgroup.v2",
      area: "cgroup",
      status: host.pureV2 ? "ok" : "warn",
      value: `${host.mount} (${host.pureV2 ? "pure cgroup v2" : "hybrid: v1 hierarchies mounted too"})`,
      why: "controllers bound to a cgroup v1 hierarchy cannot limit containers",
      ...(host.pureV2 ? {} : { fix: "boot with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=all)" }),
    },
  ];
  for (const c of MANAGED_CONTROLLERS) {
    const reason = unavailableReason(c, host);
    checks.push({
      id: `cgroup.${c}`,
      area: "cgroup",
      status: reason === undefined ? "ok" : "warn",
      value: reason === undefined ? "usable" : `not usable: ${reason}`,
      why: `limits.${c === "cpuset" ? "cpuset" : c} and the ${c} figures of stats()`,
      ...(reason === undefined ? {} : { fix: /cgroup v1/.test(reason) ? `boot with cgroup_no_v1=all (or at least ${c === "io" ? "blkio" : c}) so ${c} is on cgroup v2` : `echo +${c} > ${host.mount}/cgroup.subtree_control` }),
    });
  }
  return checks;
}

function sysctlChecks(containers: number): DoctorCheck[] {
  return SYSCTLS.map((s) => {
    const have = readNumber(`/proc/sys/${s.key.replace(/\./g, "/")}`);
    const want = s.min(containers);
    const ok = have !== undefined && have >= want;
    return {
      id: `sysctl.${s.key}`,
      area: "sysctl",
      status: ok ? "ok" : have === undefined ? "warn" : "fail",
      value: have === undefined ? "not available" : String(have),
      want: `>= ${want}`,
      why: s.why,
      ...(ok || have === undefined ? {} : { fix: `sysctl -w ${s.key}=${want}` }),
    } satisfies DoctorCheck;
  });
}

function limitChecks(containers: number): DoctorCheck[] {
  // A held container costs the embedding process a pidfd, its cgroup's
  // event watch and, while it starts, a few pipes.
  const want = 1_024 + containers * 4;
  let soft: number | undefined;
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    soft = m?.[1] === "unlimited" ? Infinity : Number(m?.[1]);
  } catch {
    soft = undefined;
  }
  const ok = soft !== undefined && soft >= want;
  return [
    {
      id: "limits.nofile",
      area: "limits",
      status: ok ? "ok" : "fail",
      value: soft === undefined ? "unknown" : String(soft),
      want: `>= ${want}`,
      why: "descriptors of the process that holds the containers (a pidfd and a cgroup watch each)",
      ...(ok ? {} : { fix: `ulimit -n ${want} (or LimitNOFILE=${want} in the service's unit)` }),
    },
  ];
}

function toolChecks(): DoctorCheck[] {
  const tools: Array<[string, string, CheckStatus]> = [
    ["nft", "bridged NICs' NAT and port forwards (nftables)", "warn"],
    ["mksquashfs", "squashfs image exports", "warn"],
    ["debootstrap", "ImageStore.build() of Debian images", "warn"],
  ];
  const checks: DoctorCheck[] = tools.map(([cmd, why, missing]) => {
    const at = onPath(cmd);
    return { id: `tools.${cmd}`, area: "tools", status: at ? "ok" : missing, value: at ?? "not found", why, ...(at ? {} : { fix: `apt-get install ${cmd === "nft" ? "nftables" : cmd === "mksquashfs" ? "squashfs-tools" : cmd}` }) };
  });
  const lxcfs = (() => {
    try {
      return / - fuse\.lxcfs /.test(readFileSync("/proc/self/mountinfo", "utf8"));
    } catch {
      return false;
    }
  })();
  checks.push({
    id: "tools.lxcfs",
    area: "tools",
    status: lxcfs ? "ok" : "warn",
    value: lxcfs ? "running" : existsSync("/usr/bin/lxcfs") ? "installed, not running" : "not installed",
    why: "free, top and uptime inside containers show the container's limits and start time",
    ...(lxcfs ? {} : { fix: "apt-get install lxcfs && systemctl enable --now lxcfs" }),
  });
  return checks;
}

/**
 * Checks this host for warren: kernel features, the cgroup layout, the
 * sysctls and process limits that `containers` containers need, and the
 * tools some features use. Reads only.
 *
 * @example
 * ```ts
 * import { doctor } from "warren";
 * const report = doctor({ containers: 5000 });
 * for (const c of report.checks.filter((c) => c.status !== "ok")) console.log(c.id, c.value, c.want, c.fix);
 * ```
 */
export function doctor(options: DoctorOptions = {}): DoctorReport {
  const containers = options.containers ?? 1_000;
  if (!Number.isInteger(containers) || containers < 1) throw new ConfigError([{ path: "containers", message: `must be a positive integer, got ${containers}` }]);
  const kernel = release();
  const checks = [...kernelChecks(kernel), ...cgroupChecks(), ...sysctlChecks(containers), ...limitChecks(containers), ...toolChecks()];
  return { containers, kernel, checks, ok: checks.every((c) => c.status !== "fail") };
}

/** The `fix` lines of the failed sysctl checks as an /etc/sysctl.d file. */
export function sysctlConf(report: DoctorReport): string {
  const lines = report.checks.filter((c) => c.area === "sysctl" && c.status === "fail" && c.want).map((c) => `${c.id.slice("sysctl.".length)} = ${c.want!.replace(/^>= /, "")}`);
  return lines.length ? `# warren doctor --containers ${report.containers}\n${lines.join("\n")}\n` : "";
}
