/**
 * The `warren` CLI's image store (LXC import, prune), console, console-log,
 * `start --wait ready` and events, run for real as a subprocess against a
 * state root of its own, with the busybox rootfs. No Debian build here (that
 * has its own, slow, tests); `image build` is only checked to refuse a bad
 * spec.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { removeRoot } from "../helpers/cli.js";
import { rootfs } from "../helpers/env.js";

const repo = resolve(import.meta.dirname, "../..");
const TIMEOUT = 60_000;
const ARCH = process.arch === "arm64" ? "aarch64" : "x86_64";
const IDLE = "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done";

let root: string;
let tmp: string;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `warren <command> --root <root> <args...>` with a stdin pipe kept open. */
function start(command: string, args: string[]): { child: ChildProcess; result: Promise<Result>; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", join(repo, "src/cli/main.ts"), command, "--root", root, ...args], {
    cwd: repo,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, WARREN_ROOT: "/nonexistent-warren-root-must-not-be-used" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin!.on("error", () => undefined); // EPIPE once it exited
  const result = new Promise<Result>((res, rej) => {
    child.on("error", rej);
    child.on("close", (code, signal) => res({ code, signal, stdout, stderr }));
  });
  return { child, result, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `warren <command> ...` to its end, with `input` (or nothing) on stdin. */
function cli(command: string, args: string[], input = ""): Promise<Result> {
  const p = start(command, args);
  p.child.stdin!.end(input);
  return p.result;
}

/** Resolves once `get()` matches `re` (polled), rejecting after `ms`. */
async function until(get: () => string, re: RegExp, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(get())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(get())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function uniqueName(prefix: string): string {
  return `cli-${prefix}-${randomBytes(3).toString("hex")}`;
}

function ok(r: Result, what: string): void {
  expect(r.stderr, what).toBe("");
  expect(r.code, what).toBe(0);
}

/** Imports the unified LXC tarball as `bb-lxc` unless an earlier test did. */
async function ensureImage(): Promise<void> {
  const images = JSON.parse((await cli("image", ["list", "--json"])).stdout) as { tags: string[] }[];
  if (!images.some((i) => i.tags.includes("bb-lxc"))) ok(await cli("image", ["import", "--tag", "bb-lxc", unified]), "import");
}

let unified: string;
let metaTar: string;
let rootfsTar: string;

beforeAll(() => {
  expect(existsSync(join(repo, "node_modules/tsx"))).toBe(true);
  root = mkdtempSync("/tmp/warren-cli-console-");
  tmp = mkdtempSync(join(tmpdir(), "warren-cli-lxc-"));
  const meta = join(tmp, "meta");
  mkdirSync(meta);
  writeFileSync(join(meta, "metadata.yaml"), `architecture: ${ARCH}\ncreation_date: 1700000000\nproperties:\n  os: busybox\n  release: "1.36"\n`);
  const src = rootfs();
  // A unified tarball: metadata.yaml and the busybox tree under rootfs/.
  unified = join(tmp, "busybox.tar.xz");
  execFileSync("tar", ["-cJf", unified, "-C", meta, "metadata.yaml", "-C", dirname(src), `--transform=s,^${basename(src)},rootfs,S`, basename(src)]);
  // A split image: the metadata alone, the tree alone.
  metaTar = join(tmp, "meta.tar");
  rootfsTar = join(tmp, "rootfs.tar.gz");
  execFileSync("tar", ["-cf", metaTar, "-C", meta, "metadata.yaml"]);
  execFileSync("tar", ["-czf", rootfsTar, "-C", src, "."]);
});

afterAll(async () => {
  const cg = await removeRoot(root, tmp);
  // Destroying the last container of a root removes its cgroup subtree too.
  expect(existsSync(cg), cg).toBe(false);
}, TIMEOUT);

describe("warren image import --lxc, prune", () => {
  it("imports unified and split LXC images, lists them and prunes the untagged one", async () => {
    const auto = await cli("image", ["import", "--tag", "bb-lxc", unified]);
    ok(auto, "import (detected)");
    expect(auto.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const id = auto.stdout.trim();

    // --lxc says it outright; the same tarball is the same image (its Incus fingerprint).
    const explicit = await cli("image", ["import", "--lxc", unified]);
    ok(explicit, "import --lxc");
    expect(explicit.stdout).toBe(`${id}\n`);

    const split = await cli("image", ["import", metaTar, rootfsTar]);
    ok(split, "import METADATA ROOTFS");
    const splitId = split.stdout.trim();
    expect(splitId).toMatch(/^[0-9a-f]{64}$/);
    expect(splitId).not.toBe(id);

    const listed = JSON.parse((await cli("image", ["list", "--json"])).stdout) as { id: string; tags: string[] }[];
    expect(listed.map((i) => [i.id, i.tags]).sort()).toEqual([[id, ["bb-lxc"]], [splitId, []]].sort());

    const wrongArch = await cli("image", ["import", "--arch", "s390x", unified]);
    expect(wrongArch.code).toBe(125);
    expect(wrongArch.stderr).toMatch(/^warren: .*s390x/);

    const dirAsLxc = await cli("image", ["import", "--lxc", tmp]);
    expect(dirAsLxc.code).toBe(125);
    expect(dirAsLxc.stderr).toContain("is a directory");

    const pruned = await cli("image", ["prune"]);
    ok(pruned, "prune");
    expect(pruned.stdout).toBe(`image ${splitId}\n`);
    const after = JSON.parse((await cli("image", ["list", "--json"])).stdout) as { id: string }[];
    expect(after.map((i) => i.id)).toEqual([id]);

    const again = await cli("image", ["prune"]);
    ok(again, "prune again");
    expect(again.stdout).toBe("");
  }, TIMEOUT);

  it("refuses a bad build spec with a usage error", async () => {
    const r = await cli("image", ["build", "debian/Bookworm!"]);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`warren: bad release "Bookworm!" in "debian/Bookworm!"\nSee 'warren image --help'.\n`);
  }, TIMEOUT);
});

describe("warren run with a system init", () => {
  it("shows the init's console in the foreground and detaches with Ctrl+a q (--rm: stopped and removed)", async () => {
    await ensureImage();
    const name = uniqueName("runcon");
    const run = start("run", ["--rm", "--name", name, "--image", "bb-lxc", "--", "/sbin/init"]);
    await until(run.stdout, /Please press Enter to activate this console/);
    expect(run.stderr()).toContain(`warren: "${name}" on its console; type <Ctrl+a q> to detach`);
    run.child.stdin!.write("\r");
    await until(run.stdout, /# /);
    run.child.stdin!.write("echo r''un\r");
    await until(run.stdout, /^run\r?$/m);
    run.child.stdin!.write("\x01q");
    const r = await run.result;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warren: detached; "${name}" (--rm) is stopped and removed`);
    const listed = await cli("list", ["--json"]);
    expect(listed.stdout).not.toContain(name);
  }, TIMEOUT);
});

describe("warren console, console-log", () => {
  const name = uniqueName("con");

  afterAll(async () => {
    await cli("destroy", ["--force", name]);
  }, TIMEOUT);

  it("attaches through a pipe, types a command, detaches with Ctrl+a q, and tells when the container stops", async () => {
    await ensureImage();
    ok(await cli("create", ["--image", "bb-lxc", "--console", name, "--", "/bin/sh"]), "create");
    ok(await cli("start", [name]), "start");
    // A container from an image lists as one, with the image it was made from.
    expect((await cli("list", [])).stdout).toMatch(new RegExp(`^${name}\\s+running\\s+\\d+\\s+image bb-lxc$`, "m"));
    const listed = (JSON.parse((await cli("list", ["--json"])).stdout) as { name: string; image: string | null; rootfs: { kind: string } }[]).find((e) => e.name === name);
    expect(listed).toMatchObject({ image: "bb-lxc", rootfs: { kind: "image" } });

    const con = start("console", [name]);
    await until(con.stderr, /attached to the console/);
    expect(con.stderr()).toBe(`warren: attached to the console of "${name}"; type <Ctrl+a q> to detach\n`);
    con.child.stdin!.write("echo h''i\n");
    await until(con.stdout, /^hi\r?$/m);
    con.child.stdin!.write("\x01q");
    const detached = await con.result;
    expect(detached.code).toBe(0);
    expect(detached.stdout).toMatch(/^hi\r?$/m);

    // Still running after the detach; the log kept what was said.
    const log = await cli("console-log", [name]);
    ok(log, "console-log");
    expect(log.stdout).toContain("echo h''i");
    expect(log.stdout).toMatch(/^hi\r?$/m);

    // --replay shows the kept output first; the shell exiting stops the container.
    const again = start("console", ["--replay", name]);
    await until(again.stdout, /echo h''i/);
    again.child.stdin!.write("exit\n");
    const stopped = await again.result;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(new RegExp(`warren: container "${name}" stopped`));

    const gone = await cli("console", [name]);
    expect(gone.code).toBe(125);
    expect(gone.stderr).toBe(`warren: container "${name}" is not running\n`);
  }, TIMEOUT);

  it("says when a running container has no console; exec --user", async () => {
    const plain = uniqueName("nocon");
    try {
      ok(await cli("create", ["--no-console", "--rootfs", rootfs(), "--ro", plain, "--", "/bin/sh", "-c", IDLE]), "create");
      ok(await cli("start", [plain]), "start");
      const r = await cli("console", [plain]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(`warren: container "${plain}" has no console`);

      // exec --user takes a name from the container's /etc/passwd, or numbers.
      const byName = await cli("exec", ["--user", "daemon", plain, "--", "id", "-u"]);
      ok(byName, "exec --user daemon");
      expect(byName.stdout).toBe("1\n");
      const byId = await cli("exec", ["-u", "65534:65534", plain, "--", "id", "-un"]);
      ok(byId, "exec -u 65534:65534");
      expect(byId.stdout).toBe("nobody\n");
      const unknown = await cli("exec", ["--user", "nosuchuser", plain, "--", "true"]);
      expect(unknown.code).toBe(125);
      expect(unknown.stderr).toContain("nosuchuser");
    } finally {
      await cli("destroy", ["--force", plain]);
    }
  }, TIMEOUT);
});

describe("warren start --wait ready, events", () => {
  /** The `events` process of a test, killed if the test failed before it ended. */
  let ev: ReturnType<typeof start> | undefined;
  afterEach(() => {
    if (ev && ev.child.exitCode === null && ev.child.signalCode === null) ev.child.kill("SIGKILL");
    ev = undefined;
  });

  it("waits for the ready file, then reports freezes and the stop as events", async () => {
    const name = uniqueName("ready");
    try {
      // An image: the container writes into an overlay of its own.
      await ensureImage();
      const init = `trap 'exit 0' TERM; sleep 1; touch /tmp/ready; while :; do sleep 3600 & wait $!; done`;
      ok(await cli("create", ["--image", "bb-lxc", "--ready", "file:/tmp/ready", name, "--", "/bin/sh", "-c", init]), "create");
      const t0 = Date.now();
      const started = await cli("start", ["--wait", "ready", "--timeout", "20000", name]);
      ok(started, "start --wait ready");
      expect(started.stdout).toBe(`${name}\n`);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      ok(await cli("exec", [name, "--", "test", "-e", "/tmp/ready"]), "the file is there");

      ev = start("events", [name]);
      // Freeze and thaw until the events process (starting up) has seen it.
      for (let i = 0; i < 20 && ev.child.exitCode === null && !/ frozen\n.* thawed$/m.test(ev.stdout()); i++) {
        ok(await cli("freeze", [name]), "freeze");
        ok(await cli("unfreeze", [name]), "unfreeze");
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(ev.stdout()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z frozen\n\d{4}-\d\d-\d\dT[\d:.]+Z thawed$/m);
      ok(await cli("stop", ["--signal", "SIGTERM", "--timeout", "5000", name]), "stop");
      const events = await ev.result;
      expect(events.stderr).toBe("");
      expect(events.code).toBe(0);
      const lines = events.stdout.trimEnd().split("\n");
      // Another process stopped it, and nobody reaped the init: how it ended may be unknown here.
      expect(lines.at(-1)).toMatch(/^\S+ stopped (code=0|status=unknown)( reason=\w+)?$/);
    } finally {
      await cli("destroy", ["--force", name]);
    }
  }, TIMEOUT);

  it("--json prints one object per line", async () => {
    const name = uniqueName("evj");
    try {
      ok(await cli("create", ["--rootfs", rootfs(), "--ro", name, "--", "/bin/sh", "-c", IDLE]), "create");
      ok(await cli("start", [name]), "start");
      ev = start("events", ["--json", name]);
      for (let i = 0; i < 20 && ev.child.exitCode === null && !/"frozen"[^\n]*\n[^\n]*"thawed"/.test(ev.stdout()); i++) {
        ok(await cli("freeze", [name]), "freeze");
        ok(await cli("unfreeze", [name]), "unfreeze");
        await new Promise((r) => setTimeout(r, 100));
      }
      ok(await cli("kill", ["-s", "KILL", name]), "kill");
      const events = await ev.result;
      expect(events.code).toBe(0);
      const objs = events.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { time: string; type: string });
      expect(objs.every((o) => !Number.isNaN(Date.parse(o.time)))).toBe(true);
      expect(objs.map((o) => o.type)).toContain("frozen");
      expect(objs.at(-1)).toMatchObject({ type: "stopped", status: expect.any(Object) });
    } finally {
      await cli("destroy", ["--force", name]);
    }
  }, TIMEOUT);

  it("fails with 125 when the container is not ready in time, leaving it running", async () => {
    const name = uniqueName("slow");
    try {
      ok(await cli("create", ["--rootfs", rootfs(), "--ro", "--ready", "file:/never", name, "--", "/bin/sh", "-c", IDLE]), "create");
      const r = await cli("start", ["--wait", "ready", "--timeout", "500", name]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(new RegExp(`^warren: container "${name}" was not ready after \\d+ ms`));
      const listed = JSON.parse((await cli("list", ["--json"])).stdout) as { name: string; state: string }[];
      expect(listed.find((c) => c.name === name)?.state).toBe("running");
    } finally {
      await cli("destroy", ["--force", name]);
    }
  }, TIMEOUT);

  it("run --wait ready kills a container that is not ready in time", async () => {
    const name = uniqueName("runslow");
    const r = await cli("run", ["--rm", "--name", name, "--ready", "file:/never", "--wait", "ready", "--timeout", "300", "--", "sleep", "30"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/was not ready after \d+ ms/);
    const listed = JSON.parse((await cli("list", ["--json"])).stdout) as { name: string }[];
    expect(listed.map((c) => c.name)).not.toContain(name);
  }, TIMEOUT);
});
