/**
 * Readiness notifications come only from the container (issue 11, item 5).
 * The attack: a host user sent READY=1 to `<state>/host/notify` and
 * `start({wait: "ready"})` resolved. Here a host user (uid 65534) that can
 * reach the socket's directory is refused by its permissions, and a host
 * process that can reach the socket (root) is ignored by the monitor, while
 * the container's own READY=1 still counts.
 */
import { spawn } from "node:child_process";
import { closeSync, constants, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";

import { busybox, cleanupAll } from "../helpers/env.js";

afterAll(cleanupAll);

const NOBODY = 65534;

/**
 * Sends READY=1 as one datagram to `path` from a host process (perl, as
 * `uid` when given), with `dirFd` as its fd 3. Resolves with perl's error
 * text, empty when the datagram was sent.
 */
function sendFromHost(path: string, options: { uid?: number; dirFd?: number } = {}): Promise<string> {
  const script =
    'use Socket; socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\\n"; ' +
    'send($s, "READY=1", 0, pack_sockaddr_un($ARGV[0])) or die "send: $!\\n"; sleep 1';
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/perl", ["-e", script, path], {
      stdio: ["ignore", "ignore", "pipe", ...(options.dirFd !== undefined ? [options.dirFd] : [])],
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
    });
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", () => resolve(err.trim()));
  });
}

/** Whether `p` has settled after the event loop has had `ms` to run. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled;
}

describe("the notify socket", () => {
  it("takes READY=1 from the container only, not from host users or host processes", async () => {
    // The init waits for /run/go, then says READY=1 the way busybox can: its
    // syslog(3) datagram to /dev/log, pointed at $NOTIFY_SOCKET (a line of
    // its own in the message is what the monitor reads).
    const init = [
      "/bin/sh",
      "-c",
      'trap "exit 0" TERM; while [ ! -e /run/go ]; do sleep 0.1; done; ln -s "$NOTIFY_SOCKET" /dev/log; logger "$(printf "booted\\nREADY=1")"; while :; do sleep 3600 & wait $!; done',
    ];
    const c = await busybox("notify", { init, ready: { notify: true } });
    const starting = c.start({ wait: "ready", readyTimeout: 20_000 });
    const host = join(c.stateDir, "host");
    for (let i = 0; i < 100 && c.state !== "running"; i++) await sleep(50);
    expect(c.state).toBe("running");

    // The directory is root's and the init's group's only.
    const st = statSync(host);
    expect(st.mode & 0o777).toBe(0o750);
    expect(st.uid).toBe(0);
    expect(st.gid).toBe(c.idmap!.hostGid);

    // A host user handed the directory itself (as a world-traversable state
    // root would let it reach it) cannot send through it.
    const dirFd = openSync(host, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      expect(await sendFromHost("/proc/self/fd/3/notify", { uid: NOBODY, dirFd })).toMatch(/EACCES|Permission denied/);
    } finally {
      closeSync(dirFd);
    }

    // A host process that can reach the socket is not the container: the
    // monitor ignores it.
    expect(await sendFromHost(join(host, "notify"))).toBe("");
    expect(await settledWithin(starting, 500)).toBe(false);

    // The container's own READY=1 makes it ready.
    await c.execOutput(["touch", "/run/go"]);
    await starting;
    await c.stop();
  });
});
