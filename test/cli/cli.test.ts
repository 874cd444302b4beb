/**
 * The `warren` CLI run for real, as a subprocess (`node --import tsx
 * src/cli/main.ts`), against a state root of its own. Containers use the
 * embedded default rootfs unless a test says otherwise.
 */
import { execFileSync, spawn } from "node:child_process";
import { connect } from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import { resolveRuntime } from "../../src/config/runtime.js";
import { Container, host } from "../../src/index.js";
import { detectCgroupHost } from "../../src/cgroup/cgroup2.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { managedNetwork } from "../../src/network/manager.js";

const repo = resolve(import.meta.dirname, "../..");
const TIMEOUT = 30_000;

let root: string;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  input?: string;
  /** Called with the process and the output so far on each stdout chunk. */
  onStdout?: (child: ReturnType<typeof spawn>, stdout: string) => void;
}

/** Runs `warren <command> --root <root> <args...>`. */
function cli(command: string, args: string[], options: CliOptions = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(repo, "src/cli/main.ts"), command, "--root", root, ...args], {
      cwd: repo,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, WARREN_ROOT: "/nonexistent-warren-root-must-not-be-used" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      options.onStdout?.(child, stdout);
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

function uniqueName(prefix: string): string {
  return `cli-${prefix}-${randomBytes(3).toString("hex")}`;
}

/** What `warren list --json` says. */
async function list(): Promise<{ name: string; state: string; pid: number | null; exit: { code: number | null } | null }[]> {
  const r = await cli("list", ["--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** The host's interfaces that warren names: managed bridges (`wr…`, `warren0`) and veths (`ve…`). */
function warrenLinks(): string[] {
  return readdirSync("/sys/class/net").filter((l) => l.startsWith("wr") || l.startsWith("ve"));
}

/** The host's nftables tables (`inet warren_…`); empty without nft. */
function nftTables(): string[] {
  try {
    return execFileSync("nft", ["list", "tables"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Those present before this file ran (another suite's), not counted as its leftovers. */
let linksBefore: string[] = [];

beforeAll(() => {
  expect(existsSync(join(repo, "node_modules/tsx"))).toBe(true);
  root = mkdtempSync("/tmp/warren-cli-test-");
  linksBefore = warrenLinks();
});

afterAll(async () => {
  // Whatever a failed test left: stop and destroy it, then `warren gc` (the
  // managed bridge and its nftables table go once no container is left), then
  // drop the root.
  try {
    for (const c of await Container.list({ root })) {
      await c.stop({ timeout: 0 }).catch(() => undefined);
      await c.destroy({ force: true }).catch(() => undefined);
    }
    const gc = await cli("gc", []);
    expect(gc.stderr).toBe("");
    expect(gc.code).toBe(0);
    expect(warrenLinks().filter((l) => !linksBefore.includes(l))).toEqual([]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, TIMEOUT);

describe("warren run", () => {
  it("exits with the command's exit code and, with --rm, leaves nothing", async () => {
    const r = await cli("run", ["--rm", "--", "sh", "-c", "exit 7"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(7);
    expect(await list()).toEqual([]);
    expect(readdirSync(root).filter((e) => !e.startsWith("."))).toEqual([]);
  }, TIMEOUT);

  it("sets the hostname and passes the command's stdout through", async () => {
    const r = await cli("run", ["--rm", "--hostname", "h1", "--", "sh", "-c", "hostname"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("h1\n");
    expect(r.code).toBe(0);
  }, TIMEOUT);

  it("exits 127 naming the exec step when the command does not exist", async () => {
    const r = await cli("run", ["--rm", "--", "/nonexistent"]);
    expect(r.code).toBe(127);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^warren: container "run-[0-9a-f]{8}": start failed at exec: exec `\/nonexistent`: ENOENT/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await list()).toEqual([]);
  }, TIMEOUT);

  it("exits 126 when the command is not executable", async () => {
    const r = await cli("run", ["--rm", "--", "/etc/hostname"]);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/failed at exec: .*EACCES/);
  }, TIMEOUT);

  it("without --rm leaves the container stopped, with its exit code", async () => {
    const name = uniqueName("keep");
    try {
      const r = await cli("run", ["--name", name, "-e", "GREETING=hello", "--", "sh", "-c", 'echo "$GREETING"; exit 3']);
      expect(r.stdout).toBe("hello\n");
      expect(r.code).toBe(3);
      expect(await list()).toMatchObject([{ name, state: "stopped", pid: null, rootfs: { kind: "embedded" }, image: null, exit: { code: 3, signal: null, reason: "exit" } }]);
      const d = await cli("destroy", [name]);
      expect(d.stdout).toBe(`${name}\n`);
      expect(d.code).toBe(0);
      expect(await list()).toEqual([]);
    } finally {
      await cli("destroy", ["--force", name]); // when an assertion above failed
    }
  }, TIMEOUT);

  it("forwards SIGTERM to the init", async () => {
    const script = 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 1; done';
    let sent = false;
    const r = await cli("run", ["--rm", "--", "sh", "-c", script], {
      onStdout: (child, out) => {
        if (!sent && out.includes("ready\n")) {
          sent = true;
          child.kill("SIGTERM");
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.stdout).toBe("ready\ngot-term\n");
    expect(r.signal).toBeNull();
    expect(r.code).toBe(9);
  }, TIMEOUT);

  it("maps --rootfs DIR --ro to a read-only root", async (ctx) => {
    let rootfs: string | undefined;
    try {
      rootfs = inject("rootfs");
    } catch {
      rootfs = undefined;
    }
    if (!rootfs || !existsSync(join(rootfs, "bin/sh"))) ctx.skip();
    const r = await cli("run", ["--rm", "--rootfs", rootfs!, "--ro", "--", "/bin/sh", "-c", "touch /x; echo $?"]);
    expect(r.stdout).toBe("1\n");
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.code).toBe(0);
  }, TIMEOUT);

  it("sets --sysctl before the command runs and takes --proc; refuses a host-global key with 125 naming the field", async () => {
    const want = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1" ? "0" : "1";
    const r = await cli("run", ["--rm", "--sysctl", `net.ipv4.ip_forward=${want}`, "--proc", "ro", "--", "sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv4/ip_forward; echo done"]);
    expect(r.stdout).toBe(`${want}\ndone\n`);
    expect(r.stderr).toMatch(/Read-only file system/);
    const refused = await cli("run", ["--rm", "--sysctl", "vm.swappiness=10", "--", "true"]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/sysctls\.vm\.swappiness: not namespaced, so it would change the host/);
    const name = uniqueName("sysctl");
    try {
      expect((await cli("create", ["--sysctl", "net.core.somaxconn=1000", name])).stderr).toBe("");
      const expanded = JSON.parse((await cli("config", ["show", "--json", "--expanded", name])).stdout);
      expect([expanded.proc, expanded.sys, expanded.sysctls]).toEqual(["mixed", "mixed", { "net.core.somaxconn": "1000" }]);
    } finally {
      await cli("destroy", ["--force", name]);
    }
  }, TIMEOUT);

  it("rejects bad flags with 125 before creating anything", async () => {
    const r = await cli("run", ["--rm", "--ro", "--", "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("warren: --ro needs --rootfs DIR\nSee 'warren run --help'.\n");
    expect(await list()).toEqual([]);
  }, TIMEOUT);
});

describe("warren create, start, exec, list, stop, destroy", () => {
  const name = uniqueName("life");

  it("goes through a container's whole life", async () => {
    const created = await cli("create", [name]);
    expect(created.stderr).toBe("");
    expect(created.stdout).toBe(`${name}\n`);
    expect(created.code).toBe(0);
    expect((await list()).map((c) => [c.name, c.state])).toEqual([[name, "created"]]);

    const started = await cli("start", [name]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);

    const hostname = await cli("exec", [name, "--", "cat", "/etc/hostname"]);
    expect(hostname.stderr).toBe("");
    expect(hostname.stdout).toBe(`${name}\n`);
    expect(hostname.code).toBe(0);

    // stdin is passed through when it is not a terminal; the exit code comes back.
    const piped = await cli("exec", ["-e", "X=42", name, "sh", "-c", 'cat; echo "x=$X"; echo oops >&2; exit 5'], { input: "from stdin\n" });
    expect(piped.stdout).toBe("from stdin\nx=42\n");
    expect(piped.stderr).toBe("oops\n");
    expect(piped.code).toBe(5);

    const missing = await cli("exec", [name, "--", "/no/such/command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/exec failed at exec: .*ENOENT/);

    const table = await cli("list", []);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+PID\s+ROOTFS$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${name}\\s+running\\s+\\d+\\s+`));

    const stopped = await cli("stop", ["--timeout", "5000", name]);
    expect(stopped.stderr).toBe("");
    expect(stopped.code).toBe(0);
    expect((await list()).map((c) => [c.name, c.state, c.pid])).toEqual([[name, "stopped", null]]);

    const notRunning = await cli("exec", [name, "--", "true"]);
    expect(notRunning.code).toBe(125);
    expect(notRunning.stderr).toBe(`warren: container "${name}" is not running\n`);

    const destroyed = await cli("destroy", [name]);
    expect(destroyed.stderr).toBe("");
    expect(destroyed.code).toBe(0);
    expect(await list()).toEqual([]);

    const again = await cli("destroy", [name]);
    expect(again.code).toBe(125);
    expect(again.stderr).toBe(`warren: container "${name}" does not exist under \`${root}\`\n`);
  }, TIMEOUT);
});

describe("warren info", () => {
  it("shows the cgroup2 mount and the layout", async () => {
    const host = detectCgroupHost();
    const r = await cli("info", []);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^cgroup2 mount:\\s+${host.mount}$`, "m"));
    expect(r.stdout).toMatch(host.pureV2 ? /^cgroup layout:\s+pure cgroup v2/m : /^cgroup layout:\s+hybrid/m);
    expect(r.stdout).toMatch(new RegExp(`^state directory:\\s+${root}$`, "m"));
  }, TIMEOUT);
});

/** Whether this host gives the memory controller to cgroup v2 (then the "unavailable" cases do not apply). */
const memoryUsable = () => host().cgroup.controllers.includes("memory");
const MEMORY_USABLE_SKIP = "memory is usable in cgroup v2 on this host: the CgroupControllerUnavailable cases need it bound to v1 or missing";

describe("warren run with limits", () => {
  it("fails with 125 and CgroupControllerUnavailable when memory is not in cgroup v2", async (ctx) => {
    if (memoryUsable()) ctx.skip(MEMORY_USABLE_SKIP);
    const r = await cli("run", ["--rm", "--memory", "64MiB", "--", "true"]);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("CgroupControllerUnavailable: memory is bound to cgroup v1");
    expect(r.stderr).toMatch(/^warren: CgroupControllerUnavailable: memory is bound to cgroup v1 on this host \(needed by memory\.max\)\n$/);
    expect(await list()).toEqual([]);
  }, TIMEOUT);

  it("with --best-effort runs anyway and warns about the skipped limit", async (ctx) => {
    if (memoryUsable()) ctx.skip(MEMORY_USABLE_SKIP);
    const r = await cli("run", ["--rm", "--memory", "64MiB", "--best-effort", "--", "sh", "-c", "echo ran"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("ran\n");
    expect(r.stderr).toContain("warning: limit memory.max not applied");
    expect(r.stderr).toMatch(/^warren: warning: limit memory\.max not applied: /);
    expect(await list()).toEqual([]);
  }, TIMEOUT);

  it("rejects a bad number with a usage error naming the flag", async () => {
    const r = await cli("run", ["--rm", "--cpus", "abc", "--", "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('warren: --cpus: expected a positive number of CPUs like 0.5 or 2 (or max), got "abc"\nSee \'warren run --help\'.\n');
  }, TIMEOUT);
});

describe("warren freeze, unfreeze, stats, set", () => {
  const name = uniqueName("cg");

  afterAll(async () => {
    await cli("destroy", ["--force", name]).catch(() => undefined);
  }, TIMEOUT);

  it("freezes, thaws, shows stats and changes limits of a running container", async () => {
    const created = await cli("create", [name]);
    expect(created.code).toBe(0);
    const started = await cli("start", [name]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);

    const frozen = await cli("freeze", [name]);
    expect(frozen.stderr).toBe("");
    expect(frozen.stdout).toBe(`${name}\n`);
    expect(frozen.code).toBe(0);
    expect((await list()).map((c) => [c.name, c.state])).toEqual([[name, "frozen"]]);
    const table = await cli("list", []);
    expect(table.stdout).toMatch(new RegExp(`^${name}\\s+frozen\\s+\\d+\\s+`, "m"));

    const thawed = await cli("unfreeze", [name]);
    expect(thawed.stderr).toBe("");
    expect(thawed.stdout).toBe(`${name}\n`);
    expect(thawed.code).toBe(0);
    expect((await list()).map((c) => [c.name, c.state])).toEqual([[name, "running"]]);

    const stats = await cli("stats", [name]);
    expect(stats.stderr).toBe("");
    expect(stats.code).toBe(0);
    const lines = stats.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+CPU\s+MEM\s+PIDS\s+PSI$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${name}\\s+\\d+\\.\\d\\ds\\s+\\S+\\s+\\S+\\s+\\S+$`));

    const json = await cli("stats", ["--json", name]);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, { cpu: { usageUsec: number } }>;
    expect(Object.keys(parsed)).toEqual([name]);
    expect(typeof parsed[name]!.cpu.usageUsec).toBe("number");

    const missing = await cli("stats", [name, "cli-no-such-container"]);
    expect(missing.code).toBe(125);
    expect(missing.stdout).toMatch(new RegExp(`^${name}\\s`, "m"));
    expect(missing.stderr).toMatch(/^warren: container "cli-no-such-container" does not exist/);

    const set = await cli("set", [name, "--pids", "50", "--best-effort"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(`${name}\n`);
    if (!host().cgroup.controllers.includes("pids")) expect(set.stderr).toMatch(/^warren: warning: limit pids\.max not applied: /);
    else expect(set.stderr).toBe("");

    const noFlags = await cli("set", [name]);
    expect(noFlags.code).toBe(125);
    expect(noFlags.stderr).toBe("warren: no limit flag given\nSee 'warren set --help'.\n");

    const stopped = await cli("stop", ["--timeout", "5000", name]);
    expect(stopped.code).toBe(0);
    const notRunning = await cli("stats", [name]);
    expect(notRunning.code).toBe(125);
    expect(notRunning.stderr).toBe(`warren: container "${name}" is not running\n`);

    const destroyed = await cli("destroy", [name]);
    expect(destroyed.stderr).toBe("");
    expect(destroyed.code).toBe(0);
    expect(await list()).toEqual([]);
  }, 60_000);
});

describe("warren info, controllers", () => {
  it("--json has the host, delegation and each controller's usability", async () => {
    const r = await cli("info", ["--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as {
      cgroup: { mount: string; delegation: { nsdelegate: boolean; files: string[] } };
      controllers: Record<string, { usable: boolean; reason?: string }>;
    };
    expect(info.cgroup).toEqual(host().cgroup);
    expect(Object.keys(info.controllers).sort()).toEqual(["cpu", "cpuset", "hugetlb", "io", "memory", "pids"]);
    for (const [name, c] of Object.entries(info.controllers)) {
      expect(c.usable, name).toBe(host().cgroup.controllers.includes(name));
    }
  }, TIMEOUT);

  it("--json says memory is not usable, and why, on a host without it in cgroup v2", async (ctx) => {
    if (memoryUsable()) ctx.skip(MEMORY_USABLE_SKIP);
    const r = await cli("info", ["--json"]);
    const info = JSON.parse(r.stdout) as { controllers: Record<string, { usable: boolean; reason?: string }> };
    expect(info.controllers.memory!.usable).toBe(false);
    expect(info.controllers.memory!.reason).toMatch(/^memory is (bound to cgroup v1|not available in cgroup v2) on this host/);
  }, TIMEOUT);

  it("shows delegation and the controllers as text", async () => {
    const r = await cli("info", []);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^nsdelegate:\\s+${host().cgroup.delegation.nsdelegate ? "yes" : "no"}$`, "m"));
    expect(r.stdout).toMatch(/^delegated files:\s+\S/m);
    expect(r.stdout).toMatch(memoryUsable() ? /^controller memory:\s+usable$/m : /^controller memory:\s+not usable: memory is /m);
  }, TIMEOUT);
});

/** An `inet 10.x.y.z/N` address in `ip -o -4 addr` output, or `undefined`. */
function inet10(out: string): string | undefined {
  return /\binet (10\.\d+\.\d+\.\d+)\/\d+/.exec(out)?.[1];
}

/** `warren network --json NAME`. */
async function interfaces(name: string): Promise<{ name: string; mac?: string; mtu: number; up: boolean; addresses: string[]; stats?: { rxBytes: number } }[]> {
  const r = await cli("network", ["--json", name]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}


describe("warren image", () => {
  it("imports an OCI layout, lists it, runs a container from it and removes it", async () => {
    const layout = mkdtempSync(join(tmpdir(), "warren-oci-"));
    await ociLayoutFromDirectory(join(repo, ".cache/rootfs/busybox"), layout);
    try {
      const imported = await cli("image", ["import", "--tag", "bb:1", layout]);
      expect(imported.stderr).toBe("");
      expect(imported.code).toBe(0);
      expect(imported.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      const id = imported.stdout.trim();

      const listed = await cli("image", ["list"]);
      expect(listed.code).toBe(0);
      expect(listed.stdout.split("\n")[0]).toMatch(/^ID\s+TAGS\s+IMPORTED$/);
      expect(listed.stdout).toContain("bb:1");
      expect(listed.stdout).toContain(id.slice(0, 12));

      const ran = await cli("run", ["--rm", "--image", "bb:1", "--", "/bin/busybox", "stat", "-c", "%u", "/bin/busybox"]);
      expect(ran.stderr).toBe("");
      expect(ran.stdout).toBe("0\n");
      expect(ran.code).toBe(0);

      const conflict = await cli("run", ["--rm", "--image", "bb:1", "--rootfs", "/tmp", "--", "true"]);
      expect(conflict.code).toBe(125);
      expect(conflict.stderr).toContain("--image and --rootfs cannot be used together");

      const removed = await cli("image", ["rm", "bb:1"]);
      expect(removed.stderr).toBe("");
      expect(removed.code).toBe(0);
      const after = await cli("image", ["list", "--json"]);
      expect(after.code).toBe(0);
      expect(JSON.parse(after.stdout)).toEqual([]);
    } finally {
      rmSync(layout, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("warren networking", () => {
  const net = () => managedNetwork(resolveRuntime({ root }));

  it("run --rm --net bridged gives the container eth0 with an address on the managed bridge", async () => {
    const r = await cli("run", ["--rm", "--net", "bridged", "--", "sh", "-c", "ip -o -4 addr show eth0"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(inet10(r.stdout)).toBeDefined();
    expect(net().bridge).toMatch(/^wr[0-9a-f]{8}$/);
    expect(readdirSync("/sys/class/net")).toContain(net().bridge);
    expect(await list()).toEqual([]);
  }, TIMEOUT);

  it("-p without a NIC adds a bridged eth0", async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const r = await cli("run", ["--rm", "-p", `127.0.0.1:${port}:80`, "--", "sh", "-c", "ip -o -4 addr show eth0"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(inet10(r.stdout)).toBeDefined();
  }, TIMEOUT);

  it("rejects a bad --nic with 125 before creating anything", async () => {
    const r = await cli("run", ["--rm", "--nic", "bridged,foo=1", "--", "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('warren: --nic: unknown key "foo" in "bridged,foo=1"\nSee \'warren run --help\'.\n');
    expect(await list()).toEqual([]);
  }, TIMEOUT);

  it("create, start, network, nic add, nic rm, stop, destroy", async () => {
    const name = uniqueName("net");
    try {
      const created = await cli("create", ["--net", "bridged", name]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const started = await cli("start", [name]);
      expect(started.stderr).toBe("");
      expect(started.code).toBe(0);

      const table = await cli("network", [name]);
      expect(table.stderr).toBe("");
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^NAME\s+MAC\s+MTU\s+STATE\s+ADDRESSES\s+RX\s+TX$/);
      expect(lines.find((l) => l.startsWith("lo "))).toMatch(/^lo\s+\S+\s+65536\s+up\s+127\.0\.0\.1\/8/);
      const eth0Row = lines.find((l) => l.startsWith("eth0 "));
      expect(eth0Row).toMatch(/^eth0\s+([0-9a-f]{2}:){5}[0-9a-f]{2}\s+\d+\s+up\s+10\.\d+\.\d+\.\d+\/\d+\S*\s+\d+(\.\d)?[KMG]?i?B\s+\d+(\.\d)?[KMG]?i?B$/);

      const eth0 = (await interfaces(name)).find((i) => i.name === "eth0");
      expect(eth0).toBeDefined();
      expect(eth0!.up).toBe(true);
      expect(eth0!.addresses.some((a) => /^10\.\d+\.\d+\.\d+\/\d+$/.test(a))).toBe(true);
      expect(typeof eth0!.stats?.rxBytes).toBe("number");
      expect(eth0Row).toContain(eth0!.addresses[0]!.split(",")[0]!);

      const added = await cli("nic", ["add", name, "bridged,name=eth1"]);
      expect(added.stderr).toBe("");
      expect(added.stdout).toBe("eth1\n");
      expect(added.code).toBe(0);
      const withEth1 = await cli("network", [name]);
      expect(withEth1.stdout).toMatch(/^eth1\s+\S+\s+\d+\s+up\s+10\.\d+\.\d+\.\d+\/\d+/m);
      const eth1 = (await interfaces(name)).find((i) => i.name === "eth1");
      expect(eth1?.addresses.some((a) => /^10\./.test(a))).toBe(true);
      expect(eth1!.addresses).not.toEqual(eth0!.addresses);

      const again = await cli("nic", ["add", name, "bridged,name=eth1"]);
      expect(again.code).toBe(125);
      expect(again.stderr).toMatch(/eth1/);

      const removed = await cli("nic", ["rm", name, "eth1"]);
      expect(removed.stderr).toBe("");
      expect(removed.stdout).toBe("eth1\n");
      expect(removed.code).toBe(0);
      const after = await cli("network", [name]);
      expect(after.stdout).not.toMatch(/^eth1\s/m);
      expect(after.stdout).toMatch(/^eth0\s/m);
      expect((await interfaces(name)).map((i) => i.name).sort()).toEqual(["eth0", "lo"]);

      const stopped = await cli("stop", ["--timeout", "5000", name]);
      expect(stopped.stderr).toBe("");
      expect(stopped.code).toBe(0);
      const notRunning = await cli("network", [name]);
      expect(notRunning.code).toBe(125);
      expect(notRunning.stderr).toBe(`warren: container "${name}" is not running\n`);

      const destroyed = await cli("destroy", [name]);
      expect(destroyed.stderr).toBe("");
      expect(destroyed.code).toBe(0);
      expect(await list()).toEqual([]);
    } finally {
      await cli("destroy", ["--force", name]); // when an assertion above failed
    }
  }, 60_000);

  it("create -p 127.0.0.1:PORT:80 forwards the host's port to the container", async (ctx) => {
    // The default rootfs is the host's /usr: busybox's nc serves inside.
    if (!existsSync("/usr/bin/busybox")) ctx.skip("no /usr/bin/busybox on this host");
    const name = uniqueName("pub");
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    try {
      const created = await cli("create", ["-p", `127.0.0.1:${port}:80`, name, "--", "busybox", "sh", "-c", "while :; do echo served | busybox nc -l -p 80; done"]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const started = await cli("start", [name]);
      expect(started.stderr).toBe("");
      expect(started.code).toBe(0);
      const fetch = () =>
        new Promise<string>((resolveFetch) => {
          let got = "";
          const s = connect(port, "127.0.0.1");
          s.setEncoding("utf8").on("data", (d: string) => (got += d));
          s.on("error", () => resolveFetch(""));
          s.on("close", () => resolveFetch(got));
          s.end();
        });
      let got = "";
      for (let i = 0; i < 50 && got === ""; i++) {
        got = await fetch();
        if (got === "") await new Promise((r) => setTimeout(r, 100));
      }
      expect(got).toBe("served\n");
      expect((await cli("stop", ["--timeout", "0", name])).code).toBe(0);
      expect((await cli("destroy", [name])).code).toBe(0);
    } finally {
      await cli("destroy", ["--force", name]);
    }
  }, TIMEOUT);

  it("gc removes the managed bridge and its nftables table once no container is left", async () => {
    const { bridge, table } = net();
    // Left by the tests above (destroying a container keeps the bridge).
    expect(readdirSync("/sys/class/net")).toContain(bridge);
    if (nftTables().length > 0) expect(nftTables().some((t) => t.split(/\s+/).includes(table))).toBe(true);
    const gc = await cli("gc", []);
    expect(gc.stderr).toBe("");
    expect(gc.stdout).toBe("");
    expect(gc.code).toBe(0);
    expect(readdirSync("/sys/class/net")).not.toContain(bridge);
    expect(nftTables().some((t) => t.split(/\s+/).includes(table))).toBe(false);
    expect(warrenLinks().filter((l) => !linksBefore.includes(l))).toEqual([]);
  }, TIMEOUT);
});
