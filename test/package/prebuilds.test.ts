/**
 * The prebuilt binaries the npm package carries (scripts/prebuild.sh, run by
 * scripts/setup.sh): each of the four targets' three files is an ELF of its
 * architecture needing its libc (scripts/check-prebuilds.sh); the arm64
 * addon loads and works in the official arm64 Node under qemu-aarch64; the
 * monitors of every target start (and print their usage) with their libc's
 * dynamic linker, and arm64 warren-exec's own _start runs.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../..");
const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: repo, encoding: "utf8", timeout: 120_000 });

describe("prebuilds", () => {
  it("has warren.node, warren-monitor and warren-exec for x64 and arm64, glibc and musl, each of its arch and libc", () => {
    const r = run("bash", ["scripts/check-prebuilds.sh"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(12);
    for (const [arch, machine] of [["x64", "x86-64"], ["arm64", "ARM aarch64"]]) {
      expect(lines).toContain(`prebuilds/linux-${arch}/warren-exec.glibc: ${machine} glibc `);
      for (const libc of ["glibc", "musl"]) {
        const addon = lines.find((l) => l.startsWith(`prebuilds/linux-${arch}/warren.${libc}.node: ${machine} ${libc} needs `));
        expect(addon).toContain(libc === "glibc" ? "libc.so.6" : "libc.so ");
      }
    }
  });

  it("loads the arm64 glibc addon in an arm64 Node under qemu-aarch64 and makes real calls", () => {
    const r = run("bash", ["scripts/qemu-load-arm64.sh"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.arch).toBe("arm64");
    expect(out.fds).toHaveLength(2);
  });

  it("starts every target's warren-monitor with its libc's dynamic linker", () => {
    const cases: [string, string[]][] = [
      [join(repo, "prebuilds/linux-x64/warren-monitor.glibc"), []],
      [join(repo, "prebuilds/linux-x64/warren-monitor.musl"), []],
      ["qemu-aarch64", ["-L", "/usr/aarch64-linux-gnu", "prebuilds/linux-arm64/warren-monitor.glibc"]],
      ["qemu-aarch64", ["-L", join(repo, ".cache/musl-arm64"), "prebuilds/linux-arm64/warren-monitor.musl"]],
    ];
    expect(existsSync("/lib/ld-musl-x86_64.so.1")).toBe(true);
    for (const [cmd, args] of cases) {
      const r = run(cmd, args);
      expect(`${cmd} ${args.join(" ")}: ${r.stderr}`).toContain("usage: warren-monitor STATE_DIR RING_BYTES");
      expect(r.status).toBe(2);
    }
  });

  it("runs arm64 warren-exec's own _start (no libc) under qemu-aarch64", () => {
    const r = run("qemu-aarch64", ["prebuilds/linux-arm64/warren-exec.musl"]);
    expect(r.stderr).toContain("this is warren's exec helper, not a program");
    expect(r.status).toBe(126);
  });
});
