/**
 * The intercept filter, run through a classic-BPF interpreter: which calls
 * wait for the monitor (USER_NOTIF) and which go on to the kernel (ALLOW),
 * and its numbers against this machine's kernel headers.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { resolveConfig } from "../config/resolve.js";
import { buildExecPlan } from "./build-plan.js";
import { runFilter, verifyFilter } from "./seccomp-bpf.testutil.js";
import { buildInterceptFilter } from "./seccomp-notify.js";

const ALLOW = 0x7fff0000;
const NOTIFY = 0x7fc00000;
const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** The filter's answer for a call: nr, arch and six 64-bit arguments (checked as the kernel would first). */
function run(filter: Buffer, arch: number, nr: number, args: bigint[] = []): number {
  verifyFilter(filter);
  return runFilter(filter, arch, nr, args);
}

const dev = (major: number, minor: number) => BigInt(((major & 0xfff) << 8) | (minor & 0xff));
const AT_FDCWD = -100n;

describe("buildInterceptFilter", () => {
  it("is null when nothing is asked for", () => {
    expect(buildInterceptFilter({})).toBeNull();
    expect(buildInterceptFilter({ mknod: false, setxattr: false })).toBeNull();
  });

  it("sends mknod and mknodat of a character device other than 0:0, and nothing else of theirs", () => {
    const f = buildInterceptFilter({ mknod: true }, "x64")!;
    expect(run(f, X86_64, 133, [0n, BigInt(S_IFCHR | 0o666), dev(1, 3)])).toBe(NOTIFY);
    expect(run(f, X86_64, 259, [AT_FDCWD, 0n, BigInt(S_IFCHR | 0o600), dev(8, 0)])).toBe(NOTIFY);
    // a whiteout, which the kernel makes in a user namespace itself
    expect(run(f, X86_64, 133, [0n, BigInt(S_IFCHR), 0n])).toBe(ALLOW);
    expect(run(f, X86_64, 259, [AT_FDCWD, 0n, BigInt(S_IFCHR), 0n])).toBe(ALLOW);
    // block devices, FIFOs, regular files: the kernel's to refuse or allow
    expect(run(f, X86_64, 133, [0n, BigInt(S_IFBLK | 0o600), dev(8, 0)])).toBe(ALLOW);
    expect(run(f, X86_64, 259, [AT_FDCWD, 0n, BigInt(S_IFIFO | 0o600), 0n])).toBe(ALLOW);
    // setxattr is not asked for
    expect(run(f, X86_64, 188, [0n, 0n, 0n, 1n])).toBe(ALLOW);
    // other ABIs go to the kernel (and the deny list)
    expect(run(f, I386, 14, [0n, BigInt(S_IFCHR), dev(1, 3)])).toBe(ALLOW);
    expect(run(f, X86_64, 0x40000000 + 133, [0n, BigInt(S_IFCHR), dev(1, 3)])).toBe(ALLOW);
  });

  it("sends the setxattr calls with a one-byte value only", () => {
    const f = buildInterceptFilter({ setxattr: true }, "x64")!;
    for (const nr of [188, 189, 190]) {
      expect(run(f, X86_64, nr, [0n, 0n, 0n, 1n, 0n])).toBe(NOTIFY);
      expect(run(f, X86_64, nr, [0n, 0n, 0n, 2n, 0n])).toBe(ALLOW);
      expect(run(f, X86_64, nr, [0n, 0n, 0n, (1n << 32n) | 1n, 0n])).toBe(ALLOW);
    }
    expect(run(f, X86_64, 133, [0n, BigInt(S_IFCHR), dev(1, 3)])).toBe(ALLOW);
  });

  it("on arm64, mknodat (there is no mknod) and the xattr calls", () => {
    const f = buildInterceptFilter({ mknod: true, setxattr: true }, "arm64")!;
    expect(run(f, AARCH64, 33, [AT_FDCWD, 0n, BigInt(S_IFCHR), dev(1, 5)])).toBe(NOTIFY);
    expect(run(f, AARCH64, 5, [0n, 0n, 0n, 1n])).toBe(NOTIFY);
    expect(run(f, AARCH64, 7, [0n, 0n, 0n, 1n])).toBe(NOTIFY);
    expect(run(f, X86_64, 133, [0n, BigInt(S_IFCHR), dev(1, 3)])).toBe(ALLOW);
  });

  it("uses this machine's numbers", () => {
    const header = ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"].find((p) => existsSync(p));
    if (process.arch !== "x64" || !header) return;
    const text = readFileSync(header, "utf8");
    const nr = (name: string) => Number(new RegExp(`#define __NR_${name} (\\d+)`).exec(text)![1]);
    const f = buildInterceptFilter({ mknod: true, setxattr: true }, "x64")!;
    expect(run(f, X86_64, nr("mknod"), [0n, BigInt(S_IFCHR), dev(1, 3)])).toBe(NOTIFY);
    expect(run(f, X86_64, nr("mknodat"), [AT_FDCWD, 0n, BigInt(S_IFCHR), dev(1, 3)])).toBe(NOTIFY);
    for (const name of ["setxattr", "lsetxattr", "fsetxattr"]) expect(run(f, X86_64, nr(name), [0n, 0n, 0n, 1n])).toBe(NOTIFY);
  });
});

describe("the exec plan with security.intercept", () => {
  const input = (config: Parameters<typeof resolveConfig>[0], interceptSocket?: number) => ({
    config: resolveConfig(config),
    initPidfd: 20,
    argv: ["/bin/true"],
    env: [],
    cwd: "/",
    user: { uid: 0, gid: 0, groups: [] },
    stdio: [0, 1, 2] as [number, number, number],
    tty: false,
    arch: "x64" as const,
    ...(interceptSocket !== undefined ? { interceptSocket } : {}),
  });

  it("installs the intercept filter before the deny list, keeping its socket until then", () => {
    const { ops } = buildExecPlan(input({ security: { intercept: { mknod: true } } }, 33));
    expect(ops[0]).toEqual({ kind: "close-inherited-fds", keep: [20, 33] });
    const kinds = ops.map((o) => o.kind);
    expect(kinds.indexOf("seccomp-listener")).toBeGreaterThan(kinds.indexOf("fork-into-namespaces"));
    expect(kinds.indexOf("seccomp-listener")).toBeLessThan(kinds.indexOf("seccomp"));
    expect(ops.find((o) => o.kind === "seccomp-listener")).toMatchObject({ socket: 33 });
  });

  it("has none of it without", () => {
    const { ops } = buildExecPlan(input({}));
    expect(ops.map((o) => o.kind)).not.toContain("seccomp-listener");
    expect(() => buildExecPlan(input({ security: { intercept: { setxattr: true } } }))).toThrow(/monitor's socket/);
  });
});
