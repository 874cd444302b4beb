/**
 * A real distro booting: Debian bookworm with systemd as PID 1 (systemd's
 * container interface), readiness through $NOTIFY_SOCKET, the console and
 * its ring buffer, reboot from inside, interactive exec through a pty, and a
 * clean poweroff that leaves nothing behind.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";

import type { Container, ContainerEvent } from "../../src/index.js";
import { cleanupAll, debian, debianSkipReason } from "../helpers/env.js";

afterAll(cleanupAll);

const skip = debianSkipReason();

async function systemState(c: Container): Promise<string> {
  const r = await c.execOutput(["systemctl", "is-system-running"], { check: false });
  return r.stdout.trim();
}

/** Host pids whose cgroup is the container's (or below). */
function processesIn(cgroupPath: string): string[] {
  if (!existsSync(cgroupPath)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(`${dir}/${e.name}`);
    out.push(...readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean));
  };
  walk(cgroupPath);
  return out;
}

/** Collects a container's events until `stop()` is called on the result. */
function record(c: Container): { events: ContainerEvent[]; stop: () => Promise<void> } {
  const events: ContainerEvent[] = [];
  const it = c.events({ follow: true });
  const done = (async () => {
    for await (const e of it) events.push(e);
  })();
  return {
    events,
    stop: async () => {
      await it.return?.();
      await done;
    },
  };
}

describe.skipIf(skip !== undefined)(`booting Debian with systemd${skip ? ` (skipped: ${skip})` : ""}`, { timeout: 120_000 }, () => {
  it("boots to running with zero setup, is ready only after READY=1, keeps its console, powers off cleanly", async () => {
    const c = await debian("boot");
    const seen = record(c);
    await c.start({ wait: "ready", readyTimeout: 60_000 });
    // READY=1 comes once the default target is reached.
    const state = await systemState(c);
    if (state !== "running") {
      const failed = await c.execOutput(["systemctl", "--failed", "--no-legend", "--plain"], { check: false });
      throw new Error(`system is ${state}; failed units:\n${failed.stdout}`);
    }
    // systemd's container interface, as the container sees it.
    const iface = await c.execOutput([
      "/bin/sh",
      "-c",
      "echo $(systemd-detect-virt --container) $(cat /run/host/container-manager); findmnt -no OPTIONS /sys | cut -d, -f1; stat -c %t:%T /dev/console; " +
        "findmnt -no FSTYPE /sys/fs/cgroup; test -w /sys/fs/cgroup/cgroup.procs && echo cgroup-writable; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    const lines = iface.stdout.split("\n");
    // systemd knows no "warren": any other manager is container-other.
    expect(lines[0]).toBe("container-other warren");
    expect(lines[1]).toBe("ro");
    // /dev/console is a pty slave (majors 136-143).
    expect(Number.parseInt(lines[2]!.split(":")[0]!, 16)).toBeGreaterThanOrEqual(136);
    expect(lines[3]).toBe("cgroup2");
    expect(lines[4]).toBe("cgroup-writable");
    expect(lines[5]).toMatch(/^\/sbin\/init/);
    // systemd built its own tree in its delegated cgroup.
    expect(existsSync(`${c.cgroupPath}/init.scope`)).toBe(true);

    const log = (await c.consoleLog()).toString();
    expect(log).toMatch(/Reached target .*Multi-User System/);
    expect(log).toMatch(/Welcome to .*Debian GNU\/Linux 12/);

    // Attach, see the login prompt come back on Enter, detach: the console goes on.
    const con = await c.console();
    let out = "";
    con.on("data", (b: Buffer) => (out += b.toString()));
    con.write("\r");
    for (let i = 0; i < 100 && !/login:/.test(out); i++) await sleep(50);
    expect(out).toMatch(/login:/);
    con.end();
    expect((await c.consoleLog()).toString()).toMatch(/login:/);

    const cgroup = c.cgroupPath;
    const status = await c.stop();
    expect(status).toEqual({ code: null, signal: "SIGINT", reason: "halt" });
    expect(c.state).toBe("stopped");
    expect(processesIn(cgroup)).toEqual([]);
    expect(existsSync(cgroup)).toBe(false);
    await seen.stop();
    expect(seen.events.map((e) => e.type).filter((t) => t !== "exec")).toEqual(["started", "ready", "stopped"]);
  });

  it("comes back after a reboot from inside when the config says so", async () => {
    const c = await debian("reboot");
    const seen = record(c);
    await c.start({ wait: "ready", readyTimeout: 60_000 });
    const firstPid = c.pid;
    await c.execOutput(["systemctl", "reboot"], { check: false });
    for (let i = 0; i < 200 && !seen.events.some((e) => e.type === "started" && e.pid !== firstPid); i++) await sleep(50);
    const stopped = seen.events.find((e) => e.type === "stopped");
    expect(stopped).toMatchObject({ status: { signal: "SIGHUP", reason: "reboot" }, restarting: true });
    expect(c.pid).not.toBe(firstPid);
    for (let i = 0; i < 100 && !["running", "degraded"].includes(await systemState(c).catch(() => "")); i++) await sleep(100);
    expect(await systemState(c)).toBe("running");
    await c.stop();
    await seen.stop();

    // onReboot: "stop" stays down.
    const d = await debian("reboot-stop", { onReboot: "stop" });
    await d.start({ wait: "ready", readyTimeout: 60_000 });
    await d.execOutput(["systemctl", "reboot"], { check: false });
    expect(await d.exited).toMatchObject({ signal: "SIGHUP", reason: "reboot" });
    await sleep(200);
    expect(d.state).toBe("stopped");
  });

  it("waits for READY=1 and not before", async () => {
    // An init that tells systemd-style readiness a second after it starts.
    const c = await debian("notify", {
      init: ["/bin/sh", "-c", "sleep 1; systemd-notify --ready; exec sleep infinity"],
      ready: { notify: true },
      haltSignal: "SIGKILL",
    });
    const t0 = performance.now();
    await c.start({ wait: "ready" });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
    await c.stop();

    // A probe that never passes times out with the console's last lines.
    const d = await debian("notify-timeout", { init: ["/bin/sh", "-c", "echo still booting; exec sleep infinity"], ready: { file: "/run/never" }, haltSignal: "SIGKILL", console: true });
    await expect(d.start({ wait: "ready", readyTimeout: 800 })).rejects.toMatchObject({
      code: "ERR_WARREN_READY_TIMEOUT",
      lastConsoleLines: ["still booting"],
    });
    await d.stop();
  });

  it("gives exec a terminal that behaves like ssh: keystrokes, window size, job control, exit code, users by name", async () => {
    const c = await debian("tty");
    await c.start({ wait: "ready", readyTimeout: 60_000 });
    const p = await c.exec(["/bin/bash", "--norc", "-i"], { tty: { cols: 80, rows: 24 }, user: "root", env: { PS1: "$ " } });
    let out = "";
    p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 100 && !re.test(out); i++) await sleep(30);
      expect(out).toMatch(re);
    };
    p.stdin!.write("stty size\r");
    await waitFor(/24 80/);
    p.resize(132, 43);
    p.stdin!.write("stty size\r");
    await waitFor(/43 132/);
    // Job control: a job stopped with ^Z shows up in `jobs`.
    p.stdin!.write("sleep 100\r");
    await sleep(200);
    p.stdin!.write("\x1a");
    await waitFor(/Stopped\s+sleep 100/);
    out = "";
    p.stdin!.write("kill -KILL %1\r");
    await waitFor(/Killed\s+sleep 100|\$ $/);
    await sleep(100);
    p.stdin!.write("jobs; exit 7\r");
    expect(await p.exited).toMatchObject({ code: 7 });

    const who = await c.execOutput(["id", "-un"], { user: "www-data", cwd: "/tmp" });
    expect(who.stdout).toBe("www-data\n");
    await expect(c.exec(["true"], { user: "nosuchuser" })).rejects.toThrow(/nosuchuser/);
    await c.stop();
  });
});
