/**
 * warren-oci as containerd and podman drive it: the runc contract on a
 * busybox bundle, each command a process of its own (`node --import tsx
 * src/oci/cli.ts`), the held init outliving the `create` that made it.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { detectCgroupHost } from "../../src/cgroup/cgroup2.js";
import { processInfo } from "../../src/container/proc.js";
import { repo, type CliResult } from "../helpers/cli.js";
import { listenConsole } from "../helpers/console-socket.js";
import { rootfs } from "../helpers/env.js";

const work = mkdtempSync(join(tmpdir(), "warren-oci-test-"));
const root = join(work, "root");
let seq = 0;

/**
 * One warren-oci call. Its stdout and stderr are files, read once it
 * exited: a container's init inherits them (runc's contract), so pipes
 * would stay open as long as the container runs.
 */
async function oci(args: string[]): Promise<CliResult> {
  const out = join(work, `out-${++seq}`);
  const err = join(work, `err-${seq}`);
  const fds = [openSync(out, "w"), openSync(err, "w")];
  try {
    const child = spawn(process.execPath, ["--import", "tsx", join(repo, "src/oci/cli.ts"), "--root", root, ...args], { cwd: repo, stdio: ["ignore", fds[0], fds[1]] });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
      child.on("error", fail);
      child.on("exit", (c, s) => done([c, s]));
    });
    return { code, signal, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** A bundle whose config.json runs `args` on the busybox rootfs (runc's default spec otherwise). */
function bundle(args: string[], patch: (spec: Record<string, any>) => void = () => undefined): string {
  const dir = join(work, `bundle-${++seq}`);
  mkdirSync(dir);
  const spec: Record<string, any> = {
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], cwd: "/", noNewPrivileges: true },
    root: { path: rootfs(), readonly: true },
    hostname: "oci-test",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ],
    linux: { namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }] },
  };
  patch(spec);
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
  return dir;
}

const ids: string[] = [];
function newId(prefix: string): string {
  const id = `${prefix}-${process.pid}-${++seq}`;
  ids.push(id);
  return id;
}

async function status(id: string): Promise<{ status: string; pid: number }> {
  const r = await oci(["state", id]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function until(what: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  for (const id of ids) await oci(["delete", "--force", id]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("warren-oci: the runc contract", { timeout: 60_000 }, () => {
  it("create → created (held, with a pid) → start → running → exits → stopped → delete", async () => {
    const id = newId("life");
    const b = bundle(["/bin/sh", "-c", "echo started > /out/marker; sleep 6"], (s) => {
      s.mounts.push({ destination: "/out", type: "bind", source: work, options: ["rbind", "rw"] });
    });
    const pidFile = join(work, "life.pid");
    const c = await oci(["create", "--bundle", b, "--pid-file", pidFile, id]);
    expect(c.code, c.stderr).toBe(0);
    const created = await status(id);
    expect(created.status).toBe("created");
    expect(created.pid).toBeGreaterThan(0);
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(created.pid);
    // The create process is gone; its init lives on, held before the program.
    expect(processInfo(created.pid)).toBeDefined();
    expect(existsSync(join(work, "marker"))).toBe(false);
    const full = JSON.parse((await oci(["state", id])).stdout);
    expect(Object.keys(full)).toEqual(["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"]);
    expect(full).toMatchObject({ id, bundle: b, rootfs: rootfs() });

    expect((await oci(["start", id])).code).toBe(0);
    await until(async () => existsSync(join(work, "marker")));
    expect(readFileSync(join(work, "marker"), "utf8")).toBe("started\n");
    expect(await status(id)).toMatchObject({ status: "running", pid: created.pid });
    await until(async () => (await status(id)).status === "stopped");
    expect((await status(id)).pid).toBe(0);
    expect((await oci(["delete", id])).code).toBe(0);
    const gone = await oci(["state", id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("container does not exist");
  });

  it("refuses a missing bundle, a duplicate id, start twice and delete of a running container", async () => {
    const missing = await oci(["create", "--bundle", join(work, "no-such-bundle"), newId("missing")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/config\.json not found/);

    const id = newId("dup");
    const b = bundle(["/bin/sleep", "60"]);
    expect((await oci(["create", "--bundle", b, id])).code).toBe(0);
    const dup = await oci(["create", "--bundle", b, id]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain(`container with id exists: ${id}`);
    expect((await status(id)).status).toBe("created"); // the failed create left the first alone

    expect((await oci(["start", id])).code).toBe(0);
    const twice = await oci(["start", id]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("cannot start an already running container");

    const del = await oci(["delete", id]);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`cannot delete container ${id} that is not stopped: running`);
    expect((await status(id)).status).toBe("running");
    expect((await oci(["delete", "--force", id])).code).toBe(0);
    expect((await oci(["state", id])).code).toBe(1);
    // delete --force of what does not exist succeeds, as runc's does.
    expect((await oci(["delete", "--force", id])).code).toBe(0);
  });

  it("deletes a created container without --force (its held init killed)", async () => {
    const id = newId("del-created");
    expect((await oci(["create", "--bundle", bundle(["/bin/sleep", "60"]), id])).code).toBe(0);
    const { pid } = await status(id);
    expect((await oci(["delete", id])).code).toBe(0);
    await until(async () => (processInfo(pid)?.state ?? "Z") === "Z");
  });

  it("kill, kill --all, ps --format json, exec, pause and resume", async () => {
    const id = newId("ops");
    const b = bundle(["/bin/sh", "-c", "trap 'exit 3' TERM; sleep 100 & sleep 100 & while :; do sleep 1; done"]);
    expect((await oci(["create", "--bundle", b, id])).code).toBe(0);
    expect((await oci(["start", id])).code).toBe(0);
    const { pid } = await status(id);
    await until(async () => JSON.parse((await oci(["ps", "--format", "json", id])).stdout).length >= 3);
    const pids: number[] = JSON.parse((await oci(["ps", "--format", "json", id])).stdout);
    expect(pids).toContain(pid);

    // exec: by arguments, and by a process.json, with the exit status passed on.
    const e1 = await oci(["exec", id, "/bin/sh", "-c", "echo out-$(hostname); exit 7"]);
    expect(e1.stdout).toBe("out-oci-test\n");
    expect(e1.code).toBe(7);
    const proc = join(work, "process.json");
    // A process.json's env is the whole environment (runc's way): nothing of the container's, HOME filled in.
    writeFileSync(proc, JSON.stringify({ args: ["/bin/sh", "-c", "echo $FOO $(pwd) $(id -u) [$container] $HOME"], env: ["FOO=bar", "PATH=/bin"], cwd: "/tmp", user: { uid: 1000, gid: 1000 }, terminal: false }));
    const e2 = await oci(["exec", "--process", proc, id]);
    expect(e2.code, e2.stderr).toBe(0);
    expect(e2.stdout).toBe("bar /tmp 1000 [] /\n");
    // By arguments, --env adds to the container's environment.
    expect((await oci(["exec", "--env", "FOO=baz", id, "/bin/sh", "-c", "echo $FOO [$container]"])).stdout).toBe("baz [warren]\n");
    const pidFile = join(work, "exec.pid");
    const e3 = await oci(["exec", "--detach", "--pid-file", pidFile, id, "/bin/sleep", "30"]);
    expect(e3.code, e3.stderr).toBe(0);
    const execPid = Number(readFileSync(pidFile, "utf8"));
    expect(processInfo(execPid)?.state).not.toBe("Z");
    expect(JSON.parse((await oci(["ps", "--format", "json", id])).stdout)).toContain(execPid);

    // pause/resume: the cgroup freezer, and the state says so.
    expect((await oci(["pause", id])).code).toBe(0);
    expect((await status(id)).status).toBe("paused");
    const paused = await oci(["exec", id, "/bin/true"]);
    expect(paused.code).toBe(1);
    expect((await oci(["resume", id])).code).toBe(0);
    expect((await status(id)).status).toBe("running");
    expect((await oci(["resume", id])).stderr).toContain("container not paused");

    // kill sends the init the signal (default SIGTERM) ...
    expect((await oci(["kill", id])).code).toBe(0);
    await until(async () => (await status(id)).status === "stopped");
    const stopped = await oci(["kill", id, "KILL"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("container not running");
    expect((await oci(["delete", id])).code).toBe(0);

    // ... and --all every process of the container.
    const id2 = newId("killall");
    expect((await oci(["create", "--bundle", bundle(["/bin/sh", "-c", "sleep 100 & sleep 100 & wait"]), id2])).code).toBe(0);
    expect((await oci(["start", id2])).code).toBe(0);
    await until(async () => JSON.parse((await oci(["ps", "--format", "json", id2])).stdout).length >= 3);
    const before: number[] = JSON.parse((await oci(["ps", "--format", "json", id2])).stdout);
    expect((await oci(["kill", "--all", id2, "SIGKILL"])).code).toBe(0);
    await until(async () => (await status(id2)).status === "stopped");
    for (const p of before) expect(processInfo(p)?.state ?? "Z").toBe("Z");
    expect((await oci(["delete", id2])).code).toBe(0);
  });

  it("hands the pty master over --console-socket, and the program's output comes through it", async () => {
    const sock = join(work, "console.sock");
    const receiver = await listenConsole(sock);
    const id = newId("tty");
    const b = bundle(["/bin/sh", "-c", "echo hello-tty; tty"], (s) => (s.process.terminal = true));
    const noSocket = await oci(["create", "--bundle", b, newId("tty-nosock")]);
    expect(noSocket.code).toBe(1);
    expect(noSocket.stderr).toContain("cannot allocate tty if runc will detach without setting console socket");
    const c = await oci(["create", "--bundle", b, "--console-socket", sock, id]);
    expect(c.code, c.stderr).toBe(0);
    expect((await oci(["start", id])).code).toBe(0);
    const got = await receiver.done;
    // The program's output, through the terminal (its \n made \r\n by the
    // pty), and the terminal is one of the container's own devpts.
    expect(got.name).toBe("/dev/ptmx");
    expect(got.output).toMatch(/^hello-tty\r\n\/dev\/pts\/\d+\r\n$/);
    await until(async () => (await status(id)).status === "stopped");
    expect((await oci(["delete", id])).code).toBe(0);
  });

  it("runs config.json's hooks at their points, with the state on stdin, and a failing one fails its command", async () => {
    const saved = (name: string) => ({ path: "/bin/sh", args: ["sh", "-c", `cat > ${join(work, name)}`] });
    const id = newId("hooks");
    const b = bundle(["/bin/sleep", "60"], (spec) => {
      spec.hooks = {
        createRuntime: [saved("createRuntime.json")],
        // In the container: its hostname, not the host's, or the hook (and so create) fails.
        createContainer: [{ path: "/bin/sh", args: ["sh", "-c", 'cat >/dev/null; test "$(hostname)" = oci-test'] }],
        startContainer: [{ path: "/bin/sh", args: ["sh", "-c", 'cat >/dev/null; test "$(hostname)" = oci-test'] }],
        poststart: [saved("poststart.json")],
        poststop: [saved("poststop.json"), { path: "/bin/false" }],
      };
    });
    const c = await oci(["create", "--bundle", b, id]);
    expect(c.code, c.stderr).toBe(0);
    const created = JSON.parse(readFileSync(join(work, "createRuntime.json"), "utf8"));
    expect(created).toMatchObject({ id, status: "created", bundle: b });
    expect(created.pid).toBeGreaterThan(0);
    const st = await oci(["start", id]);
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, "poststart.json"), "utf8"))).toMatchObject({ id, status: "running", pid: created.pid });
    const d = await oci(["delete", "--force", id]);
    // poststop's failure (/bin/false) is a warning, not an error; the hooks before it ran.
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, "poststop.json"), "utf8"))).toMatchObject({ id, status: "stopped" });

    const failing = newId("hookfail");
    const f = await oci(["create", "--bundle", bundle(["/bin/sleep", "60"], (spec) => (spec.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", "echo no >&2; exit 3"] }] })), failing]);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/hooks\.createRuntime\[0\]/);
    expect((await oci(["state", failing])).code).toBe(1); // nothing left of it
    const bad = await oci(["create", "--bundle", bundle(["/bin/true"], (spec) => (spec.hooks = { prestart: [{ path: "relative" }] })), newId("hookbad")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/hooks\.prestart\[0\]\.path/);
  });

  it("writes runc's json log, refuses --systemd-cgroup, and prints features and list", async () => {
    const log = join(work, "log.json");
    const r = await oci(["--log", log, "--log-format", "json", "start", "nonexistent"]);
    expect(r.code).toBe(1);
    const line = JSON.parse(readFileSync(log, "utf8").trim());
    expect(line).toMatchObject({ level: "error", msg: "container does not exist" });
    expect(Date.parse(line.time)).not.toBeNaN();
    const sd = await oci(["--systemd-cgroup", "state", "x"]);
    expect(sd.code).toBe(1);
    expect(sd.stderr).toContain("--systemd-cgroup is not supported");
    const f = JSON.parse((await oci(["features"])).stdout);
    expect(f.linux.cgroup).toMatchObject({ v2: true, systemd: false });
    const id = newId("listed");
    expect((await oci(["create", "--bundle", bundle(["/bin/sleep", "60"]), id])).code).toBe(0);
    const listed = JSON.parse((await oci(["list", "--format", "json"])).stdout) as { id: string; status: string }[];
    expect(listed.find((x) => x.id === id)?.status).toBe("created");
    const ev = JSON.parse((await oci(["events", "--stats", id])).stdout);
    expect(ev).toMatchObject({ type: "stats", id });
    expect((await oci(["delete", id])).code).toBe(0);
  });

  // On a hybrid host (this project's: memory and pids bound to cgroup v1) the
  // limits cannot be set at all; the VM tier has a pure cgroup v2 host.
  const v2 = detectCgroupHost().controllers;
  it.skipIf(!v2.includes("memory") || !v2.includes("pids"))("updates limits from --resources (needs memory and pids on cgroup v2)", async () => {
    const id = newId("update");
    expect((await oci(["create", "--bundle", bundle(["/bin/sleep", "60"], (s) => (s.linux.resources = { memory: { limit: 64 * 1024 * 1024 } })), id])).code).toBe(0);
    const res = join(work, "resources.json");
    writeFileSync(res, JSON.stringify({ memory: { limit: 32 * 1024 * 1024 }, pids: { limit: 50 } }));
    const u = await oci(["update", "--resources", res, id]);
    expect(u.code, u.stderr).toBe(0);
    const list = JSON.parse((await oci(["list", "--format", "json"])).stdout) as { id: string; pid: number }[];
    const pid = list.find((x) => x.id === id)!.pid;
    const cg = readFileSync(`/proc/${pid}/cgroup`, "utf8").match(/^0::(.*)$/m)![1]!;
    const dir = join(detectCgroupHost().mount, cg);
    expect(readFileSync(join(dir, "memory.max"), "utf8").trim()).toBe(String(32 * 1024 * 1024));
    expect(readFileSync(join(dir, "pids.max"), "utf8").trim()).toBe("50");
    expect((await oci(["delete", "--force", id])).code).toBe(0);
  });
});
