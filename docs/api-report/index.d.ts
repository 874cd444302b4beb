import { Writable, Readable, Duplex } from 'node:stream';
import { z } from 'zod';

/** One device rule, as in the v1 devices controller (`c 1:3 rwm`). */
interface DeviceRule {
    /** `c` character device, `b` block device, `a` both. */
    type: "c" | "b" | "a";
    major: number | "*";
    minor: number | "*";
    /** A non-empty subset of `rwm`: read, write, mknod. */
    access: string;
    /** Allow (true) or deny (false) what the rule matches. */
    allow: boolean;
}

/**
 * Resource limits: the zod schema users write (LXD-style human units). The
 * pure translation into cgroup v2 interface files is in `limit-writes.ts`
 * (zod-free, so paths that only apply recorded limits do not load zod);
 * applying them, and checking that their controllers are usable on this
 * host, is in `apply.ts`.
 * @module
 */

declare const limitsSchema: z.ZodObject<{
    memory: z.ZodOptional<z.ZodObject<{
        max: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
        high: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
        swapMax: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
        oomGroupKill: z.ZodOptional<z.ZodBoolean>;
    }, z.core.$strict>>;
    cpu: z.ZodOptional<z.ZodObject<{
        max: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
        weight: z.ZodOptional<z.ZodNumber>;
        cpus: z.ZodOptional<z.ZodString>;
        mems: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>>;
    pids: z.ZodOptional<z.ZodObject<{
        max: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">]>>;
    }, z.core.$strict>>;
    io: z.ZodOptional<z.ZodObject<{
        weight: z.ZodOptional<z.ZodNumber>;
        max: z.ZodOptional<z.ZodArray<z.ZodObject<{
            device: z.ZodString;
            rbps: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
            wbps: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
            riops: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">]>>;
            wiops: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">]>>;
        }, z.core.$strict>>>;
    }, z.core.$strict>>;
    hugetlb: z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>>;
}, z.core.$strict>;
type Limits = z.input<typeof limitsSchema>;
type ResolvedLimits = z.output<typeof limitsSchema>;

interface Pressure {
    /** Share of time (percent) some tasks were stalled, over 10 s, 60 s, 300 s. */
    avg10: number;
    avg60: number;
    avg300: number;
    /** Total stall time in µs. */
    total: number;
}
interface ContainerStats {
    cpu: {
        usageUsec: number;
        userUsec: number;
        systemUsec: number;
        /** cpu.max enforcement (cpu controller only). */
        periods?: number;
        throttledPeriods?: number;
        throttledUsec?: number;
    };
    memory?: {
        current: number;
        peak?: number;
        swapCurrent?: number;
        /** memory.events: times memory.max was hit, OOM situations and OOM kills. */
        events: {
            low: number;
            high: number;
            max: number;
            oom: number;
            oomKill: number;
            oomGroupKill: number;
        };
    };
    pids?: {
        current: number;
        max?: number | "max";
    };
    /** io.stat per device `MAJOR:MINOR`. */
    io?: Record<string, {
        rbytes: number;
        wbytes: number;
        rios: number;
        wios: number;
        dbytes: number;
        dios: number;
    }>;
    pressure: {
        cpu?: {
            some: Pressure;
            full?: Pressure;
        };
        memory?: {
            some: Pressure;
            full: Pressure;
        };
        io?: {
            some: Pressure;
            full: Pressure;
        };
    };
}

/** Where containers live, and the cgroup subtree they use. */
interface RuntimeOptions {
    /** State directory (default `/var/lib/warren`). */
    root?: string;
    /**
     * Name of the cgroup v2 subtree (below the cgroup2 mount) holding this
     * root's containers. Default `warren` for the default root, and
     * `warren-<hash of root>` for any other, so two roots never collide.
     */
    cgroupParent?: string;
}

/**
 * The container configuration: a zod schema that is the single source of
 * truth. {@link ContainerConfig} is what users write (every field optional
 * where a sensible default exists); {@link ResolvedConfig} is what the rest
 * of warren trusts.
 * @module
 */

declare const mountSchema: z.ZodDiscriminatedUnion<[z.ZodObject<{
    type: z.ZodLiteral<"bind">;
    source: z.ZodString;
    target: z.ZodString;
    readonly: z.ZodDefault<z.ZodBoolean>;
    recursive: z.ZodDefault<z.ZodBoolean>;
    optional: z.ZodDefault<z.ZodBoolean>;
    idmap: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict>, z.ZodObject<{
    type: z.ZodLiteral<"tmpfs">;
    target: z.ZodString;
    size: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>>;
    mode: z.ZodDefault<z.ZodNumber>;
    readonly: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict>], "type">;
declare const idmapSchema: z.ZodObject<{
    hostUid: z.ZodNumber;
    hostGid: z.ZodNumber;
    size: z.ZodDefault<z.ZodNumber>;
}, z.core.$strict>;
declare const containerSchema: z.ZodObject<{
    rootfs: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodString, z.ZodObject<{
        path: z.ZodString;
        mode: z.ZodDefault<z.ZodEnum<{
            rw: "rw";
            ro: "ro";
            overlay: "overlay";
        }>>;
        idmap: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>]>, z.ZodTransform<{
        path: string;
        mode: "rw" | "ro" | "overlay";
        idmap: boolean;
    }, string | {
        path: string;
        mode: "rw" | "ro" | "overlay";
        idmap: boolean;
    }>>>;
    image: z.ZodOptional<z.ZodString>;
    storage: z.ZodDefault<z.ZodEnum<{
        overlay: "overlay";
        auto: "auto";
        btrfs: "btrfs";
    }>>;
    from: z.ZodOptional<z.ZodObject<{
        container: z.ZodString;
        snapshot: z.ZodString;
    }, z.core.$strict>>;
    init: z.ZodOptional<z.ZodArray<z.ZodString>>;
    env: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodString>>;
    cwd: z.ZodOptional<z.ZodString>;
    user: z.ZodPrefault<z.ZodObject<{
        uid: z.ZodNumber;
        gid: z.ZodNumber;
        groups: z.ZodDefault<z.ZodArray<z.ZodNumber>>;
    }, z.core.$strict>>;
    hostname: z.ZodOptional<z.ZodString>;
    domainname: z.ZodOptional<z.ZodString>;
    namespaces: z.ZodPrefault<z.ZodObject<{
        user: z.ZodDefault<z.ZodBoolean>;
        pid: z.ZodDefault<z.ZodBoolean>;
        net: z.ZodDefault<z.ZodUnion<readonly [z.ZodBoolean, z.ZodUnion<readonly [z.ZodObject<{
            container: z.ZodString;
        }, z.core.$strict>, z.ZodObject<{
            path: z.ZodString;
        }, z.core.$strict>]>]>>;
        uts: z.ZodDefault<z.ZodUnion<readonly [z.ZodBoolean, z.ZodUnion<readonly [z.ZodObject<{
            container: z.ZodString;
        }, z.core.$strict>, z.ZodObject<{
            path: z.ZodString;
        }, z.core.$strict>]>]>>;
        ipc: z.ZodDefault<z.ZodUnion<readonly [z.ZodBoolean, z.ZodUnion<readonly [z.ZodObject<{
            container: z.ZodString;
        }, z.core.$strict>, z.ZodObject<{
            path: z.ZodString;
        }, z.core.$strict>]>]>>;
        cgroup: z.ZodDefault<z.ZodBoolean>;
        time: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>>;
    idmap: z.ZodOptional<z.ZodUnion<readonly [z.ZodObject<{
        hostUid: z.ZodNumber;
        hostGid: z.ZodNumber;
        size: z.ZodDefault<z.ZodNumber>;
    }, z.core.$strict>, z.ZodObject<{
        size: z.ZodNumber;
    }, z.core.$strict>]>>;
    nesting: z.ZodDefault<z.ZodBoolean>;
    security: z.ZodOptional<z.ZodObject<{
        intercept: z.ZodOptional<z.ZodObject<{
            mknod: z.ZodOptional<z.ZodBoolean>;
            setxattr: z.ZodOptional<z.ZodBoolean>;
        }, z.core.$strict>>;
    }, z.core.$strict>>;
    mounts: z.ZodDefault<z.ZodArray<z.ZodDiscriminatedUnion<[z.ZodObject<{
        type: z.ZodLiteral<"bind">;
        source: z.ZodString;
        target: z.ZodString;
        readonly: z.ZodDefault<z.ZodBoolean>;
        recursive: z.ZodDefault<z.ZodBoolean>;
        optional: z.ZodDefault<z.ZodBoolean>;
        idmap: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>, z.ZodObject<{
        type: z.ZodLiteral<"tmpfs">;
        target: z.ZodString;
        size: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>>;
        mode: z.ZodDefault<z.ZodNumber>;
        readonly: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>], "type">>>;
    haltSignal: z.ZodOptional<z.ZodUnion<readonly [z.ZodString, z.ZodNumber]>>;
    console: z.ZodOptional<z.ZodBoolean>;
    consoleLogSize: z.ZodDefault<z.ZodNumber>;
    ready: z.ZodOptional<z.ZodUnion<readonly [z.ZodObject<{
        notify: z.ZodLiteral<true>;
    }, z.core.$strict>, z.ZodObject<{
        exec: z.ZodArray<z.ZodString>;
    }, z.core.$strict>, z.ZodObject<{
        tcp: z.ZodNumber;
    }, z.core.$strict>, z.ZodObject<{
        file: z.ZodString;
    }, z.core.$strict>]>>;
    onReboot: z.ZodDefault<z.ZodEnum<{
        restart: "restart";
        stop: "stop";
    }>>;
    restart: z.ZodDefault<z.ZodEnum<{
        no: "no";
        "on-failure": "on-failure";
        always: "always";
    }>>;
    stopTimeout: z.ZodDefault<z.ZodNumber>;
    ephemeral: z.ZodDefault<z.ZodBoolean>;
    rlimits: z.ZodDefault<z.ZodRecord<z.ZodEnum<{
        cpu: "cpu";
        fsize: "fsize";
        data: "data";
        stack: "stack";
        core: "core";
        rss: "rss";
        nproc: "nproc";
        nofile: "nofile";
        memlock: "memlock";
        as: "as";
        locks: "locks";
        sigpending: "sigpending";
        msgqueue: "msgqueue";
        nice: "nice";
        rtprio: "rtprio";
        rttime: "rttime";
    }> & z.core.$partial, z.ZodPipe<z.ZodUnion<readonly [z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"unlimited">]>, z.ZodObject<{
        soft: z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"unlimited">]>;
        hard: z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"unlimited">]>;
    }, z.core.$strict>]>, z.ZodTransform<{
        soft: number | "unlimited";
        hard: number | "unlimited";
    }, number | "unlimited" | {
        soft: number | "unlimited";
        hard: number | "unlimited";
    }>>>>;
    capabilities: z.ZodPrefault<z.ZodObject<{
        drop: z.ZodOptional<z.ZodArray<z.ZodPipe<z.ZodString, z.ZodTransform<"CAP_CHOWN" | "CAP_DAC_OVERRIDE" | "CAP_DAC_READ_SEARCH" | "CAP_FOWNER" | "CAP_FSETID" | "CAP_KILL" | "CAP_SETGID" | "CAP_SETUID" | "CAP_SETPCAP" | "CAP_LINUX_IMMUTABLE" | "CAP_NET_BIND_SERVICE" | "CAP_NET_BROADCAST" | "CAP_NET_ADMIN" | "CAP_NET_RAW" | "CAP_IPC_LOCK" | "CAP_IPC_OWNER" | "CAP_SYS_MODULE" | "CAP_SYS_RAWIO" | "CAP_SYS_CHROOT" | "CAP_SYS_PTRACE" | "CAP_SYS_PACCT" | "CAP_SYS_ADMIN" | "CAP_SYS_BOOT" | "CAP_SYS_NICE" | "CAP_SYS_RESOURCE" | "CAP_SYS_TIME" | "CAP_SYS_TTY_CONFIG" | "CAP_MKNOD" | "CAP_LEASE" | "CAP_AUDIT_WRITE" | "CAP_AUDIT_CONTROL" | "CAP_SETFCAP" | "CAP_MAC_OVERRIDE" | "CAP_MAC_ADMIN" | "CAP_SYSLOG" | "CAP_WAKE_ALARM" | "CAP_BLOCK_SUSPEND" | "CAP_AUDIT_READ" | "CAP_PERFMON" | "CAP_BPF" | "CAP_CHECKPOINT_RESTORE", string>>>>;
        keep: z.ZodOptional<z.ZodArray<z.ZodPipe<z.ZodString, z.ZodTransform<"CAP_CHOWN" | "CAP_DAC_OVERRIDE" | "CAP_DAC_READ_SEARCH" | "CAP_FOWNER" | "CAP_FSETID" | "CAP_KILL" | "CAP_SETGID" | "CAP_SETUID" | "CAP_SETPCAP" | "CAP_LINUX_IMMUTABLE" | "CAP_NET_BIND_SERVICE" | "CAP_NET_BROADCAST" | "CAP_NET_ADMIN" | "CAP_NET_RAW" | "CAP_IPC_LOCK" | "CAP_IPC_OWNER" | "CAP_SYS_MODULE" | "CAP_SYS_RAWIO" | "CAP_SYS_CHROOT" | "CAP_SYS_PTRACE" | "CAP_SYS_PACCT" | "CAP_SYS_ADMIN" | "CAP_SYS_BOOT" | "CAP_SYS_NICE" | "CAP_SYS_RESOURCE" | "CAP_SYS_TIME" | "CAP_SYS_TTY_CONFIG" | "CAP_MKNOD" | "CAP_LEASE" | "CAP_AUDIT_WRITE" | "CAP_AUDIT_CONTROL" | "CAP_SETFCAP" | "CAP_MAC_OVERRIDE" | "CAP_MAC_ADMIN" | "CAP_SYSLOG" | "CAP_WAKE_ALARM" | "CAP_BLOCK_SUSPEND" | "CAP_AUDIT_READ" | "CAP_PERFMON" | "CAP_BPF" | "CAP_CHECKPOINT_RESTORE", string>>>>;
    }, z.core.$strict>>;
    oomScoreAdj: z.ZodOptional<z.ZodNumber>;
    noNewPrivileges: z.ZodDefault<z.ZodBoolean>;
    privileged: z.ZodDefault<z.ZodBoolean>;
    seccomp: z.ZodPrefault<z.ZodUnion<readonly [z.ZodLiteral<false>, z.ZodObject<{
        profile: z.ZodObject<{
            defaultAction: z.ZodEnum<{
                SCMP_ACT_ALLOW: "SCMP_ACT_ALLOW";
                SCMP_ACT_ERRNO: "SCMP_ACT_ERRNO";
                SCMP_ACT_KILL: "SCMP_ACT_KILL";
                SCMP_ACT_KILL_THREAD: "SCMP_ACT_KILL_THREAD";
                SCMP_ACT_KILL_PROCESS: "SCMP_ACT_KILL_PROCESS";
                SCMP_ACT_TRAP: "SCMP_ACT_TRAP";
                SCMP_ACT_TRACE: "SCMP_ACT_TRACE";
                SCMP_ACT_LOG: "SCMP_ACT_LOG";
            }>;
            defaultErrnoRet: z.ZodOptional<z.ZodNumber>;
            architectures: z.ZodOptional<z.ZodArray<z.ZodString>>;
            flags: z.ZodOptional<z.ZodArray<z.ZodEnum<{
                SECCOMP_FILTER_FLAG_TSYNC: "SECCOMP_FILTER_FLAG_TSYNC";
                SECCOMP_FILTER_FLAG_LOG: "SECCOMP_FILTER_FLAG_LOG";
                SECCOMP_FILTER_FLAG_SPEC_ALLOW: "SECCOMP_FILTER_FLAG_SPEC_ALLOW";
            }>>>;
            syscalls: z.ZodOptional<z.ZodArray<z.ZodObject<{
                names: z.ZodArray<z.ZodString>;
                action: z.ZodEnum<{
                    SCMP_ACT_ALLOW: "SCMP_ACT_ALLOW";
                    SCMP_ACT_ERRNO: "SCMP_ACT_ERRNO";
                    SCMP_ACT_KILL: "SCMP_ACT_KILL";
                    SCMP_ACT_KILL_THREAD: "SCMP_ACT_KILL_THREAD";
                    SCMP_ACT_KILL_PROCESS: "SCMP_ACT_KILL_PROCESS";
                    SCMP_ACT_TRAP: "SCMP_ACT_TRAP";
                    SCMP_ACT_TRACE: "SCMP_ACT_TRACE";
                    SCMP_ACT_LOG: "SCMP_ACT_LOG";
                }>;
                errnoRet: z.ZodOptional<z.ZodNumber>;
                args: z.ZodOptional<z.ZodArray<z.ZodObject<{
                    index: z.ZodNumber;
                    value: z.ZodNumber;
                    valueTwo: z.ZodOptional<z.ZodNumber>;
                    op: z.ZodEnum<{
                        SCMP_CMP_NE: "SCMP_CMP_NE";
                        SCMP_CMP_LT: "SCMP_CMP_LT";
                        SCMP_CMP_LE: "SCMP_CMP_LE";
                        SCMP_CMP_EQ: "SCMP_CMP_EQ";
                        SCMP_CMP_GE: "SCMP_CMP_GE";
                        SCMP_CMP_GT: "SCMP_CMP_GT";
                        SCMP_CMP_MASKED_EQ: "SCMP_CMP_MASKED_EQ";
                    }>;
                }, z.core.$strict>>>;
                comment: z.ZodOptional<z.ZodString>;
            }, z.core.$strict>>>;
        }, z.core.$strict>;
    }, z.core.$strict>, z.ZodObject<{
        profile: z.ZodOptional<z.ZodNever>;
        deny: z.ZodDefault<z.ZodArray<z.ZodString>>;
        errno: z.ZodDefault<z.ZodNumber>;
    }, z.core.$strict>]>>;
    deviceRules: z.ZodDefault<z.ZodArray<z.ZodString>>;
    devices: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodDiscriminatedUnion<[z.ZodObject<{
        source: z.ZodOptional<z.ZodString>;
        major: z.ZodOptional<z.ZodNumber>;
        minor: z.ZodOptional<z.ZodNumber>;
        path: z.ZodOptional<z.ZodString>;
        uid: z.ZodDefault<z.ZodNumber>;
        gid: z.ZodDefault<z.ZodNumber>;
        mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>, z.ZodTransform<number, string | number>>>;
        required: z.ZodDefault<z.ZodBoolean>;
        type: z.ZodLiteral<"unix-char">;
    }, z.core.$strict>, z.ZodObject<{
        source: z.ZodOptional<z.ZodString>;
        major: z.ZodOptional<z.ZodNumber>;
        minor: z.ZodOptional<z.ZodNumber>;
        path: z.ZodOptional<z.ZodString>;
        uid: z.ZodDefault<z.ZodNumber>;
        gid: z.ZodDefault<z.ZodNumber>;
        mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>, z.ZodTransform<number, string | number>>>;
        required: z.ZodDefault<z.ZodBoolean>;
        type: z.ZodLiteral<"unix-block">;
    }, z.core.$strict>, z.ZodObject<{
        type: z.ZodLiteral<"disk">;
        source: z.ZodString;
        path: z.ZodString;
        readonly: z.ZodDefault<z.ZodBoolean>;
        idmap: z.ZodDefault<z.ZodBoolean>;
        fstype: z.ZodOptional<z.ZodString>;
        required: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>, z.ZodObject<{
        mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
        uid: z.ZodDefault<z.ZodNumber>;
        gid: z.ZodDefault<z.ZodNumber>;
        type: z.ZodLiteral<"usb">;
        vendorid: z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>;
        productid: z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>>;
        serial: z.ZodOptional<z.ZodString>;
        busnum: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
        devnum: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
        required: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>, z.ZodObject<{
        mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
        uid: z.ZodDefault<z.ZodNumber>;
        gid: z.ZodDefault<z.ZodNumber>;
        type: z.ZodLiteral<"gpu">;
        vendor: z.ZodOptional<z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>, z.ZodTransform<string, string>>>;
        pci: z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>>;
        id: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
        nvidiaRuntime: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>], "type">>>;
    nics: z.ZodDefault<z.ZodArray<z.ZodDiscriminatedUnion<[z.ZodObject<{
        type: z.ZodLiteral<"bridged">;
        name: z.ZodDefault<z.ZodString>;
        bridge: z.ZodOptional<z.ZodString>;
        subnet: z.ZodOptional<z.ZodString>;
        subnet6: z.ZodOptional<z.ZodString>;
        ipv4: z.ZodOptional<z.ZodString>;
        gateway: z.ZodOptional<z.ZodString>;
        mtu: z.ZodOptional<z.ZodNumber>;
        mac: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>, z.ZodObject<{
        type: z.ZodLiteral<"macvlan">;
        name: z.ZodDefault<z.ZodString>;
        parent: z.ZodString;
        mode: z.ZodDefault<z.ZodLiteral<"bridge">>;
        ipv4: z.ZodOptional<z.ZodString>;
        gateway: z.ZodOptional<z.ZodString>;
        mtu: z.ZodOptional<z.ZodNumber>;
        mac: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>, z.ZodObject<{
        type: z.ZodLiteral<"physical">;
        parent: z.ZodString;
        name: z.ZodOptional<z.ZodString>;
        ipv4: z.ZodOptional<z.ZodString>;
        gateway: z.ZodOptional<z.ZodString>;
        mtu: z.ZodOptional<z.ZodNumber>;
    }, z.core.$strict>, z.ZodObject<{
        type: z.ZodLiteral<"routed">;
        name: z.ZodDefault<z.ZodString>;
        ipv4: z.ZodString;
        ipv6: z.ZodOptional<z.ZodString>;
        parent: z.ZodOptional<z.ZodString>;
        gateway: z.ZodDefault<z.ZodString>;
        gateway6: z.ZodDefault<z.ZodString>;
        mtu: z.ZodOptional<z.ZodNumber>;
        mac: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>], "type">>>;
    ports: z.ZodDefault<z.ZodArray<z.ZodObject<{
        host: z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>, z.ZodTransform<string, string | number>>;
        container: z.ZodNumber;
        proto: z.ZodDefault<z.ZodEnum<{
            tcp: "tcp";
            udp: "udp";
        }>>;
    }, z.core.$strict>>>;
    dns: z.ZodOptional<z.ZodArray<z.ZodString>>;
    limits: z.ZodOptional<z.ZodObject<{
        memory: z.ZodOptional<z.ZodObject<{
            max: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
            high: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
            swapMax: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
            oomGroupKill: z.ZodOptional<z.ZodBoolean>;
        }, z.core.$strict>>;
        cpu: z.ZodOptional<z.ZodObject<{
            max: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
            weight: z.ZodOptional<z.ZodNumber>;
            cpus: z.ZodOptional<z.ZodString>;
            mems: z.ZodOptional<z.ZodString>;
        }, z.core.$strict>>;
        pids: z.ZodOptional<z.ZodObject<{
            max: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">]>>;
        }, z.core.$strict>>;
        io: z.ZodOptional<z.ZodObject<{
            weight: z.ZodOptional<z.ZodNumber>;
            max: z.ZodOptional<z.ZodArray<z.ZodObject<{
                device: z.ZodString;
                rbps: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
                wbps: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>;
                riops: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">]>>;
                wiops: z.ZodOptional<z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">]>>;
            }, z.core.$strict>>>;
        }, z.core.$strict>>;
        hugetlb: z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodUnion<readonly [z.ZodNumber, z.ZodLiteral<"max">, z.ZodString]>>>;
    }, z.core.$strict>>;
    bestEffortLimits: z.ZodDefault<z.ZodBoolean>;
    maskedPaths: z.ZodOptional<z.ZodArray<z.ZodString>>;
    readonlyPaths: z.ZodOptional<z.ZodArray<z.ZodString>>;
    lxcfs: z.ZodDefault<z.ZodUnion<readonly [z.ZodLiteral<"auto">, z.ZodBoolean]>>;
    proc: z.ZodDefault<z.ZodEnum<{
        rw: "rw";
        ro: "ro";
        mixed: "mixed";
    }>>;
    sys: z.ZodDefault<z.ZodEnum<{
        rw: "rw";
        ro: "ro";
        mixed: "mixed";
    }>>;
    sysctls: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodPipe<z.ZodUnion<readonly [z.ZodString, z.ZodNumber]>, z.ZodTransform<string, string | number>>>>;
}, z.core.$strict>;
/** What users write. */
type ContainerConfig = z.input<typeof containerSchema>;
/** A validated configuration with every default filled in (except those that depend on the name or rootfs). */
type ResolvedConfig = z.output<typeof containerSchema>;
type MountConfig = z.output<typeof mountSchema>;
type IdMap = z.output<typeof idmapSchema>;

declare const nicSchema: z.ZodDiscriminatedUnion<[z.ZodObject<{
    type: z.ZodLiteral<"bridged">;
    name: z.ZodDefault<z.ZodString>;
    bridge: z.ZodOptional<z.ZodString>;
    subnet: z.ZodOptional<z.ZodString>;
    subnet6: z.ZodOptional<z.ZodString>;
    ipv4: z.ZodOptional<z.ZodString>;
    gateway: z.ZodOptional<z.ZodString>;
    mtu: z.ZodOptional<z.ZodNumber>;
    mac: z.ZodOptional<z.ZodString>;
}, z.core.$strict>, z.ZodObject<{
    type: z.ZodLiteral<"macvlan">;
    name: z.ZodDefault<z.ZodString>;
    parent: z.ZodString;
    mode: z.ZodDefault<z.ZodLiteral<"bridge">>;
    ipv4: z.ZodOptional<z.ZodString>;
    gateway: z.ZodOptional<z.ZodString>;
    mtu: z.ZodOptional<z.ZodNumber>;
    mac: z.ZodOptional<z.ZodString>;
}, z.core.$strict>, z.ZodObject<{
    type: z.ZodLiteral<"physical">;
    parent: z.ZodString;
    name: z.ZodOptional<z.ZodString>;
    ipv4: z.ZodOptional<z.ZodString>;
    gateway: z.ZodOptional<z.ZodString>;
    mtu: z.ZodOptional<z.ZodNumber>;
}, z.core.$strict>, z.ZodObject<{
    type: z.ZodLiteral<"routed">;
    name: z.ZodDefault<z.ZodString>;
    ipv4: z.ZodString;
    ipv6: z.ZodOptional<z.ZodString>;
    parent: z.ZodOptional<z.ZodString>;
    gateway: z.ZodDefault<z.ZodString>;
    gateway6: z.ZodDefault<z.ZodString>;
    mtu: z.ZodOptional<z.ZodNumber>;
    mac: z.ZodOptional<z.ZodString>;
}, z.core.$strict>], "type">;
declare const portSchema: z.ZodObject<{
    host: z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>, z.ZodTransform<string, string | number>>;
    container: z.ZodNumber;
    proto: z.ZodDefault<z.ZodEnum<{
        tcp: "tcp";
        udp: "udp";
    }>>;
}, z.core.$strict>;
type NicConfig = z.output<typeof nicSchema>;
type NicInput = z.input<typeof nicSchema>;
type PortConfig = z.output<typeof portSchema>;

type InitKind = "systemd" | "sysvinit" | "busybox" | "other";

/** The lxcfs views a container gets: the mount they come from and the container paths bound from it. */
interface LxcfsViews {
    /** Where lxcfs is mounted on the host (from mountinfo, usually `/var/lib/lxcfs`). */
    mount: string;
    /** Container paths bound read-only from the same path under `mount`. */
    paths: string[];
}

/**
 * The effective configuration of a container: what its validated config
 * leaves open filled in from its name, its image's defaults and the init
 * found in its rootfs. Pure: the caller finds the init kind (it needs the
 * filesystem); everyone that needs the effective config (start, stop, the
 * CLI, tests) calls this one function.
 * @module
 */

type EffectiveConfig = Omit<ResolvedConfig, "haltSignal" | "console" | "cwd" | "lxcfs"> & {
    cwd: string;
    init: string[];
    hostname: string;
    haltSignal: string | number;
    /** Whether the init gets a console pty kept by the monitor. */
    console: boolean;
    initKind: InitKind;
    /** The lxcfs views bound into the container (the config's `lxcfs` against the host), or `false`. */
    lxcfs: LxcfsViews | false;
};

/** What warren can use of the host's cgroups. */
interface CgroupHost {
    /** The cgroup2 mount point, e.g. `/sys/fs/cgroup` or `/sys/fs/cgroup/unified`. */
    mount: string;
    /** Controllers enabled at the cgroup2 root (`cgroup.controllers`). */
    controllers: string[];
    /** Controllers held by cgroup v1 hierarchies, unusable by warren. */
    v1Controllers: string[];
    /** True when cgroup2 is the only cgroup filesystem mounted. */
    pureV2: boolean;
    /** Delegation: what a container's root gets in its own cgroup. */
    delegation: {
        /** The cgroup2 mount has `nsdelegate` (cgroup namespaces are delegation boundaries). */
        nsdelegate: boolean;
        /** Files chowned to a delegatee (/sys/kernel/cgroup/delegate). */
        files: string[];
    };
}

type CgroupEvent = {
    type: "frozen";
} | {
    type: "thawed";
} | {
    type: "populated";
    populated: boolean;
}
/** The container hit memory.max and the kernel's OOM handling ran (memory.events `oom`). */
 | {
    type: "oom";
    count: number;
}
/** Processes of the container were killed by the OOM killer (`oom_kill`). */
 | {
    type: "oom-kill";
    count: number;
};

type Status = "created" | "running" | "frozen" | "stopped";
interface ExitStatus {
    /** Exit code, or null when the process was killed by a signal or its end is unknown. */
    code: number | null;
    /** Signal name when it was killed by one. */
    signal: NodeJS.Signals | null;
    /**
     * Why it stopped, when known: the init exited by itself (`exit`), halted
     * or powered off (`halt`: stop()'s halt signal or reboot(2) asking for
     * power-off), rebooted (`reboot`: reboot(2) with restart), was killed
     * (`kill`), or was killed by the OOM killer (`oom`).
     */
    reason?: StopReason;
}
type StopReason = "exit" | "halt" | "reboot" | "kill" | "oom";
/**
 * Why a container's restart policy left it stopped: more than 10 restarts
 * within a minute (`restart-limit`, Incus's rule), or the restart failed
 * (`start-failed`, with the error's message).
 */
interface RestartRefusal {
    reason: "restart-limit" | "start-failed";
    message: string;
    /** When it was refused (ISO 8601). */
    at: string;
}

/**
 * What happens to a container: its init started, the container said it is
 * ready, a process was exec'd into it, it was frozen or thawed, the OOM
 * killer ran, it stopped (with why; `restarting` after a reboot from inside
 * that warren answers by starting it again).
 */
type ContainerEvent = Exclude<CgroupEvent, {
    type: "populated";
}> | {
    type: "started";
    pid: number;
} | {
    type: "ready";
} | {
    type: "exec";
    pid: number;
    argv: string[];
} | {
    type: "stopped";
    status: ExitStatus;
    restarting?: boolean;
};
/** Options of `Container.metrics()` (and `warren metrics`). */
interface MetricsOptions {
    /** Only these containers (those not running are left out). */
    names?: readonly string[];
    /**
     * Metric name prefix, without the underscore: `warren` by default;
     * `incus` (or `lxd`) gives the names Incus's (LXD's) dashboards query.
     */
    prefix?: string;
    /** Value of the `project` label (Incus's dashboards select on it): `default` unless told. */
    project?: string;
}

/** What one of stdin/stdout/stderr is connected to. */
type StdioMode = "ignore" | "inherit" | "pipe";
/** A mode, or an fd of this process the child gets a copy of (a pty slave, a file). */
type StdioTarget = StdioMode | number;

interface StartOptions {
    /**
     * The init's stdin/stdout/stderr: `"ignore"` (default, /dev/null),
     * `"inherit"` (this process's), `"pipe"` (streams on the container:
     * `c.stdin`, `c.stdout`, `c.stderr`), or one each, where an fd of this
     * process may stand for a mode (a pty slave of the caller's own, say).
     * A host terminal given to the init lets the container type into it
     * (TIOCSTI) and change its settings: give it a pty instead.
     */
    stdio?: StdioMode | [StdioTarget, StdioTarget, StdioTarget];
    /** Host fds passed to the init at the same numbers. */
    inheritFds?: number[];
    /**
     * `"started"` (default): resolve once the init runs. `"ready"`: once the
     * container says it is ready (see the config's `ready`: systemd's READY=1
     * by default for a systemd init), rejecting with a {@link ReadyTimeoutError}
     * after `readyTimeout` ms (the container is left running).
     */
    wait?: "started" | "ready";
    /** Milliseconds `wait: "ready"` waits (default 90 000, systemd's own default start timeout). */
    readyTimeout?: number;
    /**
     * Set everything up but hold the init right before it executes its
     * program (the OCI runtime's `create`): `start()` resolves with the init's
     * pid, {@link Container.held} is true, and {@link Container.release},
     * from this or any other process, lets the program run. The held init
     * outlives this process. Not with `wait: "ready"`.
     */
    hold?: boolean;
    /**
     * A connected unix socket (an fd of this process, stream or seqpacket):
     * the init's stdin, stdout and stderr become a new pty of the container's
     * own devpts (`/dev/pts/N` inside, owned by the init's user), which is
     * also its controlling terminal, and the pty's master is sent over the
     * socket (SCM_RIGHTS, with the bytes `/dev/ptmx`: runc's console-socket
     * protocol). What runc and crun do for an OCI `process.terminal`; `stdio`
     * is then ignored. The socket stays the caller's to close.
     */
    terminal?: number;
}

/**
 * Changing a stopped container's recorded config, for the keys that a
 * start reads afresh and nothing on disk was made from (the rootfs, id
 * range, mounts and NICs were; limits change live through setLimits).
 * @module
 */

/** What `Container.setConfig` takes: a key set to `undefined` goes back to its default. */
type ConfigPatch = Partial<Pick<ContainerConfig, "hostname" | "domainname" | "env" | "cwd" | "user" | "haltSignal" | "stopTimeout" | "onReboot" | "restart">>;

/**
 * The options of `exec()` and `execOutput()`: their zod schema, apart from
 * `exec.ts` so that loading the container module does not load zod (exec
 * imports this on its first call; see docs/cli.md, "Start-up time").
 * @module
 */

declare const execOptionsSchema: z.ZodObject<{
    env: z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodString>>;
    extendEnv: z.ZodOptional<z.ZodBoolean>;
    cwd: z.ZodOptional<z.ZodString>;
    user: z.ZodOptional<z.ZodUnion<readonly [z.ZodString, z.ZodNumber, z.ZodObject<{
        uid: z.ZodNumber;
        gid: z.ZodOptional<z.ZodNumber>;
        groups: z.ZodOptional<z.ZodArray<z.ZodNumber>>;
    }, z.core.$strict>]>>;
    tty: z.ZodOptional<z.ZodUnion<readonly [z.ZodBoolean, z.ZodObject<{
        cols: z.ZodOptional<z.ZodNumber>;
        rows: z.ZodOptional<z.ZodNumber>;
    }, z.core.$strict>]>>;
    terminal: z.ZodOptional<z.ZodNumber>;
    stdin: z.ZodOptional<z.ZodUnion<readonly [z.ZodEnum<{
        pipe: "pipe";
        inherit: "inherit";
        ignore: "ignore";
    }>, z.ZodNumber]>>;
    stdout: z.ZodOptional<z.ZodUnion<readonly [z.ZodEnum<{
        pipe: "pipe";
        inherit: "inherit";
        ignore: "ignore";
    }>, z.ZodNumber]>>;
    stderr: z.ZodOptional<z.ZodUnion<readonly [z.ZodEnum<{
        pipe: "pipe";
        inherit: "inherit";
        ignore: "ignore";
    }>, z.ZodNumber]>>;
    input: z.ZodOptional<z.ZodUnion<readonly [z.ZodString, z.ZodInstanceOf<Buffer<ArrayBufferLike>>]>>;
    check: z.ZodOptional<z.ZodBoolean>;
}, z.core.$strict>;
type ExecOptions = Omit<z.input<typeof execOptionsSchema>, "input" | "check">;

/** A process running inside a container. */
interface ExecProcess {
    /** Host pid. */
    readonly pid: number;
    readonly stdin: Writable | null;
    /** With `tty`, the terminal's output (stdout and stderr together). */
    readonly stdout: Readable | null;
    readonly stderr: Readable | null;
    /** Resolves when the process exits: `{code}` or `{signal}`. */
    readonly exited: Promise<ExitStatus>;
    /** Sends a signal (default SIGTERM). */
    kill(signal?: NodeJS.Signals | string | number): void;
    /** Changes the pty's window size (tty only). */
    resize(cols: number, rows: number): void;
}
interface ExecOutput extends ExitStatus {
    stdout: string;
    stderr: string;
}

/** A device node an image carries, as its archive described it. */
interface DeviceNode {
    /** Absolute path inside the image (`/dev/null`). */
    path: string;
    type: "char" | "block";
    major: number;
    minor: number;
    /** Permission bits (07777). */
    mode: number;
    uid: number;
    gid: number;
}

interface Platform {
    os: "linux";
    architecture: string;
    variant?: string;
}
interface ImportOciOptions {
    /** Default: linux and the architecture of this process (x64→amd64, arm64→arm64, …). */
    platform?: Platform;
    /** Value of the `org.opencontainers.image.ref.name` annotation in index.json; default the first manifest. */
    ref?: string;
}
/** The image config (OCI image-spec config / Docker image v1 JSON), loosely typed. */
interface ImageConfig {
    architecture?: string;
    os?: string;
    config?: {
        User?: string;
        Env?: string[];
        Entrypoint?: string[] | null;
        Cmd?: string[] | null;
        WorkingDir?: string;
        Labels?: Record<string, string> | null;
        StopSignal?: string;
        [k: string]: unknown;
    };
    rootfs: {
        type: string;
        diff_ids: string[];
    };
    [k: string]: unknown;
}

/** Base class of every error warren throws on purpose. */
declare class WarrenError extends Error {
    /** Stable machine-readable code, e.g. `ERR_WARREN_CONFIG`. */
    readonly code: string;
    /** Name of the container concerned, when there is one. */
    readonly container?: string;
    constructor(message: string, code: string, options?: {
        container?: string;
        cause?: unknown;
    });
}
/** One problem found while validating input, with the path of the field. */
interface ConfigIssue {
    /** Dotted path of the offending field, e.g. `mounts[1].target`. */
    path: string;
    message: string;
}
/** The configuration (or a name or option) was rejected. Nothing was created. */
declare class ConfigError extends WarrenError {
    readonly issues: ConfigIssue[];
    constructor(issues: ConfigIssue[], options?: {
        container?: string;
    });
}
/** An operation is not possible in the container's current state. */
declare class StateError extends WarrenError {
    readonly op: string;
    readonly state: string;
    constructor(message: string, op: string, state: string, options?: {
        container?: string;
    });
}
/** The container (or an exec'd process) could not be set up: a step failed in the kernel. */
declare class SetupError extends WarrenError {
    /** The plan step that failed, e.g. `pivot-root`, `mount`, `exec`, `uid-map`. */
    readonly step: string;
    /** Node-style errno name, e.g. `EINVAL`. */
    readonly errno: string;
    /** Positive errno number. */
    readonly errnoNumber: number;
    /** What was being done, e.g. ``mount proc on `/proc` ``. */
    readonly detail: string;
    readonly path?: string;
    constructor(what: string, step: string, errnoNumber: number, detail: string, options?: {
        container?: string;
        path?: string;
        hint?: string;
    });
}
/** A container or process could not be found. */
declare class NotFoundError extends WarrenError {
    constructor(message: string, options?: {
        container?: string;
    });
}
/** A process run through `execOutput` ended unsuccessfully (when asked to reject). */
declare class ProcessExitError extends WarrenError {
    readonly exitCode: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    constructor(argv: readonly string[], result: {
        code: number | null;
        signal: NodeJS.Signals | null;
        stdout: string;
        stderr: string;
    }, options?: {
        container?: string;
    });
}
/** The native addon could not be loaded. */
declare class NativeLoadError extends WarrenError {
    readonly tried: string[];
    constructor(tried: string[], cause: unknown);
}
/** A system call outside the container setup failed (cgroupfs, state files, pidfds). */
declare class HostError extends WarrenError {
    readonly errno: string;
    readonly syscall?: string;
    readonly path?: string;
    constructor(message: string, errno: string, options?: {
        container?: string;
        syscall?: string;
        path?: string;
        cause?: unknown;
    });
}
/**
 * `start({wait: "ready"})` gave up: the container did not say it was ready
 * in time. It is left running; `lastConsoleLines` shows what its console
 * said last.
 */
declare class ReadyTimeoutError extends WarrenError {
    readonly waitedMs: number;
    readonly lastConsoleLines: string[];
    constructor(container: string, waitedMs: number, lastConsoleLines: string[]);
}
/** An image, layer or blob could not be read or applied. */
declare class ImageError extends WarrenError {
    /** The blob concerned (`sha256:…`), when there is one. */
    readonly blob?: string;
    /** The archive entry concerned, when there is one. */
    readonly entry?: string;
    constructor(message: string, options?: {
        blob?: string;
        entry?: string;
        cause?: unknown;
    });
}
/** The archive is compressed with something this reader does not handle (zstd, xz, bzip2, lz4). */
declare class UnsupportedCompressionError extends ImageError {
    readonly compression: string;
    constructor(compression: string, options?: {
        blob?: string;
    });
}
/**
 * A registry pull failed. The message names the reference and the step
 * (`reference`, `auth`, `manifest`, `config`, `layer`, `unpack`):
 * ``pull 127.0.0.1:5000/busybox:1: manifest: HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)``.
 */
declare class RegistryError extends ImageError {
    /** The reference as given to `pull`. */
    readonly reference: string;
    /** The step that failed. */
    readonly step: string;
    /** The HTTP status, when the registry answered with an error. */
    readonly status?: number;
    constructor(reference: string, step: string, detail: string, options?: {
        status?: number;
        blob?: string;
        cause?: unknown;
    });
}
/**
 * What the registry sent is not what its digest names: a blob or manifest
 * whose sha256 (or size) does not match. Nothing of it is kept.
 */
declare class DigestMismatchError extends RegistryError {
    /** The digest asked for. */
    readonly expected: string;
    /** The digest of what arrived, or `N bytes` when the size was already wrong. */
    readonly actual: string;
    constructor(reference: string, step: string, expected: string, actual: string);
}
/** The input could not be decompressed: cut short, corrupt, or the decompressor failed. */
declare class DecompressionError extends ImageError {
    /** `gzip`, `xz`, `zstd`, … */
    readonly compression: string;
    /** What was being decompressed (a path, `layer sha256:…`), when known. */
    readonly source?: string;
    constructor(compression: string, source: string | undefined, detail: string, options?: {
        blob?: string;
        cause?: unknown;
    });
}
/** A program warren needs is not installed. */
declare class MissingToolError extends ImageError {
    readonly tool: string;
    /** The Debian/Ubuntu package that has it. */
    readonly package: string;
    constructor(tool: string, pkg: string, what: string);
}
/** A limit asked for a controller this host cannot give to cgroup v2. */
declare class CgroupControllerUnavailable extends WarrenError {
    readonly controller: string;
    readonly reason: string;
    /** The limit that needed it, e.g. `memory.max`. */
    readonly field: string;
    constructor(controller: string, reason: string, field: string, options?: {
        container?: string;
    });
}
/** A `seccomp.deny` name that no architecture's table knows (likely a typo). */
declare class UnknownSyscallError extends ConfigError {
    readonly syscall: string;
    constructor(syscall: string);
}

/** A progress event of a pull. `bytes`/`total` count manifest bytes, a layer's bytes, or the layers' bytes while unpacking. */
interface PullProgress {
    phase: "manifest" | "layer" | "unpack";
    digest?: string;
    bytes: number;
    total: number;
}
interface RegistryOptions {
    /** Sent to a Bearer token realm (as Basic auth) or to a registry that asks for Basic auth. */
    credentials?: {
        username: string;
        password: string;
    };
    /** Speak plain HTTP (the default for loopback registries: 127.0.0.0/8, `localhost`, `[::1]`). */
    plainHttp?: boolean;
    /** Same as `plainHttp`. */
    insecure?: boolean;
    signal?: AbortSignal;
    onProgress?: (event: PullProgress) => void;
    /** The fetch to use (a seam for tests); default the global one. */
    fetch?: typeof fetch;
}

/** What to build. `release` is a suite or codename (`bookworm`, `noble`). */
interface DistroSpec {
    distro: "debian" | "ubuntu";
    release: string;
    /** debootstrap variant: `minbase` (default: essential + apt), `buildd`, or `default`. */
    variant?: "minbase" | "buildd" | "default";
    /** Debian architecture (`amd64`, `arm64`); default: this machine's. */
    arch?: string;
    /** Packages added to the variant's set. An init is always added: minbase alone has none. */
    packages?: string[];
    /**
     * The init: `systemd` (default; `systemd-sysv`) or `sysvinit`
     * (`sysvinit-core`, its inittab set up for a container: a getty on
     * /dev/console instead of tty1-6, and SIGPWR powering off).
     */
    init?: "systemd" | "sysvinit";
    /** Package mirror. Default: the host's apt source for the distro, else the distro's main mirror. */
    mirror?: string;
}
interface BuildProgress {
    phase: "resolve" | "retrieve" | "extract" | "unpack" | "configure" | "finish";
    /** Packages done in this phase, and (once known) how many there are. */
    done: number;
    total?: number;
    /** The tool's message (`Retrieving libc6 2.36-9`). */
    message: string;
}
interface BuildOptions {
    /** `auto` (default): mmdebstrap when installed, else debootstrap. */
    tool?: "auto" | "mmdebstrap" | "debootstrap";
    onProgress?: (p: BuildProgress) => void;
    signal?: AbortSignal;
    /** Where downloaded .debs are kept between builds (debootstrap --cache-dir). */
    cacheDir?: string;
}

interface LxcMetadata {
    /** As written by LXC (`x86_64`, `aarch64`, `amd64`, …). */
    architecture: string;
    /** `creation_date` (seconds since the epoch), when given. */
    creationDate?: Date;
    expiryDate?: Date;
    /** `properties`: os, release, variant, description, serial, name, …, as strings. */
    properties: Record<string, string>;
    /** Paths in the container that `templates:` would write (not applied by warren). */
    templates: string[];
}
interface LxcImageFiles {
    /** One tarball with `metadata.yaml` and `rootfs/`. */
    unified?: string;
    /** The metadata tarball of a split image. */
    metadata?: string;
    /** The rootfs of a split image: a tarball or a squashfs. */
    rootfs?: string;
}
interface ImportLxcOptions {
    /**
     * The OCI architecture the image must be for (default: this machine's);
     * `false` accepts any.
     */
    architecture?: string | false;
    /** The command put in the config (default `["/sbin/init"]`). */
    cmd?: string[];
}

interface ImageInfo {
    /** Manifest digest, `sha256:…`. */
    digest: string;
    /** The store's name for it (the digest's hex). */
    id: string;
    /** Tags pointing at it. */
    tags: string[];
    rootfs: string;
    config: ImageConfig;
    source: string;
    importedAt: string;
    /** The image's device nodes: recorded, never made on the host (they belong inside a container). */
    devices: DeviceNode[];
    /**
     * What the import that just stored it skipped or could not apply (device
     * nodes without privilege, refused xattrs, LXC templates). Only on the
     * result of an import, not on images looked up later.
     */
    warnings?: string[];
}
/** Options of {@link ImageStore.pull}. */
interface PullOptions extends RegistryOptions {
    /** The store's tag for the image; default the reference as written (none for a reference by digest). */
    tag?: string;
    /** Default: linux and this process's architecture. */
    platform?: Platform;
}
declare class ImageStore {
    readonly dir: string;
    readonly root: string;
    constructor(root: string);
    /** Names of the containers under the root made from image `id`. */
    users(id: string): Promise<string[]>;
    private get tagsFile();
    private readTags;
    private writeTags;
    /**
     * Imports an OCI image layout directory (tagging it `tag` when given).
     * Unpacked into a private temporary directory and renamed into place, so a
     * concurrent import of the same image finds it complete or not at all.
     */
    importOci(layoutDir: string, options?: ImportOciOptions & {
        tag?: string;
    }): Promise<ImageInfo>;
    /**
     * Pulls an image from an OCI distribution registry (HTTP API v2) and
     * stores it like {@link importOci}. Blobs are downloaded into a cache under
     * the store (`.images/.blobs`), verified (size and sha256) before use, and
     * resumed with a `Range` request after an interruption; concurrent pulls of
     * the same image download each blob once and store one image.
     * Throws a {@link RegistryError} naming the step that failed
     * (a {@link DigestMismatchError} for content that does not match its digest).
     *
     * @example
     * ```ts
     * const store = new ImageStore("/var/lib/warren");
     * await store.pull("docker.io/library/debian:bookworm", { onProgress: (e) => console.log(e.phase, e.bytes, e.total) });
     * await Container.create("web", { image: "docker.io/library/debian:bookworm" });
     * ```
     */
    pull(ref: string, options?: PullOptions): Promise<ImageInfo>;
    /** Creates the store, and closes one an older warren left reachable (0711). */
    private ensureDir;
    /**
     * The one way an image enters the store: unpacked from a layout into a
     * private directory, then renamed into place under the store's lock (a
     * concurrent install of the same image finds it there and keeps it).
     */
    private install;
    /**
     * `fill` writes `rootfs/` and `config.json` into a private directory and
     * says what the image is; it is renamed into place under the store's lock
     * (a concurrent install of the same image finds it there and keeps it).
     */
    private installWith;
    /**
     * Imports an image archive: an OCI layout in a tar (`oci-archive`), or a
     * `docker save` tarball. Tagged `tag`, else with the archive's own name
     * for it (docker's first RepoTag, the layout's `ref.name`) when it has one.
     */
    importArchive(archive: string, options?: ImportOciOptions & {
        tag?: string;
    }): Promise<ImageInfo>;
    /**
     * Imports a root filesystem directory as a one-layer image (what
     * `docker import` does with a tarball of one), owners and modes as they
     * are on disk.
     *
     * @example
     * ```ts
     * await store.importDirectory("/srv/rootfs/alpine", { tag: "alpine" });
     * ```
     */
    importDirectory(rootfsDir: string, options?: {
        tag?: string;
        architecture?: string;
    }): Promise<ImageInfo>;
    /**
     * Imports an LXC/Incus image: a unified tarball (`metadata.yaml` +
     * `rootfs/`), or split metadata and rootfs tarballs (xz, gzip, zstd or
     * plain; a squashfs rootfs with `unsquashfs`). The id is the image's
     * Incus fingerprint.
     */
    importLxc(files: LxcImageFiles, options?: ImportLxcOptions & {
        tag?: string;
    }): Promise<ImageInfo>;
    /**
     * Builds a Debian or Ubuntu image with mmdebstrap or debootstrap (from the
     * host's mirror), with an init (`systemd-sysv`). Cached: the same spec
     * (distro, release, variant, architecture, packages) gives the stored
     * image back without building, unless `rebuild`; two processes building
     * the same spec at once build it once. Tagged `DISTRO/RELEASE` (with
     * `:sysvinit` for a sysvinit image) unless told.
     *
     * @example
     * ```ts
     * const img = await store.build("debian/bookworm", { onProgress: (p) => console.log(p.phase, p.done, p.total) });
     * await Container.create("deb", { image: "debian/bookworm" });
     * ```
     */
    build(spec: string | DistroSpec, options?: BuildOptions & {
        tag?: string;
        rebuild?: boolean;
    }): Promise<ImageInfo & {
        cached: boolean;
    }>;
    /** Removes image `id` unless a container uses it (a rebuild replaces an unused image). */
    private removeUnused;
    /**
     * Removes images no tag names and no container uses, and cached registry
     * blobs no stored image is made of. Returns what was removed.
     */
    prune(): Promise<{
        images: string[];
        blobs: string[];
    }>;
    /** An image by tag, id or digest. */
    get(ref: string): Promise<ImageInfo>;
    list(): Promise<ImageInfo[]>;
    /**
     * Removes an image (and its tags); refused while a container is made from
     * it. Holds the runtime's create lock meanwhile, so no container can be
     * created on it between the check and the removal.
     */
    remove(ref: string): Promise<void>;
    /** Runs `fn` holding the runtime root's lock, the one Container.create holds. */
    private withCreatesHeld;
}

type StorageKind = "overlay" | "btrfs";

interface SnapshotInfo {
    name: string;
    createdAt: string;
}

interface ExportOptions {
    /** Include the container's snapshots (image-based containers). Default false. */
    snapshots?: boolean;
    /**
     * Include the image an image-based container is made from, so the
     * tarball imports where that image is not in the store. Default false:
     * the tarball names the image (id, digest, tags) and import needs it.
     */
    includeImage?: boolean;
}
/** `container.json` of an export. */
interface ExportManifest {
    format: "warren-container";
    version: 1;
    name: string;
    /** The container's config as recorded (what create resolved). */
    config: ResolvedConfig;
    /** What `fs/` holds. */
    rootfs: {
        kind: "image";
        storage: StorageKind;
    } | {
        kind: "directory";
    };
    image?: {
        id: string;
        digest: string;
        tags: string[];
        included: boolean;
    };
    snapshots: SnapshotInfo[];
    createdAt: string;
    exportedAt: string;
}

type FileType = "file" | "directory" | "symlink" | "char-device" | "block-device" | "fifo" | "socket";
/** A file as the container sees it. */
interface FileStat {
    type: FileType;
    size: number;
    /** Permission bits, with setuid, setgid and sticky (`0o4755`). */
    mode: number;
    /** Owner inside the container (65534 for a host id its user namespace does not map). */
    uid: number;
    gid: number;
    mtime: Date;
    /** A symlink's target, as written. */
    target?: string;
}
interface DirEntry extends FileStat {
    name: string;
}
interface PushOptions {
    /** Permission bits (default 0o644 for a new file; an existing file keeps its own unless given). */
    mode?: number;
    /** Owner inside the container (default root for a new file; an existing file keeps its own unless given). */
    uid?: number;
    gid?: number;
    /** Create missing parent directories (owned by the container's root, 0755). */
    mkdirs?: boolean;
}

/**
 * The container's console as a duplex stream: what the container writes to
 * /dev/console comes out, what is written goes in as typed input. End or
 * destroy it to detach; the console goes on without it.
 */
declare class ConsoleStream extends Duplex {
    #private;
    /** Sets the console's window size (the container's processes get SIGWINCH). */
    resize(cols: number, rows: number): void;
}

interface InterfaceInfo {
    name: string;
    index: number;
    mac?: string;
    mtu: number;
    up: boolean;
    /** `address/prefix`, IPv4 and IPv6. */
    addresses: string[];
    stats?: {
        rxBytes: number;
        txBytes: number;
        rxPackets: number;
        txPackets: number;
    };
}

/**
 * The `devices` map of the config: name → spec, one zod schema per kind.
 * What a kind does with its spec (which host nodes and binds it resolves
 * to) lives in src/devices/, one module per kind; docs/devices.md says how
 * a kind is added.
 * @module
 */

/** A `usb` device: `{type: "usb", vendorid: "0627", productid: "0001"}` (src/devices/usb.ts). */
declare const usbDeviceSchema: z.ZodObject<{
    mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    uid: z.ZodDefault<z.ZodNumber>;
    gid: z.ZodDefault<z.ZodNumber>;
    type: z.ZodLiteral<"usb">;
    vendorid: z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>;
    productid: z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>>;
    serial: z.ZodOptional<z.ZodString>;
    busnum: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    devnum: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    required: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict>;
/** A `gpu` device: `{type: "gpu"}` (every GPU), or narrowed by vendor, PCI address or DRM card id (src/devices/gpu.ts). */
declare const gpuDeviceSchema: z.ZodObject<{
    mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    uid: z.ZodDefault<z.ZodNumber>;
    gid: z.ZodDefault<z.ZodNumber>;
    type: z.ZodLiteral<"gpu">;
    vendor: z.ZodOptional<z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>, z.ZodTransform<string, string>>>;
    pci: z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>>;
    id: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    nvidiaRuntime: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict>;
/**
 * Every kind the config accepts. A kind added here needs its module in
 * src/devices/ registered in src/devices/kinds.ts.
 */
declare const deviceSchema: z.ZodDiscriminatedUnion<[z.ZodObject<{
    source: z.ZodOptional<z.ZodString>;
    major: z.ZodOptional<z.ZodNumber>;
    minor: z.ZodOptional<z.ZodNumber>;
    path: z.ZodOptional<z.ZodString>;
    uid: z.ZodDefault<z.ZodNumber>;
    gid: z.ZodDefault<z.ZodNumber>;
    mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>, z.ZodTransform<number, string | number>>>;
    required: z.ZodDefault<z.ZodBoolean>;
    type: z.ZodLiteral<"unix-char">;
}, z.core.$strict>, z.ZodObject<{
    source: z.ZodOptional<z.ZodString>;
    major: z.ZodOptional<z.ZodNumber>;
    minor: z.ZodOptional<z.ZodNumber>;
    path: z.ZodOptional<z.ZodString>;
    uid: z.ZodDefault<z.ZodNumber>;
    gid: z.ZodDefault<z.ZodNumber>;
    mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>, z.ZodTransform<number, string | number>>>;
    required: z.ZodDefault<z.ZodBoolean>;
    type: z.ZodLiteral<"unix-block">;
}, z.core.$strict>, z.ZodObject<{
    type: z.ZodLiteral<"disk">;
    source: z.ZodString;
    path: z.ZodString;
    readonly: z.ZodDefault<z.ZodBoolean>;
    idmap: z.ZodDefault<z.ZodBoolean>;
    fstype: z.ZodOptional<z.ZodString>;
    required: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict>, z.ZodObject<{
    mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    uid: z.ZodDefault<z.ZodNumber>;
    gid: z.ZodDefault<z.ZodNumber>;
    type: z.ZodLiteral<"usb">;
    vendorid: z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>;
    productid: z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>>;
    serial: z.ZodOptional<z.ZodString>;
    busnum: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    devnum: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    required: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict>, z.ZodObject<{
    mode: z.ZodDefault<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    uid: z.ZodDefault<z.ZodNumber>;
    gid: z.ZodDefault<z.ZodNumber>;
    type: z.ZodLiteral<"gpu">;
    vendor: z.ZodOptional<z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>, z.ZodTransform<string, string>>>;
    pci: z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>>;
    id: z.ZodOptional<z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>, z.ZodNumber>>;
    nvidiaRuntime: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict>], "type">;
type DeviceSpec = z.output<typeof deviceSchema>;
type DeviceInput = z.input<typeof deviceSchema>;
type UsbDeviceInput = z.input<typeof usbDeviceSchema>;
type UsbDeviceSpec = z.output<typeof usbDeviceSchema>;
type GpuDeviceInput = z.input<typeof gpuDeviceSchema>;
type GpuDeviceSpec = z.output<typeof gpuDeviceSchema>;

/** A NIC through the device verbs: `nictype` is the NIC's `type`; its name inside is the device's name unless given. */
type NicDeviceInput = {
    type: "nic";
    nictype: "bridged" | "macvlan" | "physical";
} & Record<string, unknown>;
/** What `devices()` lists. */
interface DeviceInfo {
    name: string;
    type: string;
    /** The spec as kept in the config (a NIC's as in `nics`). */
    spec: DeviceSpec | NicConfig;
    /** `attached` (running, in place), `waiting` (running, its host node missing), `configured` (stopped). */
    state: "attached" | "waiting" | "configured";
    /** Paths inside the container it holds now. */
    paths: string[];
    waiting?: string;
}

interface StopOptions {
    /** Milliseconds to wait for a graceful exit before killing (default: the config's `stopTimeout`). */
    timeout?: number;
    /** The halt signal (default: the config's `haltSignal`). */
    signal?: NodeJS.Signals | string | number;
}

interface UserInfo {
    name: string;
    uid: number;
    gid: number;
    /** The groups a login gets (initgroups(3)): the primary group, then every group of /etc/group listing the user. */
    groups: number[];
    gecos: string;
    home: string;
    shell: string;
}
interface GroupInfo {
    name: string;
    gid: number;
    members: string[];
}

/**
 * The public face of a container: create, get, list and gc, and one method
 * per verb. It holds the container's handle (container/handle.ts) in a private field and hands
 * it to the verb modules (start.ts, stop.ts, exec.ts, files.ts, …), so no
 * internals show in its declared type.
 * @module
 */

/**
 * A system container: its own user, pid, mount, network, uts, ipc and cgroup
 * namespaces, a cgroup v2 directory, and state on disk so other processes
 * can find it.
 *
 * @example
 * ```ts
 * import { Container } from "warren";
 *
 * const c = await Container.create("demo", { ephemeral: true });
 * try {
 *   await c.start();
 *   const { stdout } = await c.execOutput(["uname", "-n"]);
 *   console.log(stdout); // "demo\n"
 * } finally {
 *   await c.stop();
 *   await c.destroy();
 * }
 * ```
 */
declare class Container implements AsyncDisposable {
    #private;
    private constructor();
    /**
     * Creates a container (state directory, id range, rootfs skeleton for the
     * embedded default). It is not started. Rejects with {@link ConfigError}
     * for bad input, leaving nothing behind.
     */
    static create(name: string, config?: ContainerConfig, options?: RuntimeOptions): Promise<Container>;
    /**
     * Finds a container by name, in this process or created by another one. A
     * running container is re-adopted: its init is verified by pid and start
     * time, and it can be exec'd into, stopped and waited for. What a dead
     * process left half-done is finished first (a create rolled back, a
     * destroy completed, a snapshot's freeze undone; docs/architecture.md).
     */
    static get(name: string, options?: RuntimeOptions): Promise<Container>;
    /** Every container under the runtime root (ephemeral ones that already stopped are cleaned up, not listed). */
    static list(options?: RuntimeOptions): Promise<Container[]>;
    /**
     * Sweeps up after containers that ended while nobody watched (a crashed
     * embedding process): their cgroups go, port forwards are removed,
     * physical NICs return to the host, stopped ephemeral containers are
     * destroyed, creates and destroys a dead process left half-done are
     * finished, and leases and id ranges whose container is gone are
     * released; when no container is left under the root, the managed bridge
     * and its nftables table go too; the files of destroyed containers still
     * being removed (by this process, or left by a dead one) are removed
     * before it resolves. Returns the names it cleaned.
     */
    static gc(options?: RuntimeOptions): Promise<string[]>;
    /** The container's name (unique under its runtime root; changed by {@link Container.rename}). */
    get name(): string;
    /** `created`, `running`, `frozen` or `stopped`. */
    get state(): Status;
    /** Host pid of the init while running. */
    get pid(): number | undefined;
    /**
     * Whether the init was started with `hold` and still waits to run its
     * program (read from the disk: true in every process). See
     * {@link StartOptions.hold}.
     */
    get held(): boolean;
    /** The validated configuration. */
    get config(): ResolvedConfig;
    /** Host id range of the user namespace (`null` without one). */
    get idmap(): IdMap | null;
    /** Runtime root directory this container lives under. */
    get root(): string;
    /** The container's cgroup v2 directory. */
    get cgroupPath(): string;
    /** The container's state directory. */
    get stateDir(): string;
    /** How the last run ended, when known. */
    get lastExit(): ExitStatus | null;
    /**
     * Why the restart policy left the container stopped after its last run
     * (more than 10 restarts within a minute, or the restart failed); null
     * when it did not. Cleared by the next start.
     */
    get restartRefused(): RestartRefusal | null;
    /** Problems that did not stop the container, e.g. limits skipped with `bestEffortLimits`. */
    get warnings(): string[];
    /** The init's stdin when started with `stdio: "pipe"`. */
    get stdin(): Writable | null;
    /** The init's stdout when started with `stdio: "pipe"`. */
    get stdout(): Readable | null;
    /** The init's stderr when started with `stdio: "pipe"`. */
    get stderr(): Readable | null;
    /**
     * Resolves when the running init exits (and the container is cleaned up),
     * with `{code}` or `{signal}`; both are `null` when another process owned
     * the init and did not record how it ended. While someone waits on it,
     * the handle keeps Node's event loop alive.
     */
    get exited(): Promise<ExitStatus>;
    /**
     * The configuration as a start uses it: the validated config with what it
     * leaves open filled in from the container's name, its image's defaults
     * and the init found in its rootfs (the init argv, cwd, hostname, halt
     * signal, whether it gets a console).
     */
    effectiveConfig(): EffectiveConfig;
    /** Re-reads the container's state from disk (and adopts an init started by another process). */
    refresh(): Promise<void>;
    /** Lets Node exit while the container runs (the default: a container outlives its creator unless ephemeral). */
    unref(): this;
    /** Keeps Node's event loop alive until the container stops. */
    ref(): this;
    /** Starts the init. See {@link StartOptions}. */
    start(options?: StartOptions): Promise<void>;
    /**
     * Lets an init started with `hold: true` run its program; any process may
     * release it. A StateError (op "release") when it is not held.
     * @example
     * await c.start({ hold: true }); // set up, program not started
     * await c.release();             // runs it
     */
    release(): Promise<void>;
    /**
     * Stops the container: sends the halt signal, waits up to `timeout` ms,
     * then kills every process of the container (cgroup.kill). Resolves once it
     * is stopped and cleaned up; a no-op when it is not running.
     */
    stop(options?: StopOptions): Promise<ExitStatus | null>;
    /** Sends a signal to the init. */
    kill(signal?: NodeJS.Signals | string | number): Promise<void>;
    /**
     * Changes keys of a stopped container's config that a start reads afresh
     * (`hostname`, `domainname`, `env`, `cwd`, `user`, `haltSignal`,
     * `stopTimeout`, `onReboot`, `restart`); a key set to `undefined` goes back to its
     * default. Limits change live with {@link Container.setLimits}.
     *
     * @example
     * ```ts
     * await c.setConfig({ hostname: "web1", env: { MODE: "prod" } });
     * ```
     */
    setConfig(patch: ConfigPatch): Promise<void>;
    /**
     * Changes cgroup limits, live when the container runs, and keeps them for
     * later starts. Each section replaces the fields it names
     * (`{memory: {max: "1GiB"}}` leaves `memory.high` as it was). Returns the
     * warnings of a best-effort application.
     */
    setLimits(limits: Limits, options?: {
        bestEffort?: boolean;
    }): Promise<string[]>;
    /**
     * Replaces the extra device rules of a privileged container (no user
     * namespace), live when it runs; the standard devices stay allowed.
     *
     * @example
     * ```ts
     * await c.setDeviceRules(["c 10:200 rwm", "b 7:* r"]); // tun, and loop devices read-only
     * ```
     */
    setDeviceRules(rules: readonly (string | DeviceRule)[]): Promise<void>;
    /** The running container's interfaces: names, MACs, addresses, counters. */
    network(): Promise<InterfaceInfo[]>;
    /**
     * Plugs a NIC into the running container (kept in its config for later starts).
     *
     * @example
     * ```ts
     * await c.addNic({ type: "bridged", name: "eth1" });
     * ```
     */
    addNic(nic: NicInput): Promise<void>;
    /** Unplugs a NIC by its name inside the container; a physical NIC goes back to the host. */
    removeNic(name: string): Promise<void>;
    /**
     * Passes a device in (kept in the config for later starts): a host
     * character or block node, a disk, or a NIC (`type: "nic"`, the same as
     * {@link addNic}). On a running container it appears at once; a device
     * with `required: false` whose host node is missing appears when the node
     * does (and goes when it goes). Rejects with a {@link ConfigError} naming
     * `devices.<name>.<field>` for a bad spec, leaving nothing behind.
     * See docs/devices.md.
     *
     * @example
     * ```ts
     * await c.addDevice("fuse", { type: "unix-char", source: "/dev/fuse", mode: 0o666 });
     * await c.addDevice("data", { type: "disk", source: "/srv/data", path: "/data", readonly: true });
     * ```
     */
    addDevice(name: string, spec: DeviceInput | NicDeviceInput): Promise<void>;
    /**
     * Removes a device (or a NIC by its name): unmounted inside a running
     * container and, without a user namespace, denied by its device program.
     * A process that has it open keeps its fd.
     */
    removeDevice(name: string): Promise<void>;
    /**
     * Follows this container's devices that come and go with the host (`usb`
     * devices, `required: false` nodes) in this process until it stops: first
     * brings them in line with the host (uevents may have been missed), then
     * applies the kernel's uevents as they come. Resolves true when there is
     * something to follow, false when the container has no such device or is
     * not running; {@link exited} tells when following ends.
     *
     * Rarely needed: the process that starts the container or adds the
     * device follows it already, and so does the state root's follower
     * process, which warren starts for them (docs/devices.md).
     */
    followDevices(): Promise<boolean>;
    /** The container's devices and NICs, with what each holds inside while it runs. */
    devices(): Promise<DeviceInfo[]>;
    /**
     * Saves the container's changes (image-based containers: the overlay's
     * upper layer), freezing it meanwhile when it runs.
     */
    snapshot(name: string): Promise<SnapshotInfo>;
    /** Puts a snapshot's state back (the container must be stopped). */
    restore(name: string): Promise<void>;
    listSnapshots(): Promise<SnapshotInfo[]>;
    deleteSnapshot(name: string): Promise<void>;
    /**
     * A new, independent container on the same image with a copy of this
     * one's changes, shifted to its own id range. Nothing of the image is copied.
     */
    clone(newName: string): Promise<Container>;
    /**
     * Renames the stopped container (a running one is a {@link StateError}):
     * its state directory, record, id range and address leases move to
     * `newName`; addresses and MACs stay. A hostname left to the default
     * follows the new name at the next start.
     *
     * @example
     * ```ts
     * await c.rename("web-old");
     * ```
     */
    rename(newName: string): Promise<void>;
    /**
     * Drops the stopped container's own files and gives it its image's tree
     * again, as at create; name, config, id range, NICs and snapshots stay.
     * Image-based containers only.
     *
     * @example
     * ```ts
     * await c.stop();
     * await c.rebuild();
     * ```
     */
    rebuild(): Promise<void>;
    /**
     * Writes the container to a tarball: its config, its own tree (the
     * overlay's upper layer, the whole btrfs root, or a directory container's
     * whole directory) with owners as the container sees them, and with
     * options its snapshots and its image. A running container is frozen
     * while it is read (on btrfs, an instant snapshot is read instead).
     *
     * @example
     * ```ts
     * await c.export("/srv/backup/web.tar", { snapshots: true, includeImage: true });
     * const again = await Container.import("/srv/backup/web.tar", "web", { root: "/var/lib/warren" });
     * ```
     */
    export(tarPath: string, options?: ExportOptions): Promise<void>;
    /**
     * Recreates a container from {@link Container.export}'s tarball (as `name`,
     * default the exported one), in its own id range under `options.root`.
     * Its image must be in the store unless the tarball includes it.
     *
     * @example
     * ```ts
     * const c = await Container.import("/srv/backup/web.tar", "web-restored");
     * await c.start();
     * ```
     */
    static import(tarPath: string, name?: string, options?: RuntimeOptions): Promise<Container>;
    /**
     * The stats of every running container under the runtime root (or of
     * the ones named), read from the cgroup tree in one sweep: what a
     * dashboard polling thousands of containers calls instead of
     * {@link Container.stats} on each. Containers not running are left out.
     *
     * `pressure: false` leaves the three PSI files (`cpu.pressure`,
     * `memory.pressure`, `io.pressure`) unread and `pressure` empty: each
     * costs the kernel about as much as `cpu.stat`, so a sweep that does not
     * need them reads under half as much (figures in docs/scale.md).
     *
     * @example
     * ```ts
     * const all = await Container.statsAll();
     * for (const [name, s] of Object.entries(all)) console.log(name, s.cpu.usageUsec, s.memory?.current);
     * ```
     */
    static statsAll(options?: RuntimeOptions & {
        names?: readonly string[];
        pressure?: boolean;
    }): Promise<Record<string, ContainerStats>>;
    /**
     * Every running container under the runtime root (or the ones named) in
     * the Prometheus text exposition format: CPU, memory, pids, disk I/O and
     * network counters, named as Incus names them (`warren_cpu_seconds_total`,
     * or `incus_cpu_seconds_total` with `prefix: "incus"`), labelled `name`,
     * `project` and `type`. One sweep of the cgroup tree, as
     * {@link Container.statsAll}; the metric list is in docs/metrics.md.
     *
     * @example
     * ```ts
     * import { createServer } from "node:http";
     *
     * createServer(async (_req, res) => {
     *   res.setHeader("content-type", "text/plain; version=0.0.4");
     *   res.end(await Container.metrics({ prefix: "incus" }));
     * }).listen(9101);
     * ```
     */
    static metrics(options?: RuntimeOptions & MetricsOptions): Promise<string>;
    /** CPU, memory, pids, I/O and pressure figures of the running container. */
    stats(): Promise<ContainerStats>;
    /** Freezes every process of the container (cgroup.freeze); resolves once the kernel reports it frozen. */
    freeze(options?: {
        timeout?: number;
    }): Promise<void>;
    /** Thaws a frozen container. */
    unfreeze(options?: {
        timeout?: number;
    }): Promise<void>;
    /**
     * Events as they happen: `started`, `ready`, `exec`, `frozen`, `thawed`,
     * `oom`, `oom-kill`, `stopped` (with the reason). Without `follow` it needs
     * a running container and ends at its stop (a reboot warren restarts does
     * not end it); with `follow: true` it goes on across stops and starts
     * until closed or the container is destroyed.
     *
     * @example
     * ```ts
     * for await (const e of c.events()) if (e.type === "oom-kill") console.warn("OOM in", c.name);
     * ```
     */
    events(options?: {
        follow?: boolean;
    }): AsyncIterableIterator<ContainerEvent>;
    /**
     * The console's output kept by the container's monitor (the last
     * `consoleLogSize` bytes, boot messages included), whether or not anyone
     * was attached; after a stop, what the last run's console said. Rejects
     * when the container never had a console.
     */
    consoleLog(): Promise<Buffer>;
    /**
     * Attaches to the console: a duplex stream (output out, keystrokes in) with
     * `resize(cols, rows)`. Ending it detaches; the console goes on. With
     * `replay`, the kept output comes first. Works from any process while the
     * container runs with a console (config `console`).
     */
    console(options?: {
        replay?: boolean;
    }): Promise<ConsoleStream>;
    /**
     * Copies a host file, a Buffer or a stream to `path` in the container
     * (running or stopped), owned as the container sees it (`uid: 0` is its
     * root; default root, mode 0644). Paths resolve inside the container's root
     * only: no symlink in it can lead to a host file.
     */
    pushFile(source: string | Buffer | Readable, path: string, options?: PushOptions): Promise<void>;
    /** A file of the container: its content, or (with `hostPath`) copied to a host file. */
    pullFile(path: string): Promise<Buffer>;
    pullFile(path: string, hostPath: string): Promise<void>;
    /** A stream of a file of the container. */
    openReadStream(path: string): Promise<Readable>;
    /** A text file of the container (UTF-8). */
    readFileText(path: string): Promise<string>;
    /** The entries of a directory of the container, owners as the container sees them. */
    readdir(path: string): Promise<DirEntry[]>;
    /** A file's metadata (a symlink is described, not followed, unless `follow`). */
    stat(path: string, options?: {
        follow?: boolean;
    }): Promise<FileStat>;
    /** Makes a directory in the container (root's, 0755, unless told). */
    mkdir(path: string, options?: {
        mode?: number;
        uid?: number;
        gid?: number;
        recursive?: boolean;
    }): Promise<void>;
    /** Removes a file, a symlink (not its target) or, with `recursive`, a tree. */
    rm(path: string, options?: {
        recursive?: boolean;
        force?: boolean;
    }): Promise<void>;
    /** A user of the container's /etc/passwd, with the groups a login gets. */
    lookupUser(nameOrId: string | number): Promise<UserInfo>;
    /** A group of the container's /etc/group. */
    lookupGroup(nameOrId: string | number): Promise<GroupInfo>;
    /** Runs a process inside the running container. See {@link ExecOptions}. */
    exec(argv: readonly string[], options?: ExecOptions): Promise<ExecProcess>;
    /** Runs a process to completion and collects its output. */
    execOutput(argv: readonly string[], options?: ExecOptions & {
        input?: string | Buffer;
        check?: boolean;
    }): Promise<ExecOutput>;
    /**
     * Removes the container: its state directory, rootfs skeleton and cgroup.
     * A running container is refused unless `force`, which kills it first.
     * Idempotent. The directory is moved aside in one rename (the commit
     * point) and its files are removed one operation at a time before it
     * resolves: a writable layer with tens of thousands of entries takes the
     * disk seconds, without holding libuv's pool or the event loop.
     */
    destroy(options?: {
        force?: boolean;
    }): Promise<void>;
    /** Stops and destroys: `await using c = await Container.create(...)`. */
    [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What this host offers warren, detected once: today its cgroup layout.
 * @module
 */

interface HostInfo {
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
declare function host(options?: {
    refresh?: boolean;
}): HostInfo;

type CheckStatus = "ok" | "warn" | "fail";
interface DoctorCheck {
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
interface DoctorReport {
    /** The number of containers the sysctl and limit checks were sized for. */
    containers: number;
    kernel: string;
    checks: DoctorCheck[];
    /** No check failed (warnings allowed). */
    ok: boolean;
}
interface DoctorOptions {
    /** Size the host checks for this many containers (default 1,000). */
    containers?: number;
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
declare function doctor(options?: DoctorOptions): DoctorReport;

/**
 * Linux capability names and numbers (linux/capability.h), for the bounding
 * set a container keeps.
 * @module
 */
declare const CAPABILITIES: readonly ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"];
type CapabilityName = (typeof CAPABILITIES)[number];

type Compression = "none" | "gzip" | "xz" | "zstd" | "bzip2" | "lz4";

export { type BuildOptions, type BuildProgress, type CapabilityName, CgroupControllerUnavailable, type CgroupEvent, type CgroupHost, type CheckStatus, type Compression, ConfigError, type ConfigIssue, type ConfigPatch, ConsoleStream, Container, type ContainerConfig, type ContainerEvent, type ContainerStats, DecompressionError, type DeviceInfo, type DeviceInput, type DeviceNode, type DeviceRule, type DeviceSpec, DigestMismatchError, type DirEntry, type DistroSpec, type DoctorCheck, type DoctorOptions, type DoctorReport, type EffectiveConfig, type ExecOptions, type ExecOutput, type ExecProcess, type ExitStatus, type ExportManifest, type ExportOptions, type FileStat, type FileType, type GpuDeviceInput, type GpuDeviceSpec, type GroupInfo, HostError, type HostInfo, type IdMap, type ImageConfig, ImageError, type ImageInfo, ImageStore, type ImportLxcOptions, type ImportOciOptions, type InitKind, type InterfaceInfo, type Limits, type LxcImageFiles, type LxcMetadata, type LxcfsViews, type MetricsOptions, MissingToolError, type MountConfig, NativeLoadError, type NicConfig, type NicDeviceInput, type NicInput, NotFoundError, type Platform, type PortConfig, type Pressure, ProcessExitError, type PullOptions, type PullProgress, type PushOptions, ReadyTimeoutError, RegistryError, type RegistryOptions, type ResolvedConfig, type ResolvedLimits, type RestartRefusal, type RuntimeOptions, SetupError, type SnapshotInfo, type StartOptions, StateError, type Status, type StdioMode, type StdioTarget, type StopOptions, type StopReason, type StorageKind, UnknownSyscallError, UnsupportedCompressionError, type UsbDeviceInput, type UsbDeviceSpec, type UserInfo, WarrenError, doctor, host };
