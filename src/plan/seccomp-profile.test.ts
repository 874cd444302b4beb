/**
 * OCI seccomp profiles compiled to BPF, run through a classic-BPF
 * interpreter written here (the subset a seccomp filter may use, with the
 * checks the kernel's seccomp_check_filter makes), against what libseccomp's
 * semantics say each call should get.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { abiSyscallNumber, compileSeccompProfile, type OciSeccompProfile } from "./seccomp-profile.js";
import { runFilter, verifyFilter } from "./seccomp-bpf.testutil.js";

const AUDIT = { x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028, ppc64le: 0xc0000015 };
const ALLOW = 0x7fff0000;
const ERRNO = 0x00050000;
const KILL_THREAD = 0;
const KILL_PROCESS = 0x80000000;
const TRAP = 0x00030000;
const LOG = 0x7ffc0000;
const TRACE = 0x7ff00000;
const EPERM = 1;
const ENOSYS = 38;

const verify = verifyFilter;
const run = runFilter;

const nr = (name: string, abi: Parameters<typeof abiSyscallNumber>[1] = "x86_64") => {
  const n = abiSyscallNumber(name, abi);
  if (n === undefined) throw new Error(`${name} has no number on ${abi}`);
  return n;
};

function compile(profile: OciSeccompProfile, arch: "x64" | "arm64" = "x64") {
  const out = compileSeccompProfile(profile, { arch });
  verify(out.filter);
  return out;
}

describe("compileSeccompProfile", () => {
  // The kernel test's profile (test/oci/seccomp.test.ts), checked here call by call.
  const profile: OciSeccompProfile = {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [
      { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" },
      { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value: 0, op: "SCMP_CMP_NE" }] },
      { names: ["getpid"], action: "SCMP_ACT_KILL_PROCESS" },
      { names: ["not_a_call_anywhere"], action: "SCMP_ACT_ERRNO" },
    ],
  };

  it("gives each call its action on every ABI it lists", () => {
    const { filter, skipped, flags } = compile(profile);
    expect(skipped).toEqual(["not_a_call_anywhere"]);
    expect(flags).toBe(0);
    for (const abi of ["x86_64", "i386", "x32"] as const) {
      const audit = abi === "i386" ? AUDIT.i386 : AUDIT.x86_64;
      expect(run(filter, audit, nr("mkdir", abi))).toBe(ERRNO | EPERM);
      expect(run(filter, audit, nr("mkdirat", abi))).toBe(ERRNO | EPERM);
      expect(run(filter, audit, nr("getpid", abi))).toBe(KILL_PROCESS);
      expect(run(filter, audit, nr("personality", abi), [0n])).toBe(ALLOW);
      expect(run(filter, audit, nr("personality", abi), [8n])).toBe(ERRNO | 22);
      expect(run(filter, audit, nr("read", abi))).toBe(ALLOW);
    }
    // A 64-bit argument that differs only in its high half is not 0.
    expect(run(filter, AUDIT.x86_64, nr("personality"), [1n << 32n])).toBe(ERRNO | 22);
    // An ABI the filter does not cover: libseccomp's bad-arch action.
    expect(run(filter, AUDIT.aarch64, 1)).toBe(KILL_THREAD);
  });

  it("always filters the native ABI and leaves out the ones not listed", () => {
    const { filter } = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
    expect(run(filter, AUDIT.x86_64, nr("mkdir"))).toBe(ERRNO | EPERM);
    expect(run(filter, AUDIT.i386, nr("mkdir", "i386"))).toBe(KILL_THREAD);
    expect(run(filter, AUDIT.x86_64, nr("mkdir", "x32"))).toBe(KILL_THREAD);
    // nr -1 is a tracer skipping the call, not an x32 call.
    expect(run(filter, AUDIT.x86_64, -1)).toBe(ALLOW);
    // Architectures this host never reports are accepted and cost nothing.
    const withMips = compile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_MIPS64", "SCMP_ARCH_S390X"], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
    expect(withMips.filter).toEqual(filter);
  });

  it("builds aarch64 and arm blocks on arm64", () => {
    const { filter } = compile({ ...profile, architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"] }, "arm64");
    // aarch64 has no mkdir, only mkdirat; arm has both.
    expect(run(filter, AUDIT.aarch64, nr("mkdirat", "aarch64"))).toBe(ERRNO | EPERM);
    expect(run(filter, AUDIT.arm, nr("mkdir", "arm"))).toBe(ERRNO | EPERM);
    expect(run(filter, AUDIT.aarch64, nr("getpid", "aarch64"))).toBe(KILL_PROCESS);
    expect(run(filter, AUDIT.arm, nr("personality", "arm"), [3n])).toBe(ERRNO | 22);
    expect(run(filter, AUDIT.x86_64, 0)).toBe(KILL_THREAD);
  });

  it("encodes every action and its data as libseccomp does", () => {
    const { filter } = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: ENOSYS,
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW" },
        { names: ["write"], action: "SCMP_ACT_ERRNO" },
        { names: ["open"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["close"], action: "SCMP_ACT_KILL" },
        { names: ["stat"], action: "SCMP_ACT_KILL_THREAD" },
        { names: ["fstat"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["lstat"], action: "SCMP_ACT_TRAP" },
        { names: ["poll"], action: "SCMP_ACT_LOG" },
        { names: ["lseek"], action: "SCMP_ACT_TRACE", errnoRet: 7 },
        { names: ["mmap"], action: "SCMP_ACT_TRACE" },
        // Same as the default (ERRNO ENOSYS): ignored, as runc does.
        { names: ["brk"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
      ],
    });
    const want: Record<string, number> = {
      read: ALLOW,
      write: ERRNO | EPERM,
      open: ERRNO | 13,
      close: KILL_THREAD,
      stat: KILL_THREAD,
      fstat: KILL_PROCESS,
      lstat: TRAP,
      poll: LOG,
      lseek: TRACE | 7,
      mmap: TRACE | EPERM,
      brk: ERRNO | ENOSYS,
      mprotect: ERRNO | ENOSYS,
    };
    for (const [name, action] of Object.entries(want)) expect(run(filter, AUDIT.x86_64, nr(name)), name).toBe(action);
  });

  describe("argument comparisons", () => {
    const OPS = ["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE"] as const;
    const reference = (op: (typeof OPS)[number], arg: bigint, value: bigint): boolean =>
      ({ SCMP_CMP_EQ: arg === value, SCMP_CMP_NE: arg !== value, SCMP_CMP_LT: arg < value, SCMP_CMP_LE: arg <= value, SCMP_CMP_GT: arg > value, SCMP_CMP_GE: arg >= value })[op];
    const VALUES = [0n, 5n, 0xffffffffn, 0x1_0000_0005n, 0x2_0000_0000n, 0xffff_ffff_ffff_fffen];
    const ARGS = [0n, 4n, 5n, 6n, 0xffffffffn, 0x1_0000_0004n, 0x1_0000_0005n, 0x1_0000_0006n, 0x1_ffff_ffffn, 0x2_0000_0000n, 0xffff_ffff_ffff_ffffn];

    it("compares all 64 bits on a 64-bit ABI, through both halves", () => {
      for (const op of OPS) {
        for (const value of VALUES) {
          const { filter } = compile({
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 2, value, op }] }],
          });
          for (const arg of ARGS) {
            const want = reference(op, arg, value) ? ERRNO | EPERM : ALLOW;
            expect(run(filter, AUDIT.x86_64, nr("ioctl"), [0n, 0n, arg]), `${op} ${arg} vs ${value}`).toBe(want);
          }
        }
      }
    });

    it("compares the low 32 bits on a 32-bit ABI, as libseccomp does", () => {
      for (const op of OPS) {
        for (const value of [0n, 5n, 0xffffffffn]) {
          const { filter } = compile({
            defaultAction: "SCMP_ACT_ALLOW",
            architectures: ["SCMP_ARCH_X86"],
            syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value, op }] }],
          });
          for (const arg of [0n, 4n, 5n, 6n, 0xffffffffn]) {
            const want = reference(op, arg, value) ? ERRNO | EPERM : ALLOW;
            expect(run(filter, AUDIT.i386, nr("ioctl", "i386"), [0n, arg]), `${op} ${arg} vs ${value}`).toBe(want);
          }
        }
      }
    });

    it("MASKED_EQ: (arg & value) == valueTwo on both halves", () => {
      const mask = 0x0000_00ff_0000_00f0n;
      const datum = 0x0000_0012_0000_0030n;
      const { filter } = compile({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["fcntl"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: mask, valueTwo: datum, op: "SCMP_CMP_MASKED_EQ" }] }],
      });
      for (const arg of [0n, datum, datum | 0x0fn, datum | 0xff00_0000_0000_0000n, 0x0000_0013_0000_0030n, 0x0000_0012_0000_0031n, 0x0000_0012_0000_0040n]) {
        const want = (arg & mask) === datum ? ERRNO | EPERM : ALLOW;
        expect(run(filter, AUDIT.x86_64, nr("fcntl"), [arg]), `${arg.toString(16)}`).toBe(want);
      }
    });

    it("ANDs the comparisons of one rule and ORs the rules of one call, first match deciding", () => {
      const { filter } = compile({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          {
            names: ["socket"],
            action: "SCMP_ACT_ERRNO",
            errnoRet: 97,
            args: [
              { index: 0, value: 2, op: "SCMP_CMP_EQ" },
              { index: 1, value: 3, op: "SCMP_CMP_EQ" },
            ],
          },
          { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 0, value: 10, op: "SCMP_CMP_EQ" }] },
          { names: ["socket"], action: "SCMP_ACT_KILL_PROCESS", args: [{ index: 0, value: 2, op: "SCMP_CMP_EQ" }] },
        ],
      });
      const sock = (a: bigint, b: bigint) => run(filter, AUDIT.x86_64, nr("socket"), [a, b]);
      expect(sock(2n, 3n)).toBe(ERRNO | 97);
      expect(sock(2n, 1n)).toBe(KILL_PROCESS);
      expect(sock(10n, 3n)).toBe(ERRNO | 13);
      expect(sock(1n, 3n)).toBe(ALLOW);
    });

    it("lets an unconditional rule win over the call's rules with arguments, in any order (libseccomp's db_rule_add)", () => {
      for (const order of [0, 1]) {
        const conditional = { names: ["kill"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 0, op: "SCMP_CMP_EQ" }] };
        const plain = { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 3 };
        const { filter } = compile({ defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls: order ? [plain, conditional] : [conditional, plain] });
        expect(run(filter, AUDIT.x86_64, nr("kill"), [1n, 0n])).toBe(ERRNO | 3);
        expect(run(filter, AUDIT.x86_64, nr("kill"), [1n, 9n])).toBe(ERRNO | 3);
      }
      // Of two unconditional rules, the first stays.
      const { filter } = compile({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 3 },
          { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 4 },
        ],
      });
      expect(run(filter, AUDIT.x86_64, nr("kill"))).toBe(ERRNO | 3);
    });
  });

  it("passes the flags it knows and refuses the rest by name", () => {
    const { flags } = compile({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"] });
    expect(flags).toBe(2 | 4 | 1);
    expect(() => compile({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] })).toThrow(/linux\.seccomp\.flags\[0\]: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" is not supported/);
  });

  it("refuses what it cannot honour with the field's path", () => {
    const bad = (p: unknown, at?: string) => {
      try {
        compileSeccompProfile(p, { arch: "x64", ...(at ? { at } : {}) });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).issues.map((i) => i.path);
      }
      throw new Error("compiled");
    };
    expect(bad({ defaultAction: "SCMP_ACT_NOTIFY" })).toEqual(["linux.seccomp.defaultAction"]);
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/x.sock", syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }] })).toEqual([
      "linux.seccomp.listenerPath",
      "linux.seccomp.syscalls[0].action",
    ]);
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_KILL", errnoRet: 1 }] })).toEqual(["linux.seccomp.syscalls[0].errnoRet"]);
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: 1 })).toEqual(["linux.seccomp.defaultErrnoRet"]);
    expect(bad({ defaultAction: "SCMP_ACT_ALLOWED" })).toEqual(["linux.seccomp.defaultAction"]);
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80"] })).toEqual(["linux.seccomp.architectures[0]"]);
    expect(
      bad({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 6, value: -1, op: "SCMP_CMP_ABOUT" }] }],
      }),
    ).toEqual(["linux.seccomp.syscalls[0].args[0].index", "linux.seccomp.syscalls[0].args[0].op", "linux.seccomp.syscalls[0].args[0].value"]);
    expect(bad({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: [], action: "SCMP_ACT_ALLOW" }] }, "seccomp.profile")).toEqual(["seccomp.profile.syscalls[0].names"]);
    // Docker's template is not an OCI profile.
    const docker = JSON.parse(readFileSync(new URL("../../test/fixtures/seccomp/docker-default.json", import.meta.url), "utf8"));
    expect(bad(docker)).toContain("linux.seccomp.archMap");
  });

  it("says so when the program would pass the kernel's 4096 instructions", () => {
    const syscalls = Array.from({ length: 1200 }, (_, i) => ({ names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: i, op: "SCMP_CMP_EQ" }] }));
    expect(() => compileSeccompProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls }, { arch: "x64" })).toThrow(/linux\.seccomp: compiles to \d+ BPF instructions, over the kernel's limit of 4096/);
  });

  describe("Docker's default profile", () => {
    const template = JSON.parse(readFileSync(new URL("../../test/fixtures/seccomp/docker-default.json", import.meta.url), "utf8"));
    // Docker's default capabilities (no CAP_SYS_ADMIN).
    const CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"];

    /** What Docker hands the runtime: the template rendered for one architecture and capability set. */
    function render(goArch: "amd64" | "arm64", caps: string[]): OciSeccompProfile {
      const native = goArch === "amd64" ? "SCMP_ARCH_X86_64" : "SCMP_ARCH_AARCH64";
      const map = template.archMap.find((m: { architecture: string }) => m.architecture === native);
      const syscalls = template.syscalls
        .filter((s: { includes?: { arches?: string[]; caps?: string[] }; excludes?: { arches?: string[]; caps?: string[] } }) => {
          const inc = s.includes ?? {};
          const exc = s.excludes ?? {};
          if (inc.arches && !inc.arches.includes(goArch)) return false;
          if (inc.caps && !inc.caps.every((c) => caps.includes(c))) return false;
          if (exc.arches?.includes(goArch)) return false;
          if (exc.caps?.some((c) => caps.includes(c))) return false;
          return true;
        })
        .map(({ includes: _i, excludes: _e, comment: _c, ...rule }: Record<string, unknown>) => rule);
      return { defaultAction: template.defaultAction, defaultErrnoRet: template.defaultErrnoRet, architectures: [native, ...map.subArchitectures], syscalls };
    }

    it("fits, and gives the calls Docker means", () => {
      const { filter, skipped } = compile(render("amd64", CAPS));
      const size = filter.length / 8;
      expect(size).toBeLessThan(4096);
      // Names of other architectures, or newer than the tables (skipped as runc does).
      expect(skipped).not.toContain("mkdir");
      const x = (name: string, args: bigint[] = []) => run(filter, AUDIT.x86_64, nr(name), args);
      expect(x("mkdir")).toBe(ALLOW);
      expect(x("arch_prctl")).toBe(ALLOW);
      expect(x("mount")).toBe(ERRNO | EPERM);
      expect(x("unshare")).toBe(ERRNO | EPERM);
      expect(x("clone3")).toBe(ERRNO | ENOSYS);
      const CLONE_NEWUSER = 0x10000000n;
      const SIGCHLD = 17n;
      expect(x("clone", [SIGCHLD])).toBe(ALLOW);
      expect(x("clone", [SIGCHLD | CLONE_NEWUSER])).toBe(ERRNO | EPERM);
      expect(x("socket", [2n])).toBe(ALLOW);
      expect(x("socket", [40n])).toBe(ERRNO | EPERM);
      expect(x("personality", [0xffffffffn])).toBe(ALLOW);
      expect(x("personality", [1n])).toBe(ERRNO | EPERM);
      expect(x("reboot")).toBe(ERRNO | EPERM);
      expect(x("chroot")).toBe(ALLOW);
      expect(run(filter, AUDIT.i386, nr("open", "i386"))).toBe(ALLOW);
      expect(run(filter, AUDIT.i386, nr("socketcall", "i386"))).toBe(ALLOW);
      expect(run(filter, AUDIT.i386, nr("mount", "i386"))).toBe(ERRNO | EPERM);
      expect(run(filter, AUDIT.x86_64, nr("rt_sigaction", "x32"))).toBe(ALLOW);
      expect(run(filter, AUDIT.x86_64, nr("keyctl", "x32"))).toBe(ERRNO | EPERM);
      expect(run(filter, AUDIT.ppc64le, 1)).toBe(KILL_THREAD);
      // With CAP_SYS_ADMIN the mount family is allowed and clone unrestricted.
      const admin = compile(render("amd64", [...CAPS, "CAP_SYS_ADMIN"])).filter;
      expect(run(admin, AUDIT.x86_64, nr("mount"))).toBe(ALLOW);
      expect(run(admin, AUDIT.x86_64, nr("clone3"))).toBe(ALLOW);
      expect(run(admin, AUDIT.x86_64, nr("clone"), [SIGCHLD | CLONE_NEWUSER])).toBe(ALLOW);
    });

    it("fits on arm64 too", () => {
      const { filter } = compile(render("arm64", CAPS), "arm64");
      expect(run(filter, AUDIT.aarch64, nr("mkdirat", "aarch64"))).toBe(ALLOW);
      expect(run(filter, AUDIT.aarch64, nr("mount", "aarch64"))).toBe(ERRNO | EPERM);
      expect(run(filter, AUDIT.arm, nr("set_tls", "arm"))).toBe(ALLOW);
      expect(run(filter, AUDIT.arm, nr("mkdir", "arm"))).toBe(ALLOW);
    });
  });
});
