/**
 * Root without a user namespace is not host root unless asked (issue 11,
 * item 8). The attack: a `namespaces.user: false` container kept
 * CAP_SYS_ADMIN, CAP_SYSLOG and CAP_PERFMON, so it could mount procfs (and
 * a cgroup v1 hierarchy with a release_agent, CVE-2022-0492), read the
 * kernel log, open system-wide perf events and raise its own cgroup's
 * limits; and `warren run --no-userns` on a terminal handed it the host's
 * terminal (TIOCSTI). Each is tried here from inside; `privileged: true`
 * keeps the old behaviour. No cgroup v1 hierarchy is ever mounted: that
 * mount(2) itself fails with EPERM is the proof the release_agent path is
 * closed.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

import { Container, type ContainerConfig } from "../../src/index.js";
import { cleanupAll, IDLE, runtime, stateRoot, uniqueName } from "../helpers/env.js";

afterAll(cleanupAll);

const repo = resolve(import.meta.dirname, "../..");

// The embedded default rootfs (the host's /usr) has perl: each attempt is
// the raw system call, and prints its errno name or "ok".
const PROBE = String.raw`
use Errno;
sub res { my ($r) = @_; return $r >= 0 ? "ok" : (grep { $!{$_} } keys %!)[0] }
my $attr = pack("LLQ", 1, 128, 0) . ("\0" x 112);
# syscall() passes strings as pointers the kernel may write to: no literals.
my ($none, $tmp, $tmpfs, $proc, $mnt) = ("none", "/tmp", "tmpfs", "proc", "/mnt");
print "mount-tmpfs ", res(syscall(165, $none, $tmp, $tmpfs, 0, 0)), "\n";
print "mount-proc ", res(syscall(165, $proc, $mnt, $proc, 0, 0)), "\n";
my $buf = "\0" x 256;
print "syslog ", res(syscall(103, 3, $buf, 256)), "\n";
print "perf-system-wide ", res(syscall(298, $attr, -1, 0, -1, 0)), "\n";
my $f;
print "cgroup-limit ", (open($f, ">", "/sys/fs/cgroup/cgroup.max.descendants") && (print {$f} "7\n") && close($f) ? "ok" : (grep { $!{$_} } keys %!)[0]), "\n";
`;

const created: Container[] = [];
afterAll(async () => {
  for (const c of created) {
    await c.stop({ timeout: 0 }).catch(() => undefined);
    await c.destroy({ force: true }).catch(() => undefined);
  }
});

async function noUserns(prefix: string, extra: ContainerConfig = {}): Promise<Container> {
  const c = await Container.create(uniqueName(prefix), { init: IDLE, stopTimeout: 2000, namespaces: { user: false }, mounts: [{ type: "tmpfs", target: "/mnt" }], ...extra }, runtime());
  created.push(c);
  return c;
}

async function probe(c: Container): Promise<Record<string, string>> {
  const r = await c.execOutput(["perl", "-e", PROBE], { check: false });
  if (r.code !== 0) throw new Error(`probe: ${r.stderr}`);
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]));
}

/** Capability numbers in a `/proc/PID/status` mask line. */
function caps(pid: number, line: "CapBnd" | "CapEff"): bigint {
  const m = new RegExp(`^${line}:\\s*([0-9a-f]+)$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return BigInt(`0x${m![1]}`);
}
const CAP_SYS_ADMIN = 21n;
const CAP_SYSLOG = 34n;
const CAP_PERFMON = 38n;

describe("a container without a user namespace", () => {
  it("cannot mount, read the kernel log, watch the whole system or raise its own limits", async () => {
    const c = await noUserns("nouserns-confined");
    await c.start();
    for (const cap of [CAP_SYS_ADMIN, CAP_SYSLOG, CAP_PERFMON]) expect(caps(c.pid!, "CapBnd") & (1n << cap)).toBe(0n);
    expect(await probe(c)).toEqual({
      "mount-tmpfs": "EPERM",
      "mount-proc": "EPERM",
      syslog: "EPERM",
      "perf-system-wide": "EPERM",
      "cgroup-limit": "EROFS",
    });
    expect(readFileSync(join(c.cgroupPath, "cgroup.max.descendants"), "utf8")).toBe("max\n");
    await c.stop();
  });

  it("keeps host root's powers with privileged: true", async () => {
    const c = await noUserns("nouserns-privileged", { privileged: true });
    await c.start();
    for (const cap of [CAP_SYS_ADMIN, CAP_SYSLOG, CAP_PERFMON]) expect(caps(c.pid!, "CapEff") & (1n << cap)).not.toBe(0n);
    expect(await probe(c)).toEqual({ "mount-tmpfs": "ok", "mount-proc": "ok", syslog: "ok", "perf-system-wide": "ok", "cgroup-limit": "ok" });
    expect(readFileSync(join(c.cgroupPath, "cgroup.max.descendants"), "utf8")).toBe("7\n");
    await c.stop();
  });

  it("gets a terminal of its own from `warren run` on a terminal, never the host's", async () => {
    // `script` gives the CLI a terminal; the shell there prints that
    // terminal's device, then the init prints what its stdio is.
    // The shell's own fds ($$): in $(…) its fd 1 is the substitution's pipe.
    const dev = "stat -L -c %t:%T /proc/$$/fd/";
    const check = `for fd in 0 1 2; do echo "fd$fd $(${dev}$fd)"; done`;
    const cli = [process.execPath, "--import", "tsx", join(repo, "src/cli/main.ts"), "run", "--root", stateRoot(), "--rm", "--no-userns", "--", "sh", "-c", check];
    const quoted = cli.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const { stdout } = await promisify(execFile)("script", ["-qec", `echo "host $(${dev}0)"; ${quoted}`, "/dev/null"], { cwd: repo, timeout: 30_000 });
    const devices = Object.fromEntries([...stdout.matchAll(/^(host|fd[012]) ([0-9a-f]+:[0-9a-f]+)\r?$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.keys(devices).sort()).toEqual(["fd0", "fd1", "fd2", "host"]);
    // A pty (major 136) like the host's terminal, but not that one.
    for (const fd of ["fd0", "fd1", "fd2"]) {
      expect(devices[fd]).toMatch(/^88:/);
      expect(devices[fd]).not.toBe(devices.host);
    }
  });
});
