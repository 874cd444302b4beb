import { describe, expect, it } from "vitest";

import { resolveConfig } from "../config/resolve.js";
import type { ContainerConfig } from "../config/schema.js";
import type { RootfsRecord } from "../rootfs/record.js";
import { buildExecPlan, buildInitPlan, cloneFlagsOf, sharedNamespaces } from "./build-plan.js";
import type { LxcfsViews } from "./lxcfs.js";
import { DEFAULT_CAP_DROP, DEFAULT_SECCOMP_DENY, HOST_ROOT_CAP_KEEP } from "../config/defaults.js";
import { CAPABILITIES } from "../linux/caps.js";
import { CLONE, describeOp, MOUNT_ATTR, MS, type Op } from "./ops.js";
import { buildSeccompFilter } from "./seccomp.js";
import { compileSeccompProfile } from "./seccomp-profile.js";

function plan(config: ContainerConfig, rootfs: RootfsRecord = { kind: "directory", path: "/r", mode: "rw" }, lxcfs: LxcfsViews | false = false, holdFd?: number) {
  const c = resolveConfig(config);
  return buildInitPlan({
    name: "t",
    config: { ...c, init: c.init ?? ["/sbin/init"], cwd: c.cwd ?? "/", hostname: c.hostname ?? "t", haltSignal: c.haltSignal ?? "SIGTERM", console: c.console ?? false, initKind: "other", lxcfs },
    rootfs,
    stateDir: "/state/t",
    idmap: c.namespaces.user ? { hostUid: 1_000_000, hostGid: 1_000_000, size: 65536 } : null,
    stdio: [10, 11, 12],
    ...(holdFd !== undefined ? { holdFd } : {}),
    bindSourceIsDir: (s) => (s === "/missing" ? undefined : !s.endsWith(".sock")),
    arch: "x64",
  });
}
const kinds = (ops: Op[]) => ops.map((o) => o.kind);
const indexOf = (ops: Op[], pred: (o: Op) => boolean) => ops.findIndex(pred);

describe("buildInitPlan", () => {
  it("keeps a hold fd open up to the exec, which waits on it", () => {
    const p = plan({}, undefined, false, 20);
    expect(p.ops[0]).toEqual({ kind: "close-inherited-fds", keep: [10, 11, 12, 20] });
    expect(p.ops.find((o) => o.kind === "close-fds")).toEqual({ kind: "close-fds", keep: [20] });
    expect(p.ops.at(-1)).toMatchObject({ kind: "exec", holdFd: 20 });
    expect(plan({}).ops.at(-1)).not.toHaveProperty("holdFd");
  });

  it("orders the default setup: become ns root, private mounts, proc before pivot, /dev after, exec last", () => {
    const p = plan({});
    expect(p.cloneFlags).toBe(cloneFlagsOf(resolveConfig({}).namespaces));
    expect(p.cloneFlags & CLONE.NEWTIME).toBe(0);
    expect(p.uidMap).toBe("0 1000000 65536\n");
    // Inherited fds go before anything resolves a path; only stdio stays.
    expect(p.ops[0]).toEqual({ kind: "close-inherited-fds", keep: [10, 11, 12] });
    expect(p.ops[1]).toEqual({ kind: "set-credentials", uid: 0, gid: 0, groups: [] });
    expect(p.ops[2]).toMatchObject({ kind: "mount", target: "/", flags: (1 << 18) | 16384 });
    const pivot = indexOf(p.ops, (o) => o.kind === "pivot-root");
    const proc = indexOf(p.ops, (o) => o.kind === "mount" && o.fstype === "proc");
    const dev = indexOf(p.ops, (o) => o.kind === "mount" && o.target === "/dev");
    expect(proc).toBeLessThan(pivot);
    expect(p.ops[proc]).toMatchObject({ inRoot: "/r", target: "proc" });
    expect(dev).toBeGreaterThan(pivot);
    // In a user namespace the device nodes are host binds, never mknod.
    expect(kinds(p.ops)).not.toContain("mknod");
    expect(p.ops.filter((o) => o.kind === "move-mount" && o.target.startsWith("/dev/"))).toHaveLength(6);
    // Privileges before credentials, exec last.
    const tail = kinds(p.ops).slice(-8);
    expect(tail).toEqual(["drop-capabilities", "seccomp", "set-credentials", "chdir", "stdio", "setsid", "close-fds", "exec"]);
    expect(p.ops.at(-1)).toMatchObject({ kind: "exec", file: "/sbin/init", argv: ["/sbin/init"] });
    expect(p.ops.find((o) => o.kind === "stdio")).toEqual({ kind: "stdio", fds: [10, 11, 12] });
    expect(p.ops.find((o) => o.kind === "sethostname")).toEqual({ kind: "sethostname", name: "t" });
    expect(p.ops.find((o) => o.kind === "link-up")).toEqual({ kind: "link-up", name: "lo" });
  });

  it("uses mknod and no id maps without a user namespace", () => {
    const p = plan({ namespaces: { user: false } });
    expect(p.cloneFlags & CLONE.NEWUSER).toBe(0);
    expect(p.uidMap).toBeUndefined();
    expect(kinds(p.ops).slice(0, 2)).toEqual(["close-inherited-fds", "mount"]);
    expect(p.ops.filter((o) => o.kind === "mknod")).toHaveLength(6);
    expect(p.ops.find((o) => o.kind === "mknod" && o.path === "/dev/null")).toMatchObject({ dev: (1 << 8) | 3 });
  });

  it("confines root without a user namespace unless privileged: Docker's capabilities, no syslog/perf, a read-only cgroup", () => {
    const filter = (extra: string[]) => buildSeccompFilter({ deny: [...DEFAULT_SECCOMP_DENY, ...extra], errno: 1 }, "x64");
    const cgroupFlags = (ops: Op[]) => {
      const m = ops.find((o) => o.kind === "mount" && o.fstype === "cgroup2");
      return m?.kind === "mount" ? (m.flags ?? 0) : 0;
    };
    const confined = plan({ namespaces: { user: false } }).ops;
    const kept = CAPABILITIES.filter((c) => !(confined.find((o) => o.kind === "drop-capabilities")?.names ?? []).includes(c));
    expect(kept.sort()).toEqual(HOST_ROOT_CAP_KEEP.filter((c) => !DEFAULT_CAP_DROP.includes(c)).sort());
    expect(kept).not.toContain("CAP_SYS_ADMIN");
    expect(confined.find((o) => o.kind === "seccomp")).toEqual({ kind: "seccomp", filter: filter(["bpf", "syslog", "perf_event_open"]) });
    expect(cgroupFlags(confined) & MS.RDONLY).toBe(MS.RDONLY);

    const privileged = plan({ namespaces: { user: false }, privileged: true }).ops;
    expect(privileged.find((o) => o.kind === "drop-capabilities")?.names).toEqual([...DEFAULT_CAP_DROP]);
    expect(privileged.find((o) => o.kind === "seccomp")).toEqual({ kind: "seccomp", filter: filter(["bpf"]) });
    expect(cgroupFlags(privileged) & MS.RDONLY).toBe(0);

    // The default (a user namespace) is as it was.
    const userns = plan({}).ops;
    expect(userns.find((o) => o.kind === "drop-capabilities")?.names).toEqual([...DEFAULT_CAP_DROP]);
    expect(userns.find((o) => o.kind === "seccomp")).toEqual({ kind: "seccomp", filter: filter([]) });
    expect(cgroupFlags(userns) & MS.RDONLY).toBe(0);
  });

  it("installs an OCI seccomp profile instead of the deny list, as late as it may", () => {
    const profile = { defaultAction: "SCMP_ACT_ALLOW" as const, flags: ["SECCOMP_FILTER_FLAG_LOG" as const], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" as const }] };
    const compiled = compileSeccompProfile(profile, { arch: "x64" });
    const want = { kind: "seccomp", filter: compiled.filter, flags: 2 };
    // Without no_new_privs only root's CAP_SYS_ADMIN allows the filter: where the deny list goes.
    const early = plan({ seccomp: { profile } }).ops;
    expect(early.filter((o) => o.kind === "seccomp")).toEqual([want]);
    expect(kinds(early).slice(-8)).toEqual(["drop-capabilities", "seccomp", "set-credentials", "chdir", "stdio", "setsid", "close-fds", "exec"]);
    // With it, right before exec: nothing the profile denies can break setup.
    const late = plan({ seccomp: { profile }, noNewPrivileges: true }).ops;
    expect(kinds(late).slice(-3)).toEqual(["close-fds", "seccomp", "exec"]);
    expect(late.at(-2)).toEqual(want);
    // Root without a user namespace keeps its guard filter as well.
    const hostRoot = plan({ seccomp: { profile }, namespaces: { user: false } }).ops.filter((o) => o.kind === "seccomp");
    expect(hostRoot).toEqual([{ kind: "seccomp", filter: buildSeccompFilter({ deny: ["bpf", "syslog", "perf_event_open"], errno: 1 }, "x64") }, want]);
  });

  it("drops the defaults plus capabilities.drop, or all but capabilities.keep", () => {
    const dropped = (config: ContainerConfig) => plan(config).ops.find((o) => o.kind === "drop-capabilities")?.names ?? [];
    // Dropping CAP_MKNOD no longer gives back the default drops.
    expect(dropped({ capabilities: { drop: ["mknod"] } }).sort()).toEqual([...DEFAULT_CAP_DROP, "CAP_MKNOD"].sort());
    expect(dropped({ capabilities: { drop: [] } }).sort()).toEqual([...DEFAULT_CAP_DROP].sort());
    // keep: exactly these, a default included if named.
    const keep = ["CAP_SYS_TIME", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"] as const;
    expect(CAPABILITIES.filter((c) => !dropped({ capabilities: { keep: [...keep] } }).includes(c)).sort()).toEqual([...keep].sort());
    expect(dropped({ capabilities: { keep: [] } }).sort()).toEqual([...CAPABILITIES].sort());
    // Without a user namespace keep stays within Docker's set unless privileged.
    const confined = dropped({ namespaces: { user: false }, capabilities: { keep: [...keep] } });
    expect(CAPABILITIES.filter((c) => !confined.includes(c)).sort()).toEqual(["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"]);
  });

  it("makes /proc and /sys in a rootfs without them, and follows no symlink in a user's mount target (only there)", () => {
    const ops = plan({ mounts: [{ type: "tmpfs", target: "/t" }, { type: "bind", source: "/src", target: "/b" }] }).ops;
    for (const target of ["proc", "sys"]) expect(ops.find((o) => o.kind === "mount" && o.target === target)).toMatchObject({ inRoot: "/r", mkdir: true });
    expect(ops.find((o) => o.kind === "mount" && o.target === "/t")).toMatchObject({ noSymlinks: true });
    expect(ops.find((o) => o.kind === "move-mount" && o.target === "/b")).toMatchObject({ noSymlinks: true });
    const strict = ops.filter((o) => "noSymlinks" in o && o.noSymlinks).map((o) => ("target" in o ? o.target : ""));
    // warren's own targets (/dev, /run, masked paths…) are not affected.
    expect(strict).toEqual(["/t", "/b"]);
  });

  it("refuses privileged with a user namespace, naming the field", () => {
    expect(() => resolveConfig({ privileged: true })).toThrow(expect.objectContaining({ issues: [expect.objectContaining({ path: "privileged" })] }));
  });

  it("takes bind sources before pivot_root and attaches them after, read-only when asked", () => {
    const p = plan({ mounts: [{ type: "bind", source: "/data", target: "/srv", readonly: true }, { type: "bind", source: "/run/x.sock", target: "/x.sock" }, { type: "bind", source: "/missing", target: "/m", optional: true }] });
    const pivot = indexOf(p.ops, (o) => o.kind === "pivot-root");
    const take = indexOf(p.ops, (o) => o.kind === "open-tree" && o.source === "/run/x.sock");
    const attach = indexOf(p.ops, (o) => o.kind === "move-mount" && o.target === "/srv");
    expect(take).toBeGreaterThanOrEqual(0);
    expect(take).toBeLessThan(pivot);
    expect(attach).toBeGreaterThan(pivot);
    expect(p.ops[attach]).toMatchObject({ mkdir: true, mkfile: false });
    expect(p.ops.find((o) => o.kind === "move-mount" && o.target === "/x.sock")).toMatchObject({ mkfile: true });
    expect(p.ops.some((o) => o.kind === "open-tree" && o.source === "/missing")).toBe(false);
    // Slots are unique.
    const slots = p.ops.filter((o) => o.kind === "open-tree").map((o) => (o as { slot: number }).slot);
    expect(new Set(slots).size).toBe(slots.length);
  });

  it("takes read-only host binds from where the parent locked them when there is a user namespace", () => {
    const mounts = [{ type: "bind" as const, source: "/data", target: "/srv", readonly: true }];
    const p = plan({ mounts });
    const i = p.lock!.binds.findIndex((b) => b.source === "/data");
    expect(p.lock).toMatchObject({ dir: "/state/t/locked" });
    expect(p.lock!.binds[i]).toEqual({ source: "/data", recursive: true, isDir: true, readonly: true, idmap: false });
    const take = p.ops.find((o) => o.kind === "open-tree" && o.source === `/state/t/locked/${i}`);
    expect(take).toMatchObject({ recursive: true });
    expect(p.ops.some((o) => o.kind === "open-tree" && o.source === "/data")).toBe(false);
    // Already read-only, and locked: nothing for the child to set.
    expect(p.ops.some((o) => o.kind === "mount-setattr" && o.target === "/srv")).toBe(false);
    // Without a user namespace nothing can be locked against the container's
    // root (it is the host's): the child binds and sets read-only itself.
    const priv = plan({ mounts, namespaces: { user: false } });
    expect(priv.lock).toBeUndefined();
    const attach = indexOf(priv.ops, (o) => o.kind === "move-mount" && o.target === "/srv");
    expect(priv.ops[attach + 1]).toMatchObject({ kind: "mount-setattr", target: "/srv", set: 1, recursive: true });
    // Read-write binds are never staged.
    expect(plan({ mounts: [{ type: "bind", source: "/data", target: "/srv" }] }).lock).toBeUndefined();
  });

  it("nesting: a fully visible proc and sysfs at /dev/.lxc before any mask or view, keyctl ENOSYS", () => {
    const views = { mount: "/var/lib/lxcfs", paths: ["/proc/meminfo"] };
    const p = plan({ nesting: true }, undefined, views);
    const devTmpfs = indexOf(p.ops, (o) => o.kind === "mount" && o.target === "/dev" && o.fstype === "tmpfs");
    const lxcProc = indexOf(p.ops, (o) => o.kind === "mount" && o.target === "/dev/.lxc/proc");
    const lxcSys = indexOf(p.ops, (o) => o.kind === "mount" && o.target === "/dev/.lxc/sys");
    expect(p.ops[lxcProc]).toMatchObject({ fstype: "proc", mkdir: true });
    expect(p.ops[lxcSys]).toMatchObject({ fstype: "sysfs", mkdir: true });
    expect(Math.min(lxcProc, lxcSys)).toBeGreaterThan(devTmpfs);
    // Nothing goes over proc or sysfs before them: lxcfs's views, masks, read-only parts.
    const meminfo = indexOf(p.ops, (o) => o.kind === "move-mount" && o.target === "/proc/meminfo");
    const firstMask = indexOf(p.ops, (o) => o.kind === "mask-path");
    expect(Math.max(lxcProc, lxcSys)).toBeLessThan(Math.min(meminfo, firstMask));
    expect(p.ops.some((o) => o.kind === "mount" && o.target.startsWith("/proc/") && indexOf(p.ops, (x) => x === o) < lxcProc && o.target !== "/proc")).toBe(false);
    // keyctl answers ENOSYS (runc then goes on without a session keyring), not EPERM.
    const seccompOf = (q: typeof p) => q.ops.find((o) => o.kind === "seccomp") as { filter: Buffer };
    expect(seccompOf(p).filter.equals(seccompOf(plan({})).filter)).toBe(false);
    // Without it: none of this.
    const plain = plan({});
    expect(plain.ops.some((o) => (o.kind === "mount" || o.kind === "move-mount") && o.target.startsWith("/dev/.lxc"))).toBe(false);
  });

  it("nesting needs a user namespace", () => {
    expect(() => resolveConfig({ nesting: true, namespaces: { user: false } })).toThrow(/nesting: needs a user namespace/);
  });

  it("binds lxcfs's views read-only over proc's and sysfs's, locked with a user namespace", () => {
    const views = { mount: "/var/lib/lxcfs", paths: ["/proc/meminfo", "/proc/uptime", "/sys/devices/system/cpu"] };
    const p = plan({}, undefined, views);
    expect(p.lock!.binds).toEqual([
      { source: "/var/lib/lxcfs/proc/meminfo", recursive: false, isDir: false, readonly: true, idmap: false },
      { source: "/var/lib/lxcfs/proc/uptime", recursive: false, isDir: false, readonly: true, idmap: false },
      { source: "/var/lib/lxcfs/sys/devices/system/cpu", recursive: false, isDir: true, readonly: true, idmap: false },
    ]);
    const pivot = indexOf(p.ops, (o) => o.kind === "pivot-root");
    const take = indexOf(p.ops, (o) => o.kind === "open-tree" && o.source === "/state/t/locked/0");
    const proc = indexOf(p.ops, (o) => o.kind === "mount" && o.fstype === "proc");
    const sys = indexOf(p.ops, (o) => o.kind === "mount" && o.fstype === "sysfs");
    const meminfo = indexOf(p.ops, (o) => o.kind === "move-mount" && o.target === "/proc/meminfo");
    const cpu = indexOf(p.ops, (o) => o.kind === "move-mount" && o.target === "/sys/devices/system/cpu");
    expect(take).toBeLessThan(pivot);
    // Over the container's own proc and sysfs, which exist by then: nothing is created.
    expect(Math.min(meminfo, cpu)).toBeGreaterThan(Math.max(pivot, proc, sys));
    expect(p.ops[meminfo]).toMatchObject({ mkdir: false, mkfile: false, optional: true });
    expect(p.ops.some((o) => o.kind === "mount-setattr" && o.target.startsWith("/proc/meminfo"))).toBe(false);
    // Without a user namespace the child makes them read-only itself.
    const priv = plan({ namespaces: { user: false } }, undefined, views);
    expect(priv.lock).toBeUndefined();
    const at = indexOf(priv.ops, (o) => o.kind === "move-mount" && o.target === "/proc/uptime");
    expect(priv.ops[at + 1]).toMatchObject({ kind: "mount-setattr", target: "/proc/uptime", set: 1, recursive: false });
    // None without views.
    expect(plan({}).ops.some((o) => o.kind === "open-tree" && o.source.includes("lxcfs"))).toBe(false);
  });

  it("builds an overlay root in the state directory and a read-only root when asked", () => {
    const o = plan({}, { kind: "directory", path: "/img", mode: "overlay" });
    expect(o.ops.find((x) => x.kind === "mount" && x.fstype === "overlay")).toMatchObject({
      target: "/state/t/root",
      data: "lowerdir=/img,upperdir=/state/t/scratch/upper,workdir=/state/t/scratch/work,userxattr",
    });
    expect(o.ops.find((x) => x.kind === "pivot-root")).toEqual({ kind: "pivot-root", root: "/state/t/root" });
    // Read-only: with a user namespace the root is staged read-only, so its
    // copy is locked (nothing for the child to set); without one, the child
    // sets the flag last.
    const ro = plan({}, { kind: "directory", path: "/img", mode: "ro" });
    expect(ro.lock!.binds[0]).toEqual({ source: "/img", recursive: true, isDir: true, readonly: true, idmap: false });
    const take = indexOf(ro.ops, (x) => x.kind === "open-tree" && x.source === "/state/t/locked/0");
    expect(ro.ops[take]).toMatchObject({ slot: 0, recursive: true });
    expect(indexOf(ro.ops, (x) => x.kind === "move-mount" && x.target === "/img")).toBeGreaterThan(take);
    expect(ro.ops.some((x) => x.kind === "mount-setattr" && x.target === "/")).toBe(false);
    const priv = plan({ namespaces: { user: false } }, { kind: "directory", path: "/img", mode: "ro" });
    expect(priv.lock).toBeUndefined();
    expect(priv.ops.find((x) => x.kind === "mount-setattr" && x.target === "/")).toMatchObject({ set: 1 });
  });

  it("shares the host's /sys read-only when sharing its network in a user namespace", () => {
    const p = plan({ namespaces: { net: false } });
    expect(p.ops.some((o) => o.kind === "mount" && o.fstype === "sysfs")).toBe(false);
    expect(p.lock!.binds).toContainEqual({ source: "/sys", recursive: true, isDir: true, readonly: true, idmap: false });
    expect(kinds(p.ops)).not.toContain("link-up");
  });

  it("sets the parent-death signal after the credentials for an ephemeral container", () => {
    const p = plan({ ephemeral: true });
    const creds = p.ops.map((o, i) => [o, i] as const).filter(([o]) => o.kind === "set-credentials").at(-1)![1];
    const pdeath = indexOf(p.ops, (o) => o.kind === "parent-death-signal");
    expect(pdeath).toBeGreaterThan(creds);
  });

  it("leaves seccomp out when disabled", () => {
    expect(kinds(plan({ seccomp: false }).ops)).not.toContain("seccomp");
  });
});

describe("buildExecPlan", () => {
  it("joins the container's namespaces through the pidfd, then forks into them", () => {
    const c = resolveConfig({});
    const p = buildExecPlan({ config: c, initPidfd: 42, argv: ["ls"], env: ["A=1"], cwd: "/", user: c.user, stdio: [3, 4, 5], tty: true, arch: "x64" });
    expect(p.cloneFlags).toBe(0);
    expect(p.ops[0]).toEqual({ kind: "close-inherited-fds", keep: [42, 3, 4, 5] });
    expect(p.ops[1]).toEqual({ kind: "setns", fd: 42, flags: cloneFlagsOf(c.namespaces) });
    // Container root right after joining (LXC's attach order), so a later
    // switch to a non-root user clears the capabilities it got from setns.
    expect(p.ops[2]).toEqual({ kind: "set-credentials", uid: 0, gid: 0, groups: [] });
    expect(p.ops[3]).toEqual({ kind: "fork-into-namespaces" });
    expect(p.ops.find((o) => o.kind === "setsid")).toEqual({ kind: "setsid", controllingTerminal: true });
    expect(p.ops.at(-1)).toEqual({ kind: "exec", file: "ls", argv: ["ls"], env: ["A=1"] });
  });

  it("sets no_new_privs before the credentials, and joins without becoming root when there is no user namespace", () => {
    const c = resolveConfig({ namespaces: { user: false }, noNewPrivileges: true });
    const p = buildExecPlan({ config: c, initPidfd: 42, argv: ["ls"], env: [], cwd: "/", user: { uid: 1000, gid: 1000, groups: [] }, stdio: [0, 1, 2], tty: false, arch: "x64" });
    expect(kinds(p.ops).slice(0, 3)).toEqual(["close-inherited-fds", "setns", "fork-into-namespaces"]);
    expect(p.ops[0]).toEqual({ kind: "close-inherited-fds", keep: [42] });
    const nnp = kinds(p.ops).indexOf("no-new-privileges");
    expect(nnp).toBeGreaterThan(0);
    expect(nnp).toBeLessThan(kinds(p.ops).lastIndexOf("set-credentials"));
  });
});

describe("idmapped mounts", () => {
  it("stages idmapped copies (read-only ones locked) with the plain read-only binds and attaches them from there", () => {
    const p = plan(
      {
        mounts: [
          { type: "bind", source: "/data", target: "/srv", idmap: true, readonly: true },
          { type: "bind", source: "/rw", target: "/w", idmap: true },
          { type: "bind", source: "/plain", target: "/p" },
        ],
      },
      { kind: "directory", path: "/r", mode: "rw", idmap: true },
    );
    const staged = p.lock!.binds;
    expect(staged[0]).toEqual({ source: "/r", recursive: true, isDir: true, readonly: false, idmap: true });
    expect(staged).toContainEqual({ source: "/data", recursive: true, isDir: true, readonly: true, idmap: true });
    expect(staged).toContainEqual({ source: "/rw", recursive: true, isDir: true, readonly: false, idmap: true });
    // The root: the staged idmapped tree moved over the directory, no bind.
    expect(p.ops).toContainEqual({ kind: "move-mount", slot: 0, source: "/r", target: "/r" });
    expect(p.ops.some((o) => o.kind === "mount" && o.source === "/r")).toBe(false);
    // The idmapped bind is attached after pivot_root, already read-only; the plain one is taken as before.
    const pivot = p.ops.findIndex((o) => o.kind === "pivot-root");
    const attach = p.ops.findIndex((o) => o.kind === "move-mount" && o.target === "/srv");
    expect(attach).toBeGreaterThan(pivot);
    const slot = (p.ops[attach] as { slot: number }).slot;
    expect(p.ops).toContainEqual(expect.objectContaining({ kind: "open-tree", slot, source: `/state/t/locked/${staged.findIndex((b) => b.source === "/data")}` }));
    expect(p.ops.some((o) => o.kind === "mount-setattr" && o.target === "/srv")).toBe(false);
    expect(p.ops.some((o) => o.kind === "open-tree" && o.source === "/data")).toBe(false);
    expect(p.ops.some((o) => o.kind === "open-tree" && o.source === "/plain")).toBe(true);
  });
});

describe("image rootfs", () => {
  it("overlays the container's upper layer on an idmapped copy of the image", () => {
    const p = plan({}, { kind: "image", image: "ab", lower: "/img/ab/rootfs", upper: "/state/t/upper", work: "/state/t/work" });
    expect(p.lock!.binds[0]).toEqual({ source: "/img/ab/rootfs", recursive: true, isDir: true, readonly: true, idmap: true });
    expect(p.ops).toContainEqual({ kind: "move-mount", slot: 0, source: "/img/ab/rootfs", target: "/state/t/lower" });
    expect(p.ops.find((o) => o.kind === "mount" && o.fstype === "overlay")).toMatchObject({
      target: "/state/t/root",
      data: "lowerdir=/state/t/lower,upperdir=/state/t/upper,workdir=/state/t/work,userxattr",
    });
    expect(p.ops.find((o) => o.kind === "pivot-root")).toEqual({ kind: "pivot-root", root: "/state/t/root" });
    const priv = plan({ namespaces: { user: false } }, { kind: "image", image: "ab", lower: "/img/ab/rootfs", upper: "/u", work: "/w" });
    expect(priv.lock).toBeUndefined();
    expect(priv.ops.find((o) => o.kind === "mount" && o.fstype === "overlay")).toMatchObject({ data: "lowerdir=/img/ab/rootfs,upperdir=/u,workdir=/w" });
  });
});

describe("shared namespaces", () => {
  const pod = { net: { container: "a" }, ipc: { path: "/run/ns/ipc" }, uts: { container: "a" } };

  it("makes no namespace it joins; its /sys comes from the staging thread, no mqueue, hostname or lo of its own", () => {
    const p = plan({ namespaces: pod });
    expect(p.cloneFlags & (CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS)).toBe(0);
    expect(p.cloneFlags & CLONE.NEWUSER).toBe(CLONE.NEWUSER);
    expect(p.lock!.binds).toContainEqual({ source: "sysfs", recursive: false, isDir: true, readonly: true, idmap: false, sysfs: true });
    expect(p.ops.some((o) => o.kind === "mount" && (o.fstype === "sysfs" || o.fstype === "mqueue"))).toBe(false);
    expect(p.ops.some((o) => o.kind === "move-mount" && o.target === "/sys")).toBe(true);
    expect(kinds(p.ops)).not.toContain("sethostname");
    expect(kinds(p.ops)).not.toContain("link-up");
    expect(sharedNamespaces(resolveConfig({ namespaces: pod }).namespaces).map((s) => [s.kind, s.flag])).toEqual([
      ["net", CLONE.NEWNET],
      ["ipc", CLONE.NEWIPC],
      ["uts", CLONE.NEWUTS],
    ]);
  });

  it("without a user namespace, mounts sysfs and mqueue of the joined namespaces itself", () => {
    const p = plan({ namespaces: { ...pod, user: false } });
    expect(p.ops.some((o) => o.kind === "mount" && o.fstype === "sysfs")).toBe(true);
    expect(p.ops.some((o) => o.kind === "mount" && o.fstype === "mqueue")).toBe(true);
  });

  it("exec joins the shared namespaces first, as host root, then its own with the user namespace", () => {
    const c = resolveConfig({ namespaces: pod });
    const p = buildExecPlan({ config: c, initPidfd: 42, argv: ["ls"], env: [], cwd: "/", user: c.user, stdio: [3, 4, 5], tty: false, arch: "x64" });
    expect(p.ops[1]).toEqual({ kind: "setns", fd: 42, flags: CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS });
    expect(p.ops[2]).toEqual({ kind: "setns", fd: 42, flags: cloneFlagsOf(c.namespaces) });
    expect(cloneFlagsOf(c.namespaces) & CLONE.NEWNET).toBe(0);
  });
});

describe("/proc/sys, /sys and sysctls", () => {
  const R = MOUNT_ATTR.RDONLY;
  /** The ops between the sysctls and the masks: what the modes add. */
  const modeOps = (config: ContainerConfig) => {
    const ops = plan(config).ops;
    const from = indexOf(ops, (o) => o.kind === "mount" && o.fstype === "cgroup2") + 1;
    return ops.slice(from, indexOf(ops, (o) => o.kind === "mask-path")).filter((o) => o.kind !== "write-file");
  };
  const sysfsFlags = (config: ContainerConfig) => {
    const m = plan(config).ops.find((o) => o.kind === "mount" && o.fstype === "sysfs");
    return m?.kind === "mount" ? m.flags & R : undefined;
  };
  const procSysRo: Op[] = [
    { kind: "mount", source: "/proc/sys", target: "/proc/sys", flags: MS.BIND | MS.REC },
    { kind: "mount-setattr", target: "/proc/sys", set: R, recursive: true },
  ];
  const netRw = (path: string): Op[] => [
    { kind: "mount", source: path, target: path, flags: MS.BIND | MS.REC },
    { kind: "mount-setattr", target: path, set: 0, clear: R },
  ];

  it("mixed by default: /proc/sys and /sys read-only but the container's own network namespace's parts", () => {
    expect(sysfsFlags({})).toBe(0);
    expect(modeOps({})).toEqual([
      ...procSysRo,
      ...netRw("/proc/sys/net"),
      { kind: "mount-setattr", target: "/sys", set: R },
      ...netRw("/sys/devices/virtual/net"),
    ]);
    // /proc/sys is the mode's now, not a default read-only path.
    expect(plan({}).ops.filter((o) => o.kind === "mount-setattr" && o.target.startsWith("/proc/")).map((o) => (o as { target: string }).target)).toEqual([
      "/proc/sys", "/proc/sys/net", "/proc/bus", "/proc/fs", "/proc/irq",
    ]);
  });

  it("ro: all read-only; rw: no read-only /proc/sys, a writable sysfs", () => {
    expect(modeOps({ proc: "ro", sys: "ro" })).toEqual(procSysRo);
    expect(sysfsFlags({ sys: "ro" })).toBe(R);
    expect(modeOps({ proc: "rw", sys: "rw" })).toEqual([]);
    expect(sysfsFlags({ sys: "rw" })).toBe(0);
    expect(modeOps({ proc: "rw" })).toEqual([{ kind: "mount-setattr", target: "/sys", set: R }, ...netRw("/sys/devices/virtual/net")]);
  });

  it("leaves nothing writable in mixed for confined host root or the host's network; privileged host root gets its own netns's", () => {
    expect(modeOps({ namespaces: { user: false } })).toEqual(procSysRo);
    expect(sysfsFlags({ namespaces: { user: false } })).toBe(R);
    expect(modeOps({ namespaces: { user: false }, privileged: true })).toEqual(modeOps({}));
    expect(modeOps({ namespaces: { user: false, net: false }, privileged: true })).toEqual(procSysRo);
    // The host's /sys in a user namespace: bound read-only (locked) unless rw.
    expect(modeOps({ namespaces: { net: false } })).toEqual(procSysRo);
    expect(plan({ namespaces: { net: false } }).lock!.binds).toContainEqual({ source: "/sys", recursive: true, isDir: true, readonly: true, idmap: false });
    expect(plan({ namespaces: { net: false }, sys: "rw" }).lock).toBeUndefined();
  });

  it("writes the sysctls after pivot_root, before /proc/sys turns read-only, naming the key", () => {
    const ops = plan({ sysctls: { "net.ipv4.ip_forward": "1", "kernel.shmmax": 1 << 20 } }).ops;
    const writes = ops.filter((o) => o.kind === "write-file");
    expect(writes).toEqual([
      { kind: "write-file", path: "/proc/sys/net/ipv4/ip_forward", data: "1", sysctl: "net.ipv4.ip_forward" },
      { kind: "write-file", path: "/proc/sys/kernel/shmmax", data: "1048576", sysctl: "kernel.shmmax" },
    ]);
    expect(describeOp(writes[0]!)).toBe("sysctl net.ipv4.ip_forward");
    const first = ops.indexOf(writes[0]!);
    expect(first).toBeGreaterThan(indexOf(ops, (o) => o.kind === "pivot-root"));
    expect(first).toBeLessThan(indexOf(ops, (o) => o.kind === "mount" && o.target === "/proc/sys"));
  });

  it("applies a user's read-only paths after the modes, so they can only add", () => {
    const ops = plan({ readonlyPaths: ["/proc/sys/net"] }).ops;
    const clear = indexOf(ops, (o) => o.kind === "mount-setattr" && o.target === "/proc/sys/net" && o.clear === R);
    const user = indexOf(ops, (o) => o.kind === "mount-setattr" && o.target === "/proc/sys/net" && o.set === R);
    expect(clear).toBeGreaterThan(0);
    expect(user).toBeGreaterThan(clear);
  });
});
