import { z } from 'zod';

declare const DEFAULT_MASKED_PATHS: readonly string[];
/** Read-only besides /proc/sys and /sys, which the `proc` and `sys` modes decide (src/plan/proc-sys.ts). */
declare const DEFAULT_READONLY_PATHS: readonly string[];

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

/**
 * Linux capability names and numbers (linux/capability.h), for the bounding
 * set a container keeps.
 * @module
 */
declare const CAPABILITIES: readonly ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"];
type CapabilityName = (typeof CAPABILITIES)[number];

/**
 * The security defaults a container's config starts from: capabilities
 * dropped and system calls denied. Policy, kept with the config that
 * names it; the plan turns it into masks and a BPF filter.
 * @module
 */

/**
 * Dropped from the bounding set by default, as Incus does for its
 * containers: loading kernel modules, raw I/O, the clock and MAC policy are
 * the host's business even for root in a user namespace.
 */
declare const DEFAULT_CAP_DROP: readonly CapabilityName[];
/**
 * Calls that are not namespaced, so root in a user namespace could still
 * reach host-wide state through them (LXC's default list plus Incus's).
 * Most already need a capability in the initial namespace; the filter is
 * defence in depth should one of those checks ever be wrong.
 *
 * keyctl/add_key/request_key: the keyring is not namespaced. Incus answers
 * ENOSYS there so systemd falls back to working without keys; a profile has
 * one errno, so with EPERM a caller that wants that fallback sets errno 38.
 */
declare const DEFAULT_SECCOMP_DENY: readonly string[];

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
 * Deny everything, then allow the usual character devices (LXC's and
 * Docker's list): null, zero, full, random, urandom, tty, console, ptmx, the
 * pts, fuse and tun.
 */
declare const DEFAULT_DEVICE_RULES: readonly DeviceRule[];
/**
 * Parses a rule in the v1 controller's syntax: `<type> [<major>:<minor>
 * [<access>]]`, e.g. `c 1:3 rwm`, `b *:* m`, `c 136:*`, `a`. A missing
 * `major:minor` means `*:*`, a missing access `rwm`. Whether the rule allows
 * or denies is given separately.
 */
declare function parseDeviceRule(s: string, allow?: boolean): DeviceRule;
/** The rule in the v1 controller's syntax (`c 1:3 rwm`), without allow/deny. */
declare function formatDeviceRule(rule: DeviceRule): string;

export { type ContainerConfig, DEFAULT_CAP_DROP, DEFAULT_DEVICE_RULES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, DEFAULT_SECCOMP_DENY, containerSchema, formatDeviceRule, idmapSchema, limitsSchema, mountSchema, nicSchema, parseDeviceRule, portSchema };
