/**
 * The container configuration: a zod schema that is the single source of
 * truth. {@link ContainerConfig} is what users write (every field optional
 * where a sensible default exists); {@link ResolvedConfig} is what the rest
 * of warren trusts.
 * @module
 */
import { z } from "zod";

import { parseDeviceRule } from "../cgroup/devices.js";
import { limitsSchema } from "../cgroup/limits.js";
import { nicSchema, portSchema } from "./nic.js";
import { capabilityName } from "../linux/caps.js";
import { isKnownSyscall } from "../linux/syscalls.js";
import { DEFAULT_SECCOMP_DENY } from "./defaults.js";
import { NAME_PATTERN, RLIMITS } from "./constants.js";
import { signalNumber } from "./signals.js";
import { sysctlProblem } from "./sysctls.js";
import { absolutePath, containerPath } from "./paths.js";
import { devicesSchema } from "./devices.js";
import { seccompProfileSchema } from "./seccomp-profile.js";

export { absolutePath, containerPath } from "./paths.js";

// Kept importable from here (and from the package index); code that must not
// load zod imports them from constants.ts.
export { DEFAULT_MASKED_PATHS, DEFAULT_PATH, DEFAULT_READONLY_PATHS, NAME_PATTERN, RLIMIT_NUMBERS } from "./constants.js";

const noNul = (s: string) => !s.includes("\0");

const id = z.number().int().min(0).max(0xfffffffe);

const signal = z
  .union([z.string(), z.number()])
  .refine((s) => signalNumber(s) !== undefined, "unknown signal (use a name like SIGTERM or SIGRTMIN+3)");

const HOSTNAME = /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

const bindMount = z.strictObject({
  type: z.literal("bind"),
  /** Host path. */
  source: absolutePath,
  /** Path inside the container. */
  target: containerPath,
  readonly: z.boolean().default(false),
  /** Include the mounts below `source` (default, like `--rbind`). */
  recursive: z.boolean().default(true),
  /** Skip this mount when `source` does not exist instead of failing. */
  optional: z.boolean().default(false),
  /**
   * An idmapped bind (needs a user namespace): host files keep their ids
   * inside (owned by 1000 on the host, by 1000 in the container) instead of
   * appearing as `nobody`.
   */
  idmap: z.boolean().default(false),
});

const tmpfsMount = z.strictObject({
  type: z.literal("tmpfs"),
  target: containerPath,
  /** Size in bytes, or a tmpfs size string such as `"64m"` or `"10%"`. */
  size: z.union([z.number().int().positive(), z.string().regex(/^\d+[kmgKMG%]?$/, "must look like 65536, 64m or 10%")]).optional(),
  mode: z.number().int().min(0).max(0o7777).default(0o755),
  readonly: z.boolean().default(false),
});

export const mountSchema = z.discriminatedUnion("type", [bindMount, tmpfsMount]);

const rootfsSchema = z
  .union([
    absolutePath,
    z.strictObject({
      path: absolutePath,
      /**
       * `rw`: the directory itself, writable. `ro`: read-only. `overlay`:
       * read-only directory with a tmpfs overlay on top, so writes vanish
       * when the container stops.
       */
      mode: z.enum(["rw", "ro", "overlay"]).default("rw"),
      /**
       * Mount the directory idmapped through the container's user namespace,
       * so its files (owned by host root, say) appear owned by the
       * container's root, without copying or chowning them. In `overlay`
       * mode it is the lower layer that is idmapped, which is what lets the
       * container change root-owned files there (a copy-up keeps owners).
       */
      idmap: z.boolean().default(false),
    }),
  ])
  .transform((r) => (typeof r === "string" ? { path: r, mode: "rw" as const, idmap: false } : r))
  .refine((r) => r.mode !== "overlay" || !/[,:\\]/.test(r.path), {
    message: "an overlay lower directory must not contain `,`, `:` or `\\`",
    path: ["path"],
  });

/** How writable a container's /proc/sys or /sys is (LXC's `proc:mixed`, `sys:mixed`...). */
const procSysMode = z.enum(["mixed", "ro", "rw"]).default("mixed");

/** A sysctl value as written to its file: a string (`"0 2147483647"`) or a number. */
const sysctlValue = z
  .union([z.string(), z.number().int()])
  .transform((v) => String(v))
  .refine((v) => v.length > 0 && v.length < 4096, "must be 1 to 4095 characters")
  .refine((v) => !/[\0\n]/.test(v), "must not contain NUL or a newline");

const limitValue = z.union([z.number().int().min(0), z.literal("unlimited")]);
const rlimit = z
  .union([limitValue, z.strictObject({ soft: limitValue, hard: limitValue })])
  .transform((v) => (typeof v === "object" ? v : { soft: v, hard: v }));

// Canonical names in the resolved config, whatever form was written.
const capability = z
  .string()
  .refine((c) => capabilityName(c) !== undefined, { error: (i) => `unknown capability ${JSON.stringify(i.input)} (names like CAP_SYS_ADMIN or sys_admin)` })
  .transform((c) => capabilityName(c)!);

/**
 * A namespace joined instead of made: another container's (by name, in the
 * same runtime root; it must be running whenever this one starts), or a
 * namespace file such as `/proc/PID/ns/net` or a bind mount of one.
 */
export const sharedNamespaceSchema = z.union([
  z.strictObject({ container: z.string().regex(NAME_PATTERN, "must be a container name") }),
  z.strictObject({ path: absolutePath }),
]);

/** Only net, ipc and uts can be joined (docs/system-containers.md, "Shared namespaces"). */
const ownOnly = (what: string, why: string) =>
  z.boolean({ error: (i) => (typeof i.input === "object" && i.input !== null ? `the ${what} namespace cannot be shared: ${why}` : "must be true or false") });

export const namespacesSchema = z.strictObject({
  /** A user namespace with its own id range (unprivileged container). */
  user: ownOnly("user", "the kernel refuses setns into a user namespace to a multithreaded process, and a shared one would share the id range").default(true),
  pid: ownOnly("pid", "only net, ipc and uts can be joined").default(true),
  /**
   * A private network namespace with only `lo`, up. `false` shares the
   * host's network; `{container}` or `{path}` joins that network namespace
   * (a pod: the containers reach each other on 127.0.0.1; no NICs of its own).
   */
  net: z.union([z.boolean(), sharedNamespaceSchema]).default(true),
  /** Its own hostname; `{container}` or `{path}` shares that UTS namespace's (no `hostname` of its own). */
  uts: z.union([z.boolean(), sharedNamespaceSchema]).default(true),
  /** Its own System V IPC and POSIX message queues; `{container}` or `{path}` shares those. */
  ipc: z.union([z.boolean(), sharedNamespaceSchema]).default(true),
  cgroup: ownOnly("cgroup", "the container's cgroup namespace is rooted at its own cgroup").default(true),
  /** A time namespace (CLOCK_MONOTONIC/BOOTTIME offsets); off by default. */
  time: ownOnly("time", "only net, ipc and uts can be joined").default(false),
});

export const idmapSchema = z.strictObject({
  /** First host uid; container uid 0 maps to it. */
  hostUid: id,
  /** First host gid; container gid 0 maps to it. */
  hostGid: id,
  /** Number of ids mapped (65536 by default). */
  size: z.number().int().min(1).max(0xffffffff).default(65536),
});

/** Only the size of the range warren allocates: `{size: 1_000_000}` for a container that runs containers itself (docs/nesting.md). */
export const idmapSizeSchema = z.strictObject({
  /** Ids in the range: at least 65536; above that, room for nested containers' own ranges (65536 each). */
  size: z.number().int().min(65536, "must be at least 65536 (a container's own ids)").max(0x40000000, "must be at most 2^30"),
});

export const containerSchema = z
  .strictObject({
    /**
     * Root filesystem: a host directory (absolute), or `{path, mode}`.
     * Omitted: the embedded default, built from the host's own `/usr`
     * without copying it.
     */
    rootfs: rootfsSchema.optional(),
    /**
     * An image from the store (tag or id): the container's root is an
     * overlay on it, its changes kept in its state directory, so create
     * costs the same whatever the image's size.
     */
    image: z.string().min(1).optional(),
    /**
     * Where an image-based container keeps its root: `overlay` (the image as
     * lower layer, the container's changes in `<state>/upper`), `btrfs` (a
     * writable btrfs snapshot of the image's subvolume; the runtime root
     * must be on btrfs), or `auto` (btrfs when the runtime root is on btrfs,
     * else overlay).
     */
    storage: z.enum(["auto", "overlay", "btrfs"]).default("auto"),
    /**
     * Start from another container's snapshot: the new container is made on
     * that container's image (when `image` is not given) and its changes
     * begin as the snapshot's, moved to the new container's own id range.
     * Only read at create; not kept in the recorded config.
     */
    from: z.strictObject({ container: z.string().regex(NAME_PATTERN, "must be a container name"), snapshot: z.string().regex(NAME_PATTERN, "must be a snapshot name") }).optional(),
    /** The init's argv. Default: `/sbin/init` for a given rootfs, an idle shell loop for the embedded default. */
    init: z.array(z.string().min(1).refine(noNul, "must not contain NUL")).min(1).optional(),
    /** Environment of the init (and default for exec). `PATH`, `HOME`, `TERM` and `container` get defaults. */
    env: z.record(z.string().regex(/^[^=\0]+$/, "must be a valid variable name"), z.string().refine(noNul, "must not contain NUL")).default({}),
    /** The init's working directory. Default: the image's `WorkingDir`, else `/`. */
    cwd: containerPath.optional(),
    /** Credentials of the init inside the container. */
    user: z
      .strictObject({ uid: id, gid: id, groups: z.array(id).default([]) })
      .prefault({ uid: 0, gid: 0 }),
    /** Default: the container's name (when it is a valid hostname). */
    hostname: z.string().regex(HOSTNAME, "must be a valid hostname").optional(),
    domainname: z.string().regex(HOSTNAME, "must be a valid domain name").optional(),
    namespaces: namespacesSchema.prefault({}),
    /**
     * Explicit id mapping; by default a free 65536-id range is allocated.
     * `{size}` alone: a free range of that size (a nesting container's
     * nested containers get their ranges from it).
     */
    idmap: z.union([idmapSchema, idmapSizeSchema], { error: (i) => (i.code === "invalid_union" ? "must be {hostUid, hostGid, size?} or {size}" : undefined) }).optional(),
    /**
     * Ready to run containers itself (warren, LXC, Docker, podman): a fully
     * visible procfs and sysfs kept at /dev/.lxc/{proc,sys} (the kernel then
     * allows new proc and sysfs mounts in nested namespaces; the
     * container's own /proc keeps its masks), /dev/fuse and /dev/net/tun,
     * and keyctl answered with ENOSYS so runc goes on without a session
     * keyring. Needs a user namespace. See docs/nesting.md.
     */
    nesting: z.boolean().default(false),
    /**
     * `intercept`: calls a user namespace refuses that the container's
     * monitor makes for it, in their harmless cases only (Incus's
     * `security.syscalls.intercept.*`): `mknod` of an overlay whiteout (a
     * 0:0 character device) or of a standard node (/dev/null, zero, full,
     * random, urandom, tty, console, ptmx), and `setxattr` of
     * `trusted.overlay.opaque`. Off by default; needs a user namespace. See
     * docs/nesting.md.
     */
    security: z
      .strictObject({
        intercept: z.strictObject({ mknod: z.boolean().optional(), setxattr: z.boolean().optional() }).optional(),
      })
      .optional(),
    mounts: z.array(mountSchema).default([]),
    /**
     * Signal asking the init to shut down. Default: chosen by the init found
     * in the rootfs: SIGRTMIN+3 for systemd, SIGPWR for sysvinit, SIGUSR2
     * (poweroff) for busybox init, SIGTERM otherwise.
     */
    haltSignal: signal.optional(),
    /**
     * A console: a pty whose slave is the init's stdin/stdout/stderr and
     * `/dev/console`, whose master a small monitor process keeps (with the
     * last output in a ring buffer) for `console()` and `consoleLog()`.
     * Default: on when the init is a system init found in the rootfs
     * (systemd, sysvinit, busybox init), off for any other program run as
     * init. `start({stdio})` given explicitly replaces it.
     */
    console: z.boolean().optional(),
    /** Bytes of console output kept for `consoleLog()` (default 128 KiB). */
    consoleLogSize: z.number().int().min(1024).max(64 * 1024 * 1024).default(128 * 1024),
    /**
     * When the container is ready, for `start({wait: "ready"})`. Default: the
     * init's READY=1 through $NOTIFY_SOCKET when it is systemd, otherwise
     * as soon as the init runs. Or a probe polled until it passes: a command
     * run in the container (exit 0), a TCP port accepting connections on the
     * container's first address, a file existing in the container.
     */
    ready: z
      .union([
        z.strictObject({ notify: z.literal(true) }),
        z.strictObject({ exec: z.array(z.string().min(1)).min(1) }),
        z.strictObject({ tcp: z.number().int().min(1).max(65535) }),
        z.strictObject({ file: absolutePath }),
      ])
      .optional(),
    /** What a reboot from inside does (the init killed by SIGHUP from reboot(2)): start it again (default), or stay stopped. */
    onReboot: z.enum(["restart", "stop"]).default("restart"),
    /**
     * Whether warren starts the container again when its init ends by
     * itself: `"no"` (default), `"on-failure"` (a non-zero exit code, or
     * killed by a signal; not a power-off from inside), `"always"` (any end
     * but a stop through warren). A reboot from inside follows `onReboot`.
     * Done by the container's monitor, so it works after the process that
     * started the container is gone; more than 10 restarts within a minute
     * leave it stopped (docs/system-containers.md, "Restart policies").
     */
    restart: z.enum(["no", "on-failure", "always"]).default("no"),
    /** Milliseconds `stop()` waits after the halt signal before killing everything. */
    stopTimeout: z.number().int().min(0).max(3_600_000).default(10_000),
    /** Destroyed when it stops, and killed when the Node process that started it exits. */
    ephemeral: z.boolean().default(false),
    rlimits: z.partialRecord(z.enum(RLIMITS), rlimit).default({}),
    /**
     * The bounding set (names like `CAP_SYS_MODULE` or `sys_module`): by
     * default every capability but `DEFAULT_CAP_DROP`. `drop` removes more
     * (the defaults stay dropped); `keep` makes it exactly these, to keep one
     * of the defaults. Not both.
     */
    capabilities: z
      .strictObject({
        /** Dropped from the bounding set in addition to `DEFAULT_CAP_DROP`. */
        drop: z.array(capability).optional(),
        /** The bounding set is exactly these (still within what a container without a user namespace may keep). */
        keep: z.array(capability).optional(),
      })
      .prefault({})
      .refine((c) => c.keep === undefined || c.drop === undefined, {
        message: "give either keep (exactly these) or drop (in addition to the defaults), not both",
        path: ["keep"],
      }),
    /**
     * The init's /proc/PID/oom_score_adj (-1000 never killed for memory …
     * 1000 killed first), inherited by what it starts. Written by warren
     * before the init runs; below the embedder's value only with
     * CAP_SYS_RESOURCE (then the container cannot lower it further).
     */
    oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
    noNewPrivileges: z.boolean().default(false),
    /**
     * Only with `namespaces.user: false`: keep root's full capabilities
     * (CAP_SYS_ADMIN, CAP_SYSLOG, CAP_PERFMON…) and a writable cgroup, which
     * makes the container's root the host's root. Without it such a
     * container keeps only the capabilities Docker gives root (see
     * `HOST_ROOT_CAP_KEEP`) and cannot mount, read the kernel log or change
     * its own limits. For trusted workloads only: docs/security.md.
     */
    privileged: z.boolean().default(false),
    /**
     * A deny-list seccomp filter (LXC/Incus spirit), `{profile}` for an OCI
     * seccomp profile instead (Docker's and podman's JSON format, an allow
     * list with argument rules: docs/security.md), or `false` for none.
     */
    seccomp: z
      .union([
        z.literal(false),
        z.strictObject({ profile: seccompProfileSchema }),
        z.strictObject({
          // Not with a deny list. (Declared so that a `{profile}` with a
          // mistake inside fails here too, and the error names the mistake.)
          profile: z.never().optional(),
          deny: z
            .array(z.string().refine(isKnownSyscall, { error: (i) => `unknown system call ${JSON.stringify(i.input)}` }))
            .default([...DEFAULT_SECCOMP_DENY]),
          /** errno returned by a denied call (default EPERM). */
          errno: z.number().int().min(1).max(4095).default(1),
        }),
      ])
      .prefault({}),
    /**
     * Devices a privileged container (no user namespace) may use beyond the
     * standard ones (null, zero, full, random, urandom, tty, console, ptmx,
     * pts, fuse, tun), as `"TYPE MAJOR:MINOR ACCESS"` rules: `"c 10:237 rw"`,
     * `"b 8:* r"`. Enforced by an eBPF device program on the container's
     * cgroup; a container with a user namespace is bound by the kernel's own
     * rules instead (it cannot mknod, and only sees devices bound in).
     */
    deviceRules: z
      .array(z.string().refine((r) => { try { parseDeviceRule(r); return true; } catch { return false; } }, "must be a device rule like `c 10:237 rw`"))
      .default([]),
    /**
     * Devices passed in (name → spec): host character and block nodes, disks
     * (host directories, files, block devices' filesystems); added and
     * removed live with `addDevice`/`removeDevice`. See docs/devices.md.
     */
    devices: devicesSchema.default({}),
    /** Network interfaces (bridged veth, macvlan, physical). None: only `lo`, in the container's own network namespace. */
    nics: z.array(nicSchema).default([]),
    /** Inbound port forwards to the container's first bridged NIC (nftables). */
    ports: z.array(portSchema).default([]),
    /** Nameservers for the container's /etc/resolv.conf (default: the host's). */
    dns: z.array(z.string().regex(/^[0-9a-fA-F.:]+$/, "must be an IP address")).optional(),
    /** cgroup v2 limits (memory, cpu, pids, io, hugetlb), applied before the init runs and changeable live with `setLimits`. */
    limits: limitsSchema.optional(),
    /**
     * Skip limits whose controller this host cannot give to cgroup v2 (they
     * are listed in `container.warnings`) instead of failing.
     */
    bestEffortLimits: z.boolean().default(false),
    /** Paths made unreadable (a file gets /dev/null over it, a directory an empty read-only tmpfs). */
    maskedPaths: z.array(absolutePath).optional(),
    /** Paths made read-only. */
    readonlyPaths: z.array(absolutePath).optional(),
    /**
     * lxcfs's views of `/proc/meminfo`, `cpuinfo`, `stat`, `uptime`,
     * `loadavg`, `diskstats`, `swaps` and `/sys/devices/system/cpu`, bound
     * read-only over the container's own so `free`, `top`, `uptime` show its
     * limits and start time. `"auto"` (default): when lxcfs runs on the host
     * (a `fuse.lxcfs` mount); `true`: the start fails when it does not;
     * `false`: never. See docs/system-containers.md.
     */
    lxcfs: z.union([z.literal("auto"), z.boolean()]).default("auto"),
    /**
     * How much of /proc/sys the container may write, as LXC's
     * `lxc.mount.auto`: `mixed` read-only but /proc/sys/net, its own network
     * namespace's (writable only where its root may administer that
     * namespace: with a user namespace, or `privileged`); `ro` all of it
     * read-only; `rw` all of it as writable as the kernel lets its root
     * (needs a user namespace or `privileged`).
     */
    proc: procSysMode,
    /** The same for /sys: `mixed` read-only but /sys/devices/virtual/net (its own interfaces). */
    sys: procSysMode,
    /**
     * Sysctls written before the init runs, `{"net.ipv4.ip_forward": "1"}`:
     * only keys of the container's own namespaces (net.* with its own
     * network namespace; kernel.msgmax, kernel.sem, kernel.shm*,
     * fs.mqueue.* with its own ipc namespace). Host-global ones are refused.
     */
    sysctls: z.record(z.string(), sysctlValue).default({}),
  })
  .superRefine((c, ctx) => {
    if (c.image !== undefined && c.rootfs !== undefined) {
      ctx.addIssue({ code: "custom", path: ["image"], message: "give either rootfs or image" });
    }
    if (c.from !== undefined && c.rootfs !== undefined) {
      ctx.addIssue({ code: "custom", path: ["from"], message: "a container made from a snapshot uses its source's image, not a rootfs" });
    }
    if (c.storage !== "auto" && c.image === undefined && c.from === undefined) {
      ctx.addIssue({ code: "custom", path: ["storage"], message: "applies to containers made from an image" });
    }
    if (!c.namespaces.user) {
      if (c.rootfs?.idmap) ctx.addIssue({ code: "custom", path: ["rootfs", "idmap"], message: "needs a user namespace" });
      c.mounts.forEach((m, i) => {
        if (m.type === "bind" && m.idmap) ctx.addIssue({ code: "custom", path: ["mounts", i, "idmap"], message: "needs a user namespace" });
      });
    }
    for (const [name, d] of Object.entries(c.devices)) {
      if (d.type === "disk" && d.idmap && !c.namespaces.user) ctx.addIssue({ code: "custom", path: ["devices", name, "idmap"], message: "needs a user namespace" });
    }
    if (c.deviceRules.length > 0 && c.namespaces.user) {
      ctx.addIssue({
        code: "custom",
        path: ["deviceRules"],
        message: "only for a container without a user namespace (namespaces.user: false); with one, it sees only the devices bound in",
      });
    }
    if (c.restart !== "no" && c.ephemeral) {
      ctx.addIssue({ code: "custom", path: ["restart"], message: "an ephemeral container is destroyed when it stops; it cannot be restarted" });
    }
    if (c.nics.length > 0 && c.namespaces.net !== true) {
      ctx.addIssue({ code: "custom", path: ["nics"], message: "needs the container's own network namespace (namespaces.net)" });
    }
    if (typeof c.namespaces.uts === "object") {
      if (c.hostname !== undefined) ctx.addIssue({ code: "custom", path: ["hostname"], message: "the container shares another UTS namespace (namespaces.uts), whose hostname it has" });
      if (c.domainname !== undefined) ctx.addIssue({ code: "custom", path: ["domainname"], message: "the container shares another UTS namespace (namespaces.uts), whose domain name it has" });
    }
    const names = c.nics.map((n) => n.name ?? (n.type === "physical" ? n.parent : "eth0"));
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: ["nics", i, "name"], message: `duplicate interface name ${n}` });
    });
    if (c.ports.length > 0 && !c.nics.some((n) => n.type === "bridged")) {
      ctx.addIssue({ code: "custom", path: ["ports"], message: "port forwards need a bridged NIC" });
    }
    if (c.privileged && c.namespaces.user) {
      ctx.addIssue({
        code: "custom",
        path: ["privileged"],
        message: "only for a container without a user namespace (namespaces.user: false); root in a user namespace has no host privileges to keep",
      });
    }
    if (c.idmap && !c.namespaces.user) {
      ctx.addIssue({ code: "custom", path: ["idmap"], message: "needs namespaces.user" });
    }
    // Root of a container without a user namespace is the host's: with a
    // fully visible /proc and /sys it would reach the host's kernel knobs.
    if (c.nesting && !c.namespaces.user) {
      ctx.addIssue({ code: "custom", path: ["nesting"], message: "needs a user namespace (a nested runtime's root must not be the host's)" });
    }
    // Without one the container's root makes device nodes itself: nothing to intercept.
    if ((c.security?.intercept?.mknod || c.security?.intercept?.setxattr) && !c.namespaces.user) {
      ctx.addIssue({ code: "custom", path: ["security", "intercept"], message: "needs a user namespace (without one the container's root makes these calls itself)" });
    }
    // Without a user namespace the container's root is the host's: sysctl
    // and sysfs files check only the uid, so a writable /proc/sys or /sys
    // is the host's kernel settings.
    for (const field of ["proc", "sys"] as const) {
      if (c[field] === "rw" && !c.namespaces.user && !c.privileged) {
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: `"rw" without a user namespace makes the host's ${field === "proc" ? "/proc/sys" : "/sys"} writable to the container (its root is the host's root): only with privileged: true`,
        });
      }
    }
    for (const key of Object.keys(c.sysctls)) {
      const problem = sysctlProblem(key, c.namespaces);
      if (problem) ctx.addIssue({ code: "custom", path: ["sysctls", key], message: problem });
    }
  });

/** What users write. */
export type ContainerConfig = z.input<typeof containerSchema>;
/** A validated configuration with every default filled in (except those that depend on the name or rootfs). */
export type ResolvedConfig = z.output<typeof containerSchema>;
export type MountConfig = z.output<typeof mountSchema>;
export type IdMap = z.output<typeof idmapSchema>;
