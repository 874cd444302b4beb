/**
 * Device programs on a real cgroup v2 directory: a shell moved into the
 * cgroup tries to open and mknod devices while the rules change under it.
 * The cgroup is a plain directory under the cgroup2 mount (not warren's
 * subtree), removed at the end.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { detectCgroupHost } from "../../src/cgroup/cgroup2.js";
import {
  applyDeviceRules,
  DEFAULT_DEVICE_RULES,
  DEVICE_PROGRAM_NAME,
  devicePrograms,
  parseDeviceRule,
  removeDeviceRules,
} from "../../src/cgroup/devices.js";
import { HostError } from "../../src/errors.js";
import { native } from "../../src/native/binding.js";

const mount = detectCgroupHost().mount;
const cgroup = join(mount, `warren-devtest-${process.pid}`);
const scratch = mkdtempSync(join(tmpdir(), "warren-devtest-"));

const major = (rdev: number) => (rdev >> 8) & 0xfff;
const minor = (rdev: number) => (rdev & 0xff) | ((rdev >> 12) & 0xfff00);

/** The first of `paths` that exists as a device of that kind and opens read-only here (outside the cgroup). */
function openable(paths: string[], block: boolean): string | undefined {
  for (const p of paths) {
    try {
      const st = statSync(p);
      if (block ? !st.isBlockDevice() : !st.isCharacterDevice()) continue;
      closeSync(openSync(p, constants.O_RDONLY | constants.O_NONBLOCK));
      return p;
    } catch {
      /* missing or unusable */
    }
  }
  return undefined;
}

// A character device outside the default list: loop-control is 10:237.
const charDev = openable(["/dev/loop-control", "/dev/vcs", "/dev/kmsg"], false);
// A block device, only ever opened read-only (no byte is read).
const blockDev = openable(
  ["/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda", ...readdirSync("/dev").map((e) => join("/dev", e))],
  true,
);

/** A shell living in the test cgroup that runs one line at a time. */
class CgroupShell {
  private readonly child: ChildProcessWithoutNullStreams;
  private out = "";
  private waiting: (() => void) | undefined;
  readonly exited: Promise<void>;

  constructor(procs: string) {
    const script = `echo $$ > '${procs}' || exit 99; while IFS= read -r line; do eval "$line" 2>&1; echo "@@end"; done`;
    this.child = spawn("/bin/sh", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout.on("data", (b: Buffer) => {
      this.out += b.toString();
      this.waiting?.();
    });
    this.child.stderr.on("data", (b: Buffer) => {
      this.out += b.toString();
    });
    this.exited = new Promise((resolve) => this.child.on("exit", () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Runs one shell line (stderr merged into stdout) and returns its output. */
  async run(line: string): Promise<string> {
    this.child.stdin.write(`${line}\n`);
    while (!this.out.includes("@@end\n")) {
      if (this.child.exitCode !== null) throw new Error(`the shell exited: ${this.out}`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 100);
      });
    }
    const i = this.out.indexOf("@@end\n");
    const result = this.out.slice(0, i);
    this.out = this.out.slice(i + "@@end\n".length);
    return result;
  }

  /** Opens `path` in a subshell (`<` read-only, `<>` read-write): "rc=0", or the error and the status. */
  open(path: string, mode: "<" | "<>" = "<"): Promise<string> {
    return this.run(`( : ${mode} ${path} ); echo "rc=$?"`);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const done = await Promise.race([this.exited.then(() => true), sleep(2000).then(() => false)]);
    if (!done) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

let shell: CgroupShell;

beforeAll(async () => {
  mkdirSync(cgroup);
  // The policy is in place before any process is in the cgroup, as it must
  // be for a container (CLONE_INTO_CGROUP puts the init there at clone time).
  applyDeviceRules(cgroup, DEFAULT_DEVICE_RULES);
  shell = new CgroupShell(join(cgroup, "cgroup.procs"));
  expect((await shell.run("cat /proc/self/cgroup")).trim().split("\n").pop()).toBe(`0::/${relative(mount, cgroup)}`);
});

afterAll(async () => {
  await shell?.close();
  // The shell (and every subshell) is gone, so the cgroup is empty; the
  // kernel may need a moment to notice.
  for (let i = 0; existsSync(cgroup); i++) {
    try {
      rmdirSync(cgroup);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EBUSY" || i > 100) throw e;
      await sleep(20);
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe("device programs on a cgroup", () => {
  it("attaches one warren program", () => {
    const ids = devicePrograms(cgroup);
    expect(ids).toHaveLength(1);
    expect(native().bpfProgInfo(ids[0]!)).toMatchObject({ id: ids[0], name: DEVICE_PROGRAM_NAME, type: 15 });
    expect(native().bpfProgInfo(ids[0]!).tag).toMatch(/^[0-9a-f]{16}$/);
  });

  it("allows the standard devices", async () => {
    expect(await shell.run("head -c1 /dev/null && echo ok")).toBe("ok\n");
    expect(await shell.run("head -c4 /dev/zero | od -An -tx1 | tr -d ' '")).toBe("00000000\n");
    expect(await shell.run("head -c4 /dev/urandom | wc -c")).toMatch(/^\s*4\n$/);
    expect(await shell.run("echo x > /dev/null && echo ok")).toBe("ok\n");
  });

  it.skipIf(!charDev)("denies opening a character device outside the list", async () => {
    expect(await shell.open(charDev!)).toMatch(/Operation not permitted\nrc=[1-9]/);
  });

  it.skipIf(!blockDev)("denies opening a block device", async () => {
    expect(await shell.open(blockDev!)).toMatch(/Operation not permitted\nrc=[1-9]/);
  });

  it("allows mknod of listed devices only", async () => {
    expect(await shell.run(`mknod ${scratch}/null c 1 3 && echo ok`)).toBe("ok\n");
    expect(await shell.run(`mknod ${scratch}/blk b 8 0; echo "rc=$?"`)).toMatch(/Operation not permitted\nrc=1/);
    expect(await shell.run(`mknod ${scratch}/mem c 1 1; echo "rc=$?"`)).toMatch(/Operation not permitted\nrc=1/);
    expect(existsSync(join(scratch, "blk"))).toBe(false);
  });

  it.skipIf(!charDev)("changes the rules live, for the processes already in the cgroup", async () => {
    const st = statSync(charDev!);
    const before = devicePrograms(cgroup);
    applyDeviceRules(cgroup, [...DEFAULT_DEVICE_RULES, parseDeviceRule(`c ${major(st.rdev)}:${minor(st.rdev)} r`)]);
    expect(await shell.open(charDev!)).toBe("rc=0\n");
    // Only read was allowed.
    expect(await shell.open(charDev!, "<>")).toMatch(/Operation not permitted\nrc=[1-9]/);
    expect(await shell.run("head -c1 /dev/null && echo ok")).toBe("ok\n");
    // Replaced, not stacked: still exactly one program, a new one.
    const after = devicePrograms(cgroup);
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    expect(queryAll()).toHaveLength(1);

    // And back.
    applyDeviceRules(cgroup, DEFAULT_DEVICE_RULES);
    expect(await shell.open(charDev!)).toMatch(/Operation not permitted\nrc=[1-9]/);
    expect(devicePrograms(cgroup)).toHaveLength(1);
  });

  it("replaces rather than stacks over many applies", () => {
    for (let i = 0; i < 5; i++) applyDeviceRules(cgroup, DEFAULT_DEVICE_RULES);
    expect(queryAll()).toHaveLength(1);
    expect(devicePrograms(cgroup)).toHaveLength(1);
  });

  it("verifies a long rule list in linear time", async () => {
    const many = [...DEFAULT_DEVICE_RULES];
    for (let i = 0; i < 3000; i++) many.push(parseDeviceRule(`${i % 2 ? "c" : "b"} ${200 + (i % 50)}:${i} ${["r", "rw", "rwm"][i % 3]}`, i % 5 !== 0));
    const start = performance.now();
    applyDeviceRules(cgroup, many);
    expect(performance.now() - start).toBeLessThan(5000);
    expect(await shell.run("head -c1 /dev/null && echo ok")).toBe("ok\n");
    if (charDev) expect(await shell.open(charDev)).toMatch(/Operation not permitted/);
    applyDeviceRules(cgroup, DEFAULT_DEVICE_RULES);
    expect(devicePrograms(cgroup)).toHaveLength(1);
  });

  it("applies to the cgroups below", async () => {
    const leaf = join(cgroup, "leaf");
    mkdirSync(leaf);
    try {
      const sub = new CgroupShell(join(leaf, "cgroup.procs"));
      try {
        expect(await sub.run("head -c1 /dev/null && echo ok")).toBe("ok\n");
        if (charDev) expect(await sub.open(charDev)).toMatch(/Operation not permitted/);
        expect(devicePrograms(leaf)).toEqual([]);
      } finally {
        await sub.close();
      }
    } finally {
      for (let i = 0; existsSync(leaf); i++) {
        try {
          rmdirSync(leaf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EBUSY" || i > 100) throw e;
          await sleep(20);
        }
      }
    }
  });

  it.skipIf(!charDev)("detaches with removeDeviceRules", async () => {
    removeDeviceRules(cgroup);
    expect(devicePrograms(cgroup)).toEqual([]);
    // The cgroup2 root has no device program on this host's test setup, so
    // anything the host allows is allowed again.
    if (queryAll(mount).length === 0) expect(await shell.open(charDev!)).toBe("rc=0\n");
    applyDeviceRules(cgroup, DEFAULT_DEVICE_RULES);
    expect(await shell.open(charDev!)).toMatch(/Operation not permitted/);
  });

  it("reports a missing cgroup as a HostError", () => {
    const missing = join(mount, `warren-devtest-missing-${process.pid}`);
    expect(() => applyDeviceRules(missing, DEFAULT_DEVICE_RULES)).toThrow(HostError);
    expect(() => applyDeviceRules(missing, DEFAULT_DEVICE_RULES)).toThrow(/ENOENT/);
  });

  it("puts the verifier's log into a load error", () => {
    // r0 = *(u32 *)(r1 + 12): past the end of bpf_cgroup_dev_ctx.
    const bad = Buffer.from([0x61, 0x10, 12, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    let err: unknown;
    try {
      closeSync(native().bpfProgLoadDevice(bad, "warren_bad", "GPL"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ syscall: "bpf(BPF_PROG_LOAD)" });
    expect([13, 22]).toContain((err as { errno: number }).errno);
    expect((err as Error).message).toMatch(/verifier log:/);
    expect((err as { log: string }).log).toMatch(/invalid bpf_context access|off=12/);
  });
});

/** Every device program attached to the directory itself, warren's or not. */
function queryAll(path = cgroup): number[] {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return native().bpfProgQuery(fd);
  } finally {
    closeSync(fd);
  }
}
