import { describe, expect, it } from "vitest";

import { CONFIG_OPTIONS, COMMON_OPTIONS, parseExecUser, parseWait, splitArgs, WAIT_OPTIONS } from "./args.js";
import { configFromFlags, parseReady } from "./config-args.js";
import { DetachFilter, escapeName, parseEscape } from "./console.js";
import { eventDetails, formatEvent } from "./events.js";
import { main } from "./main.js";
import { capture, usageError } from "./testing.js";

describe("console: the detach key", () => {
  it("parses caret notation", () => {
    expect(parseEscape("^a")).toBe(0x01);
    expect(parseEscape("^A")).toBe(0x01);
    expect(parseEscape("^]")).toBe(0x1d);
    expect(parseEscape("^@")).toBe(0x00);
    for (const bad of ["a", "^", "^ab", "ctrl-a", "^1"]) expect(usageError(() => parseEscape(bad)).message).toMatch(/^-e\/--escape: expected a control key/);
    expect(escapeName(0x01)).toBe("Ctrl+a");
    expect(escapeName(0x1d)).toBe("Ctrl+]");
  });

  it("detaches on ESC q, types ESC for ESC ESC, passes everything else", () => {
    const f = new DetachFilter(0x01);
    expect(f.push(Buffer.from("ls\r"))).toEqual({ forward: Buffer.from("ls\r"), detach: false });
    expect(f.push(Buffer.from("\x01\x01x"))).toEqual({ forward: Buffer.from("\x01x"), detach: false });
    expect(f.push(Buffer.from("\x01c"))).toEqual({ forward: Buffer.from("\x01c"), detach: false });
    expect(f.push(Buffer.from("ab\x01qrest"))).toEqual({ forward: Buffer.from("ab"), detach: true });
  });

  it("holds an ESC at the end of a chunk for the next key", () => {
    const f = new DetachFilter(0x01);
    expect(f.push(Buffer.from("x\x01"))).toEqual({ forward: Buffer.from("x"), detach: false });
    expect(f.push(Buffer.from("q"))).toEqual({ forward: Buffer.alloc(0), detach: true });
    const g = new DetachFilter(0x1d);
    expect(g.push(Buffer.from("\x1d"))).toEqual({ forward: Buffer.alloc(0), detach: false });
    expect(g.push(Buffer.from("z"))).toEqual({ forward: Buffer.from("\x1dz"), detach: false });
  });

  it("rejects bad console and console-log command lines with 125", async () => {
    for (const [argv, msg] of [
      [["console"], "warren: missing container name\nSee 'warren console --help'."],
      [["console", "web", "extra"], `warren: unexpected argument "extra"\nSee 'warren console --help'.`],
      [["console", "--escape", "x", "web"], `warren: -e/--escape: expected a control key like ^a or ^], got "x"\nSee 'warren console --help'.`],
      [["console-log"], "warren: missing container name\nSee 'warren console-log --help'."],
      [["events"], "warren: missing container name\nSee 'warren events --help'."],
      [["start", "--timeout", "5", "web"], "warren: --timeout needs --wait ready\nSee 'warren start --help'."],
      [["start", "--wait", "soon", "web"], `warren: --wait: expected ready or started, got "soon"\nSee 'warren start --help'.`],
    ] as const) {
      const io = capture();
      expect(await main([...argv, "--root", "/nonexistent"], io), argv.join(" ")).toBe(125);
      expect(io.stderr.startsWith(msg), io.stderr).toBe(true);
    }
  });

  it("has help", async () => {
    for (const cmd of ["console", "console-log", "events"]) {
      const io = capture();
      expect(await main([cmd, "--help"], io)).toBe(0);
      expect(io.stdout).toMatch(new RegExp(`^Usage: warren ${cmd} \\[OPTIONS\\] NAME`));
    }
    const io = capture();
    await main(["console", "--help"], io);
    expect(io.stdout).toContain("<Ctrl+a q>");
  });
});

describe("events", () => {
  const t = new Date("2024-05-01T12:00:00.000Z");
  it("formats one line per event", () => {
    expect(formatEvent({ type: "started", pid: 42 }, t, false)).toBe("2024-05-01T12:00:00.000Z started pid=42");
    expect(formatEvent({ type: "ready" }, t, false)).toBe("2024-05-01T12:00:00.000Z ready");
    expect(eventDetails({ type: "exec", pid: 7, argv: ["sh", "-c", "echo 'hi there'"] })).toBe(`pid=7 sh -c 'echo '\\''hi there'\\'''`);
    expect(eventDetails({ type: "oom-kill", count: 2 })).toBe("count=2");
    expect(eventDetails({ type: "stopped", status: { code: 0, signal: null, reason: "halt" } })).toBe("code=0 reason=halt");
    expect(eventDetails({ type: "stopped", status: { code: null, signal: "SIGHUP", reason: "reboot" }, restarting: true })).toBe("signal=SIGHUP reason=reboot restarting");
    expect(eventDetails({ type: "stopped", status: { code: null, signal: null } })).toBe("status=unknown");
    expect(JSON.parse(formatEvent({ type: "frozen" }, t, true))).toEqual({ time: "2024-05-01T12:00:00.000Z", type: "frozen" });
  });
});

describe("start/run/create/exec flags", () => {
  const CREATE = { ...COMMON_OPTIONS, ...CONFIG_OPTIONS, console: { type: "boolean" }, "no-console": { type: "boolean" } } as const;

  it("parses --wait and --timeout", () => {
    const v = (argv: string[]) => parseWait(splitArgs(argv, { ...COMMON_OPTIONS, ...WAIT_OPTIONS }, 1, "start").values);
    expect(v(["web"])).toEqual({});
    expect(v(["--wait", "ready", "--timeout", "5000", "web"])).toEqual({ wait: "ready", readyTimeout: 5000 });
    expect(v(["--wait=started", "web"])).toEqual({ wait: "started" });
    expect(usageError(() => v(["--wait", "ready", "--timeout", "0", "web"])).message).toBe("--timeout: must be at least 1 ms");
    expect(usageError(() => v(["--wait", "ready", "--timeout", "1s", "web"])).message).toBe('--timeout: expected a non-negative integer, got "1s"');
  });

  it("parses --ready and --console into the config", () => {
    expect(parseReady("notify")).toEqual({ notify: true });
    expect(parseReady("file:/tmp/ready")).toEqual({ file: "/tmp/ready" });
    expect(parseReady("tcp:80")).toEqual({ tcp: 80 });
    expect(parseReady("exec:test -e /run/ok")).toEqual({ exec: ["test", "-e", "/run/ok"] });
    for (const bad of ["file:tmp", "tcp:0", "tcp:x", "exec:", "soon", "http:80"]) expect(usageError(() => parseReady(bad)).message).toMatch(/^--ready: /);
    const flags = (argv: string[]) => configFromFlags(splitArgs(argv, CREATE, 1, "create").values, "/w");
    expect(flags(["--console", "--ready", "file:/tmp/r", "web"])).toEqual({ console: true, ready: { file: "/tmp/r" } });
    expect(flags(["--no-console", "web"])).toEqual({ console: false });
    expect(usageError(() => flags(["--console", "--no-console", "web"])).message).toBe("--console and --no-console cannot be used together");
  });

  it("takes exec --user as a NAME or UID[:GID]", () => {
    expect(parseExecUser("www-data")).toBe("www-data");
    expect(parseExecUser("_apt")).toBe("_apt");
    expect(parseExecUser("1000")).toEqual({ uid: 1000, gid: 1000 });
    expect(parseExecUser("1000:5")).toEqual({ uid: 1000, gid: 5 });
    for (const bad of ["", "a:b", "root:0", "-x", "1a"]) expect(usageError(() => parseExecUser(bad)).message).toMatch(/^-u\/--user: /);
  });
});
