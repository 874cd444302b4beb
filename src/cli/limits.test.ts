import { describe, expect, it } from "vitest";

import { CgroupControllerUnavailable, type ContainerStats } from "../index.js";
import { COMMON_OPTIONS, CONFIG_OPTIONS, LIMIT_OPTIONS, limitsFromFlags, splitArgs } from "./args.js";
import { configFromFlags } from "./config-args.js";
import { statsRow } from "./commands.js";
import { errorText, exitCodeOf } from "./exit.js";
import { main } from "./main.js";
import { capture, usageError } from "./testing.js";

const RUN = { ...COMMON_OPTIONS, ...CONFIG_OPTIONS, name: { type: "string" }, rm: { type: "boolean" } } as const;

const flags = (argv: string[]) => configFromFlags(splitArgs(argv, RUN, 0, "run").values, "/work");
const limitFlags = (argv: string[]) => limitsFromFlags(splitArgs(argv, { ...COMMON_OPTIONS, ...LIMIT_OPTIONS }, 1, "set").values);



describe("limit flags -> config.limits", () => {
  it("maps every limit flag to its field", () => {
    const c = flags([
      "--memory", "256MiB",
      "--memory-high", "200M",
      "--memory-swap", "0",
      "--cpus", "0.5",
      "--cpu-weight", "200",
      "--cpuset-cpus", "0-1,3",
      "--pids", "100",
      "--io-weight", "50",
    ]);
    expect(c.limits).toEqual({
      memory: { max: "256MiB", high: "200M", swapMax: "0" },
      cpu: { max: 0.5, weight: 200, cpus: "0-1,3" },
      pids: { max: 100 },
      io: { weight: 50 },
    });
    expect(c.bestEffortLimits).toBeUndefined();
  });

  it("sets only the sections given", () => {
    expect(flags(["--memory", "64MiB"])).toEqual({ limits: { memory: { max: "64MiB" } } });
    expect(flags(["--cpus", "2"])).toEqual({ limits: { cpu: { max: 2 } } });
    expect(flags(["--pids", "max"])).toEqual({ limits: { pids: { max: "max" } } });
    expect(flags(["--memory", "50%", "--cpus", "max"]).limits).toEqual({ memory: { max: "50%" }, cpu: { max: "max" } });
    expect(flags([]).limits).toBeUndefined();
  });

  it("maps --best-effort to bestEffortLimits", () => {
    expect(flags(["--memory", "256MiB", "--cpus", "0.5", "--pids", "100", "--best-effort"])).toEqual({
      limits: { memory: { max: "256MiB" }, cpu: { max: 0.5 }, pids: { max: 100 } },
      bestEffortLimits: true,
    });
  });

  it("takes --device repeatedly, in order, into deviceRules (with --no-userns)", () => {
    const c = flags(["--no-userns", "--device", "c 10:200 rwm", "--device=b 7:* r"]);
    expect(c.deviceRules).toEqual(["c 10:200 rwm", "b 7:* r"]);
    expect(c.namespaces).toEqual({ user: false });
    expect(usageError(() => flags(["--device", "c 10:200 rwm"])).message).toMatch(/^--device needs --no-userns/);
  });

  it("rejects a bad --device rule naming the flag", () => {
    for (const bad of ["x 1:2 r", "c 1:2 q", "c one:2", ""]) {
      expect(usageError(() => flags(["--no-userns", "--device", bad])).message).toMatch(/^--device: bad device rule/);
    }
  });

  it("parses numbers strictly, naming the flag", () => {
    const cases: [string[], RegExp][] = [
      [["--cpus", "abc"], /^--cpus: expected a positive number of CPUs.*got "abc"$/],
      [["--cpus", "0"], /^--cpus: /],
      [["--cpus=-1"], /^--cpus: expected/],
      [["--cpus", "1e3"], /^--cpus: /],
      [["--cpus", "0.5x"], /^--cpus: /],
      [["--cpus", ""], /^--cpus: /],
      [["--pids", "1.5"], /^--pids: expected an integer >= 1 or max, got "1.5"$/],
      [["--pids", "0"], /^--pids: /],
      [["--pids", "ten"], /^--pids: /],
      [["--cpu-weight", "0"], /^--cpu-weight: expected an integer from 1 to 10000, got "0"$/],
      [["--cpu-weight", "10001"], /^--cpu-weight: /],
      [["--cpu-weight", "max"], /^--cpu-weight: /],
      [["--io-weight", "5x"], /^--io-weight: /],
      [["--memory", "lots"], /^--memory: expected a size like 256MiB.*got "lots"$/],
      [["--memory=-1"], /^--memory: expected/],
      [["--memory", "12XB"], /^--memory: /],
      [["--memory-high", "1.5.2G"], /^--memory-high: /],
      [["--memory-swap", ""], /^--memory-swap: /],
      [["--cpuset-cpus", "0-"], /^--cpuset-cpus: expected a CPU list/],
      [["--cpuset-cpus", "a"], /^--cpuset-cpus: /],
    ];
    for (const [argv, message] of cases) {
      expect(usageError(() => flags(argv)).message, argv.join(" ")).toMatch(message);
    }
    expect(flags(["--cpus", ".25"]).limits).toEqual({ cpu: { max: 0.25 } });
    expect(flags(["--memory", "1073741824"]).limits).toEqual({ memory: { max: "1073741824" } });
  });

  it("limitsFromFlags reports no limits when none is given", () => {
    expect(limitFlags(["web"])).toEqual({ limits: undefined, bestEffort: false, deviceRules: [] });
    expect(limitFlags(["web", "--best-effort"])).toEqual({ limits: undefined, bestEffort: true, deviceRules: [] });
    expect(limitFlags(["web", "--device", "c 1:1 r", "--device", "c 1:2 r"]).deviceRules).toEqual(["c 1:1 r", "c 1:2 r"]);
  });
});

describe("the cgroup commands' usage errors (before touching any container)", () => {
  it("fails with 125 and a hint", async () => {
    const root = `/tmp/warren-cli-limits-${process.pid}-none`;
    const cases: [string[], string][] = [
      [["set", "--root", root, "web"], "warren: no limit flag given\nSee 'warren set --help'."],
      [["set", "--root", root, "web", "--best-effort"], "warren: no limit flag given\nSee 'warren set --help'."],
      [["set", "--root", root, "--pids", "50"], "warren: missing container name\nSee 'warren set --help'."],
      [["set", "--root", root, "web", "--cpus", "abc"], "warren: --cpus: expected a positive number of CPUs like 0.5 or 2 (or max), got \"abc\"\nSee 'warren set --help'."],
      [["run", "--root", root, "--cpus", "abc", "--", "true"], "warren: --cpus: expected a positive number of CPUs"],
      [["create", "--root", root, "--pids", "x", "web"], "warren: --pids: expected an integer >= 1 or max, got \"x\"\nSee 'warren create --help'."],
      [["stats", "--root", root], "warren: missing container name\nSee 'warren stats --help'."],
      [["freeze", "--root", root], "warren: missing container name\nSee 'warren freeze --help'."],
      [["unfreeze", "--root", root, "a", "b"], "warren: unexpected argument \"b\"\nSee 'warren unfreeze --help'."],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(argv, io), argv.join(" ")).toBe(125);
      expect(io.stderr.startsWith(message), `${argv.join(" ")}: ${io.stderr}`).toBe(true);
      expect(io.stdout).toBe("");
    }
  });

  it("has help for the new commands", async () => {
    for (const cmd of ["freeze", "unfreeze", "set", "stats"]) {
      const io = capture();
      expect(await main(["help", cmd], io)).toBe(0);
      expect(io.stdout).toMatch(new RegExp(`^Usage: warren ${cmd} `));
    }
    const io = capture();
    expect(await main(["set", "--help"], io)).toBe(0);
    expect(io.stdout).toContain("--memory SIZE");
    expect(io.stdout).toContain("--best-effort");
  });
});

describe("errors and output", () => {
  it("prints CgroupControllerUnavailable with its name, exit 125", () => {
    const e = new CgroupControllerUnavailable("memory", "memory is bound to cgroup v1 on this host", "memory.max", { container: "c" });
    expect(errorText(e, "run", {})).toBe("warren: CgroupControllerUnavailable: memory is bound to cgroup v1 on this host (needed by memory.max)");
    expect(exitCodeOf(e)).toBe(125);
  });

  it("formats a stats row, with - for missing controllers", () => {
    const base: ContainerStats = { cpu: { usageUsec: 1_234_567, userUsec: 0, systemUsec: 0 }, pressure: {} };
    expect(statsRow("web", base)).toEqual(["web", "1.23s", "-", "-", "-"]);
    const full: ContainerStats = {
      ...base,
      memory: { current: 64 * 1024 * 1024, events: { low: 0, high: 0, max: 0, oom: 0, oomKill: 0, oomGroupKill: 0 } },
      pids: { current: 3, max: 100 },
      pressure: { cpu: { some: { avg10: 1.5, avg60: 0, avg300: 0, total: 9 } } },
    };
    expect(statsRow("web", full)).toEqual(["web", "1.23s", "64MiB", "3", "1.50%"]);
  });
});
