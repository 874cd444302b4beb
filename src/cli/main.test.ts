import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { ConfigError, SetupError, StateError } from "../index.js";
import { UsageError } from "./args.js";
import { formatTable } from "./io.js";
import { errorText, exitCodeOf, statusOf } from "./exit.js";
import { main } from "./main.js";
import { capture } from "./testing.js";


describe("exit statuses", () => {
  it("follows the shell for how a process ended", () => {
    expect(statusOf({ code: 7, signal: null })).toBe(7);
    expect(statusOf({ code: 0, signal: null })).toBe(0);
    expect(statusOf({ code: null, signal: "SIGKILL" })).toBe(137);
    expect(statusOf({ code: null, signal: "SIGTERM" })).toBe(143);
    expect(statusOf({ code: null, signal: null })).toBe(125);
  });

  it("maps exec failures to 126/127 and everything else to 125", () => {
    expect(exitCodeOf(new SetupError("start", "exec", 2, "exec `/x`"))).toBe(127);
    expect(exitCodeOf(new SetupError("exec", "exec", 13, "exec `/x`"))).toBe(126);
    expect(exitCodeOf(new SetupError("start", "mount", 2, "mount"))).toBe(125);
    expect(exitCodeOf(new StateError("busy", "start", "running"))).toBe(125);
    expect(exitCodeOf(new UsageError("bad"))).toBe(125);
    expect(exitCodeOf(new Error("surprise"))).toBe(125);
  });

  it("prints warren errors as one line without a stack", () => {
    const e = new ConfigError([{ path: "hostname", message: "must be a valid hostname" }], { container: "c" });
    expect(errorText(e, "run", { WARREN_DEBUG: "1" })).toBe('warren: container "c": invalid configuration: hostname: must be a valid hostname');
    expect(errorText(new UsageError("missing container name"), "stop")).toBe("warren: missing container name\nSee 'warren stop --help'.");
    expect(errorText(new Error("boom"), undefined, {})).toBe("warren: boom");
    expect(errorText(new Error("boom"), undefined, { WARREN_DEBUG: "1" })).toMatch(/^warren: boom\nError: boom\n {4}at /);
  });
});

describe("main", () => {
  it("prints the version of package.json", async () => {
    const io = capture();
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(await main(["--version"], io)).toBe(0);
    expect(io.stdout).toBe(`${pkg.version}\n`);
  });

  it("prints usage for --help, help and help CMD", async () => {
    for (const argv of [["--help"], ["help"]]) {
      const io = capture();
      expect(await main(argv, io)).toBe(0);
      expect(io.stdout).toMatch(/^Usage: warren COMMAND/);
    }
    const io = capture();
    expect(await main(["help", "exec"], io)).toBe(0);
    expect(io.stdout).toMatch(/^Usage: warren exec \[OPTIONS\] NAME/);
    const io2 = capture();
    expect(await main(["run", "--name", "x", "--help"], io2)).toBe(0);
    expect(io2.stdout).toMatch(/^Usage: warren run /);
    expect(io2.stderr).toBe("");
  });

  it("fails with 125 and a hint on usage errors, before touching any container", async () => {
    const cases: [string[], string][] = [
      [[], "Usage: warren COMMAND"],
      [["bogus"], 'warren: unknown command "bogus"\nSee \'warren --help\'.'],
      [["run", "--ro", "--", "true"], "warren: --ro needs --rootfs DIR\nSee 'warren run --help'."],
      [["run", "-e", "NOPE", "--", "true"], "warren: -e/--env: expected KEY=VALUE, got \"NOPE\"\nSee 'warren run --help'."],
      [["exec", "web"], "warren: missing command\nSee 'warren exec --help'."],
      [["stop"], "warren: missing container name\nSee 'warren stop --help'."],
      [["list", "extra"], "warren: unexpected argument \"extra\"\nSee 'warren list --help'."],
      [["kill", "--nope", "x"], "warren: unknown option --nope\nSee 'warren kill --help'."],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(argv, io), argv.join(" ")).toBe(125);
      expect(io.stderr.startsWith(message), `${argv.join(" ")}: ${io.stderr}`).toBe(true);
      expect(io.stdout).toBe("");
    }
  });
});

describe("formatTable", () => {
  it("pads every column but the last", () => {
    expect(formatTable([["NAME", "STATE"], ["a-long-name", "running"]])).toBe("NAME         STATE\na-long-name  running");
  });
});

describe("--root before the command", () => {
  it("is accepted and moved behind the command name", async () => {
    const io = capture();
    // An empty, fresh root: `list` shows only the header line.
    const root = `/tmp/warren-cli-root-${process.pid}`;
    expect(await main(["--root", root, "list", "--json"], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual([]);
    expect(await main([`--root=${root}`, "list", "--json"], io)).toBe(0);
    const bad = capture();
    expect(await main(["--bogus", "list"], bad)).toBe(125);
    expect(bad.stderr).toContain("unknown option --bogus");
  });
});

describe("warren image", () => {
  it("rejects a missing or unknown subcommand and stray arguments with 125", async () => {
    for (const [argv, msg] of [
      [["image", "--root", "/nonexistent"], "missing subcommand (build, pull, import, list, rm, prune)"],
      [["image", "--root", "/nonexistent", "push", "x"], 'unknown subcommand "push" (expected build, pull, import, list, rm and prune)'],
      [["image", "--root", "/nonexistent", "import"], "missing path (an OCI layout directory or an LXC tarball)"],
      [["image", "--root", "/nonexistent", "list", "x"], 'unexpected argument "x"'],
      [["image", "--root", "/nonexistent", "rm", "--tag", "t", "x"], "--tag is for image build, pull and import"],
      [["image", "--root", "/nonexistent", "build", "debian"], 'bad distro "debian": expected debian/RELEASE or ubuntu/RELEASE'],
      [["image", "--root", "/nonexistent", "prune", "x"], 'unexpected argument "x"'],
    ] as const) {
      const io = capture();
      expect(await main([...argv], io)).toBe(125);
      expect(io.stderr).toContain(msg);
    }
  });

  it("prints its help", async () => {
    const io = capture();
    expect(await main(["image", "--help"], io)).toBe(0);
    expect(io.stdout).toContain("warren image import [OPTIONS] PATH");
    expect(io.stdout).toContain("warren image build [OPTIONS] DISTRO/RELEASE");
  });
});
