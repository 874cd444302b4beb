/**
 * The cgroup v2 VM harness itself (scripts/vm, test/helpers/vm.ts): the guest
 * has a pure cgroup v2 hierarchy with the controllers the limits tests need,
 * runs the host's node, allows user namespaces, and passes arguments, exit
 * status and output through unchanged.
 */
import { describe, expect, it } from "vitest";

import { runInVm, vmAvailable } from "../helpers/vm.js";

// Installs qemu and fetches a kernel the first time (then cached), so this
// can take a while once; afterwards well under a second.
const vm = await vmAvailable();

// TCG (no KVM): a boot takes about 5 s, more on a loaded machine.
const TIMEOUT = 90_000;

describe("cgroup v2 VM", () => {
  it("has a pure cgroup v2 hierarchy and returns the exit status", { timeout: TIMEOUT }, async (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = await runInVm(
      ["sh", "-c", "cat /sys/fs/cgroup/cgroup.controllers; grep -c ' cgroup ' /proc/mounts; exit 3"],
      { signal: ctx.signal },
    );
    expect(r.code, r.output).toBe(3);
    const [controllers = "", v1Mounts] = r.output.trimEnd().split("\n");
    expect(controllers.split(" ")).toEqual(expect.arrayContaining(["memory", "pids", "cpu", "cpuset"]));
    expect(v1Mounts).toBe("0");
  });

  it("runs the host's node", { timeout: TIMEOUT }, async (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const r = await runInVm([process.execPath, "-e", "console.log(process.versions.node)"], { signal: ctx.signal });
    expect(r).toEqual({ code: 0, output: `${process.versions.node}\n` });
  });

  it("allows user namespaces, passes arguments, environment and cwd as given", { timeout: TIMEOUT }, async (ctx) => {
    if (!vm.ok) ctx.skip(vm.reason);
    const tricky = `it's "quoted" $HOME \`x\` \\ ;|& *`;
    const r = await runInVm(
      [
        "sh",
        "-c",
        'unshare -Ur id -u; printf "%s\\n" "$1" "$X" "$PWD"; echo to-stderr >&2; printf "no newline"',
        "sh",
        tricky,
      ],
      { env: { X: "a\nb c" }, signal: ctx.signal },
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toBe(`0\n${tricky}\na\nb c\n${process.cwd()}\nto-stderr\nno newline`);
  });
});
