/**
 * The seccomp filter is checked two ways: its numbers against this machine's
 * kernel headers, and its behaviour by running it through a small classic-BPF
 * interpreter that mirrors what the kernel would return.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, it, expect } from "vitest";
import { DEFAULT_SECCOMP_DENY } from "../config/defaults.js";
import { buildSeccompFilter, syscallNumber, type SeccompArch } from "./seccomp.js";
import { UnknownSyscallError } from "../errors.js";
import { runFilter, verifyFilter } from "./seccomp-bpf.testutil.js";

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_ARM = 0x40000028;
const ALLOW = 0x7fff0000;
const ERRNO = 0x00050000;
const ENOSYS = 38;
const EPERM = 1;

const verify = verifyFilter;
const run = runFilter;

const DEFAULT = { deny: DEFAULT_SECCOMP_DENY, errno: EPERM };

// Names the tables should know: the default list plus calls a user may add.
const EXTRA = [
  "read", "write", "open", "openat", "execve", "mount", "umount", "umount2", "pivot_root", "ptrace", "bpf",
  "perf_event_open", "userfaultfd", "unshare", "setns", "clone3", "personality", "syslog", "reboot", "quotactl",
  "quotactl_fd", "settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex", "clock_adjtime",
  "clock_adjtime64", "process_vm_readv", "process_vm_writev", "kcmp", "fanotify_init", "name_to_handle_at", "mbind",
  "move_pages", "migrate_pages", "set_mempolicy", "get_mempolicy", "chroot", "io_uring_setup", "io_uring_enter",
  "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
  "pidfd_getfd", "process_madvise",
];
const NAMES = [...new Set([...DEFAULT_SECCOMP_DENY, ...EXTRA])];

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

function parseHeader(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of readFileSync(path, "utf8").matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) {
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const HEADERS: { arch: SeccompArch | "ia32"; paths: string[]; onlyIn32Bit?: string[] }[] = [
  {
    arch: "x64",
    paths: ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"],
  },
  {
    arch: "ia32",
    paths: ["/usr/include/x86_64-linux-gnu/asm/unistd_32.h", "/usr/include/i386-linux-gnu/asm/unistd_32.h", "/usr/include/asm/unistd_32.h"],
  },
  {
    arch: "arm64",
    paths: ["/usr/include/asm-generic/unistd.h"],
    // Defined under `#if __BITS_PER_LONG == 32` in the generic header; a
    // 64-bit arch has no such calls.
    onlyIn32Bit: ["clock_settime64", "clock_adjtime64"],
  },
];

describe("syscall tables", () => {
  for (const { arch, paths, onlyIn32Bit = [] } of HEADERS) {
    const header = firstExisting(paths);
    it.skipIf(!header)(
      `${arch} numbers match ${header ?? `the kernel header (skipped: none of ${paths.join(", ")} exists)`}`,
      () => {
        const defined = parseHeader(header!);
        expect(defined.size).toBeGreaterThan(250);
        let known = 0;
        for (const name of NAMES) {
          const ours = syscallNumber(name, arch);
          const theirs = onlyIn32Bit.includes(name) ? undefined : defined.get(name);
          expect({ name, nr: ours }).toEqual({ name, nr: theirs });
          if (ours !== undefined) known++;
        }
        expect(known).toBeGreaterThan(40);
      },
    );
  }

  it("knows every name of the default list on some x86 or arm64 ABI", () => {
    for (const name of DEFAULT_SECCOMP_DENY) {
      const anywhere = (["x64", "ia32", "arm64"] as const).some((a) => syscallNumber(name, a) !== undefined);
      expect({ name, anywhere }).toEqual({ name, anywhere: true });
    }
  });

  it("does not take Object.prototype members for system calls", () => {
    expect(syscallNumber("constructor", "x64")).toBeUndefined();
    expect(syscallNumber("__proto__", "arm64")).toBeUndefined();
    expect(syscallNumber("toString", "ia32")).toBeUndefined();
  });

  it("spot-checks well-known numbers", () => {
    expect(syscallNumber("read", "x64")).toBe(0);
    expect(syscallNumber("kexec_load", "x64")).toBe(246);
    expect(syscallNumber("kexec_load", "ia32")).toBe(283);
    expect(syscallNumber("kexec_load", "arm64")).toBe(104);
    expect(syscallNumber("kexec_file_load", "ia32")).toBeUndefined();
    expect(syscallNumber("iopl", "arm64")).toBeUndefined();
    expect(syscallNumber("vm86", "x64")).toBeUndefined();
  });
});

describe("buildSeccompFilter on x64", () => {
  const filter = buildSeccompFilter(DEFAULT, "x64");

  it("passes the kernel's structural checks", () => {
    expect(filter.length % 8).toBe(0);
    expect(filter.length / 8).toBeLessThanOrEqual(4096);
    expect(() => verify(filter)).not.toThrow();
  });

  it("denies every default call that exists on x86_64 with the profile's errno", () => {
    expect(run(filter, AUDIT_ARCH_X86_64, 246)).toBe(ERRNO | EPERM);
    let checked = 0;
    for (const name of DEFAULT_SECCOMP_DENY) {
      const nr = syscallNumber(name, "x64");
      if (nr === undefined) continue;
      expect({ name, action: run(filter, AUDIT_ARCH_X86_64, nr) }).toEqual({ name, action: ERRNO | EPERM });
      checked++;
    }
    expect(checked).toBeGreaterThan(15);
  });

  it("allows what is not listed", () => {
    expect(run(filter, AUDIT_ARCH_X86_64, 0)).toBe(ALLOW); // read
    expect(run(filter, AUDIT_ARCH_X86_64, 1)).toBe(ALLOW); // write
    expect(run(filter, AUDIT_ARCH_X86_64, 165)).toBe(ALLOW); // mount
    expect(run(filter, AUDIT_ARCH_X86_64, 59)).toBe(ALLOW); // execve
  });

  it("denies the i386 numbers when entered as i386", () => {
    expect(run(filter, AUDIT_ARCH_I386, 283)).toBe(ERRNO | EPERM); // kexec_load
    expect(run(filter, AUDIT_ARCH_I386, 166)).toBe(ERRNO | EPERM); // vm86
    expect(run(filter, AUDIT_ARCH_I386, 110)).toBe(ERRNO | EPERM); // iopl
    expect(run(filter, AUDIT_ARCH_I386, 3)).toBe(ALLOW); // read
    expect(run(filter, AUDIT_ARCH_I386, 21)).toBe(ALLOW); // mount
  });

  it("matches numbers per ABI, not across them", () => {
    // 283 is timerfd_create on x86_64, 246 is io_destroy on i386.
    expect(run(filter, AUDIT_ARCH_X86_64, 283)).toBe(ALLOW);
    expect(run(filter, AUDIT_ARCH_I386, 246)).toBe(ALLOW);
  });

  it("refuses the x32 ABI with ENOSYS", () => {
    expect(run(filter, AUDIT_ARCH_X86_64, 0x40000000)).toBe(ERRNO | ENOSYS);
    expect(run(filter, AUDIT_ARCH_X86_64, 0x40000000 + 246)).toBe(ERRNO | ENOSYS);
  });

  it("lets a tracer's skipped call (nr -1) through", () => {
    expect(run(filter, AUDIT_ARCH_X86_64, -1)).toBe(ALLOW);
    expect(run(filter, AUDIT_ARCH_I386, -1)).toBe(ALLOW);
  });

  it("answers ENOSYS for any other arch", () => {
    expect(run(filter, AUDIT_ARCH_AARCH64, 104)).toBe(ERRNO | ENOSYS);
    expect(run(filter, AUDIT_ARCH_ARM, 0)).toBe(ERRNO | ENOSYS);
    expect(run(filter, 0xdeadbeef, 0)).toBe(ERRNO | ENOSYS);
  });

  it("uses the profile's errno and deny list", () => {
    const custom = buildSeccompFilter({ deny: ["mount", "umount2"], errno: ENOSYS }, "x64");
    expect(() => verify(custom)).not.toThrow();
    expect(run(custom, AUDIT_ARCH_X86_64, 165)).toBe(ERRNO | ENOSYS);
    expect(run(custom, AUDIT_ARCH_X86_64, 166)).toBe(ERRNO | ENOSYS);
    expect(run(custom, AUDIT_ARCH_X86_64, 246)).toBe(ALLOW); // kexec_load, not listed here
    expect(run(custom, AUDIT_ARCH_I386, 21)).toBe(ERRNO | ENOSYS); // mount
  });

  it("allows everything of a known ABI for an empty list", () => {
    const open = buildSeccompFilter({ deny: [], errno: EPERM }, "x64");
    expect(() => verify(open)).not.toThrow();
    expect(run(open, AUDIT_ARCH_X86_64, 246)).toBe(ALLOW);
    expect(run(open, AUDIT_ARCH_I386, 283)).toBe(ALLOW);
    expect(run(open, AUDIT_ARCH_X86_64, 0x40000001)).toBe(ERRNO | ENOSYS);
  });

  it("refuses umount2 with MNT_FORCE (EPERM, whatever the profile's errno) and lets a plain or lazy one through", () => {
    const MNT_FORCE = 1n;
    const MNT_DETACH = 2n;
    for (const errno of [EPERM, ENOSYS]) {
      const f = buildSeccompFilter({ deny: [], errno }, "x64");
      expect(() => verify(f)).not.toThrow();
      expect(run(f, AUDIT_ARCH_X86_64, 166, [0x1000n, MNT_FORCE])).toBe(ERRNO | EPERM);
      expect(run(f, AUDIT_ARCH_X86_64, 166, [0x1000n, MNT_FORCE | MNT_DETACH])).toBe(ERRNO | EPERM);
      // The high half of the argument is not the flags: only the low 32 bits count.
      expect(run(f, AUDIT_ARCH_X86_64, 166, [0x1000n, 1n << 32n])).toBe(ALLOW);
      expect(run(f, AUDIT_ARCH_X86_64, 166, [0x1000n, 0n])).toBe(ALLOW);
      expect(run(f, AUDIT_ARCH_X86_64, 166, [0x1000n, MNT_DETACH])).toBe(ALLOW);
      // The same call entered as i386 (umount2 is 52 there); old umount (22) has no flags.
      expect(run(f, AUDIT_ARCH_I386, 52, [0x1000n, MNT_FORCE])).toBe(ERRNO | EPERM);
      expect(run(f, AUDIT_ARCH_I386, 22, [0x1000n, MNT_FORCE])).toBe(ALLOW);
      // MNT_FORCE's bit in another call's second argument means nothing.
      expect(run(f, AUDIT_ARCH_X86_64, 165, [0x1000n, MNT_FORCE])).toBe(ALLOW);
    }
    const arm = buildSeccompFilter({ deny: [], errno: EPERM }, "arm64");
    expect(run(arm, AUDIT_ARCH_AARCH64, 39, [0x1000n, MNT_FORCE])).toBe(ERRNO | EPERM);
    expect(run(arm, AUDIT_ARCH_AARCH64, 39, [0x1000n, 0n])).toBe(ALLOW);
    expect(run(arm, AUDIT_ARCH_ARM, 52, [0x1000n, MNT_FORCE])).toBe(ERRNO | EPERM);
    // A listed umount2 keeps the profile's errno for every call.
    const listed = buildSeccompFilter({ deny: ["umount2"], errno: ENOSYS }, "x64");
    expect(run(listed, AUDIT_ARCH_X86_64, 166, [0x1000n, 0n])).toBe(ERRNO | ENOSYS);
    expect(run(listed, AUDIT_ARCH_X86_64, 166, [0x1000n, MNT_FORCE])).toBe(ERRNO | ENOSYS);
  });

  it("emits one compare per number, whatever the duplicates", () => {
    const once = buildSeccompFilter({ deny: ["mount"], errno: EPERM }, "x64");
    const twice = buildSeccompFilter({ deny: ["mount", "mount"], errno: EPERM }, "x64");
    expect(twice.equals(once)).toBe(true);
  });

  it("keeps every known name within the jump and size limits", () => {
    const all = buildSeccompFilter({ deny: NAMES, errno: EPERM }, "x64");
    expect(() => verify(all)).not.toThrow();
    for (const name of NAMES) {
      const nr = syscallNumber(name, "x64");
      if (nr !== undefined) expect({ name, action: run(all, AUDIT_ARCH_X86_64, nr) }).toEqual({ name, action: ERRNO | EPERM });
    }
  });
});

describe("buildSeccompFilter with calls answered ENOSYS", () => {
  const filter = buildSeccompFilter({ deny: DEFAULT_SECCOMP_DENY, errno: EPERM, enosys: ["keyctl", "add_key", "request_key"] }, "x64");

  it("answers the keyring calls ENOSYS on every ABI, and still denies the rest with the errno", () => {
    expect(() => verify(filter)).not.toThrow();
    expect(run(filter, AUDIT_ARCH_X86_64, syscallNumber("keyctl", "x64")!)).toBe(ERRNO | ENOSYS);
    expect(run(filter, AUDIT_ARCH_X86_64, syscallNumber("add_key", "x64")!)).toBe(ERRNO | ENOSYS);
    expect(run(filter, AUDIT_ARCH_I386, 288)).toBe(ERRNO | ENOSYS); // i386 keyctl
    expect(run(filter, AUDIT_ARCH_X86_64, 246)).toBe(ERRNO | EPERM); // kexec_load
    expect(run(filter, AUDIT_ARCH_X86_64, 0)).toBe(ALLOW); // read
  });

  it("refuses an unknown name in the ENOSYS list", () => {
    expect(() => buildSeccompFilter({ deny: [], errno: EPERM, enosys: ["no_such_call"] }, "x64")).toThrow(UnknownSyscallError);
  });
});

describe("buildSeccompFilter on arm64", () => {
  const filter = buildSeccompFilter(DEFAULT, "arm64");

  it("passes the kernel's structural checks", () => {
    expect(() => verify(filter)).not.toThrow();
  });

  it("denies aarch64 kexec_load and allows openat", () => {
    expect(run(filter, AUDIT_ARCH_AARCH64, 104)).toBe(ERRNO | EPERM);
    expect(run(filter, AUDIT_ARCH_AARCH64, 219)).toBe(ERRNO | EPERM); // keyctl
    expect(run(filter, AUDIT_ARCH_AARCH64, 56)).toBe(ALLOW);
    expect(run(filter, AUDIT_ARCH_AARCH64, 63)).toBe(ALLOW); // read
  });

  it("denies the 32-bit ARM EABI numbers as well", () => {
    expect(run(filter, AUDIT_ARCH_ARM, 347)).toBe(ERRNO | EPERM); // kexec_load
    expect(run(filter, AUDIT_ARCH_ARM, 311)).toBe(ERRNO | EPERM); // keyctl
    expect(run(filter, AUDIT_ARCH_ARM, 3)).toBe(ALLOW); // read
    expect(run(filter, AUDIT_ARCH_ARM, 322)).toBe(ALLOW); // openat
  });

  it("answers ENOSYS for x86 arches", () => {
    expect(run(filter, AUDIT_ARCH_X86_64, 0)).toBe(ERRNO | ENOSYS);
    expect(run(filter, AUDIT_ARCH_I386, 3)).toBe(ERRNO | ENOSYS);
  });

  it("skips names that only exist elsewhere", () => {
    const withIopl = buildSeccompFilter({ deny: ["iopl", "kexec_load"], errno: EPERM }, "arm64");
    const without = buildSeccompFilter({ deny: ["kexec_load"], errno: EPERM }, "arm64");
    expect(withIopl.equals(without)).toBe(true);
  });
});

describe("buildSeccompFilter input checks", () => {
  it("throws UnknownSyscallError for a name no table knows", () => {
    const build = () => buildSeccompFilter({ deny: ["mount", "not_a_syscall"], errno: EPERM }, "x64");
    expect(build).toThrow(UnknownSyscallError);
    expect(build).toThrow('invalid configuration: seccomp.deny: unknown system call "not_a_syscall"');
    try {
      build();
    } catch (e) {
      expect((e as UnknownSyscallError).syscall).toBe("not_a_syscall");
    }
    expect(() => buildSeccompFilter({ deny: ["constructor"], errno: EPERM }, "x64")).toThrow(UnknownSyscallError);
  });

  it("cannot deny execveat: every process starts through warren-exec, execveat'd after the filter is in place", () => {
    // native/child/exec.c. Adding execveat to the tables would let a
    // configuration break every start and exec; refuse it in the schema first.
    expect(() => buildSeccompFilter({ deny: ["execveat"], errno: EPERM }, "x64")).toThrow(UnknownSyscallError);
  });

  it("rejects an errno the kernel would not return as given", () => {
    for (const errno of [0, -1, 4096, 1.5, Number.NaN]) {
      expect(() => buildSeccompFilter({ deny: [], errno }, "x64")).toThrow(RangeError);
    }
    expect(run(buildSeccompFilter({ deny: ["mount"], errno: 4095 }, "x64"), AUDIT_ARCH_X86_64, 165)).toBe(ERRNO | 4095);
  });

  it("rejects an arch it has no tables for", () => {
    expect(() => buildSeccompFilter(DEFAULT, "ia32" as SeccompArch)).toThrow(/not supported on ia32/);
  });

  it.skipIf(process.arch !== "x64" && process.arch !== "arm64")("defaults to the running arch", () => {
    expect(buildSeccompFilter(DEFAULT).equals(buildSeccompFilter(DEFAULT, process.arch as SeccompArch))).toBe(true);
  });
});
