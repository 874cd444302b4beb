import { describe, expect, it } from "vitest";

import { mergeLimits } from "../container/resources.js";
import { checkLimits, unavailableReason } from "./apply.js";
import type { CgroupHost } from "./cgroup2.js";
import { limitWrites } from "./limit-writes.js";
import { limitsSchema } from "./limits.js";
import { parseFlatKeyed, parseIoStat, parsePressure } from "./stats.js";
import { formatBytes, parseBytes, parsePercent } from "./units.js";

const parse = (x: unknown) => limitsSchema.parse(x);

describe("units", () => {
  it("reads binary and decimal sizes and percentages", () => {
    expect(parseBytes("512MiB")).toBe(512 * 2 ** 20);
    expect(parseBytes("64M")).toBe(64 * 2 ** 20);
    expect(parseBytes("1.5GB")).toBe(1.5e9);
    expect(parseBytes("100")).toBe(100);
    expect(parseBytes("1kB")).toBe(1000);
    expect(parseBytes("lots")).toBeUndefined();
    expect(parseBytes("5XB")).toBeUndefined();
    expect(parsePercent("50%")).toBe(0.5);
    expect(parsePercent("50")).toBeUndefined();
    expect(formatBytes(2 ** 30)).toBe("1GiB");
    expect(formatBytes(1536 * 2 ** 20)).toBe("1536MiB"); // exact beats short
    expect(formatBytes(1536 * 2 ** 20 + 1)).toBe("1.5GiB");
  });
});

describe("limitWrites", () => {
  it("translates every section into interface files", () => {
    const w = limitWrites(
      parse({
        memory: { max: "512MiB", high: "50%", swapMax: 0, oomGroupKill: true },
        cpu: { max: 1.5, weight: 200, cpus: "0-1", mems: "0" },
        pids: { max: 100 },
        io: { weight: 300, max: [{ device: "8:0", rbps: "1MB", wiops: 50 }, { device: "/dev/vda", wbps: "max" }] },
        hugetlb: { "2MB": "64MiB" },
      }),
      { hostMemory: 2 ** 30, deviceNumber: (p) => (p === "/dev/vda" ? "254:0" : "?") },
    );
    expect(w.map((x) => [x.file, x.value])).toEqual([
      ["memory.high", String(2 ** 29)],
      ["memory.max", String(512 * 2 ** 20)],
      ["memory.swap.max", "0"],
      ["memory.oom.group", "1"],
      ["cpu.max", "150000 100000"],
      ["cpu.weight", "200"],
      ["cpuset.mems", "0"],
      ["cpuset.cpus", "0-1"],
      ["pids.max", "100"],
      ["io.weight", "default 300"],
      ["io.max", "8:0 rbps=1000000 wiops=50"],
      ["io.max", "254:0 wbps=max"],
      ["hugetlb.2MB.max", String(64 * 2 ** 20)],
    ]);
    expect(w.find((x) => x.file === "memory.swap.max")?.field).toBe("memory.swapMax");
  });

  it("turns CPU percentages and max into cpu.max, with a floor of 1 ms", () => {
    expect(limitWrites(parse({ cpu: { max: "50%" } }))[0]?.value).toBe("50000 100000");
    expect(limitWrites(parse({ cpu: { max: "max" } }))[0]?.value).toBe("max");
    expect(limitWrites(parse({ cpu: { max: 0.001 } }))[0]?.value).toBe("1000 100000");
  });

  it("rejects bad values with the field's path", () => {
    const r = limitsSchema.safeParse({ memory: { max: "lots" }, cpu: { cpus: "a-b" }, hugetlb: { "2XB": 1 } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["memory.max", "cpu.cpus", "hugetlb.2XB"]));
  });
});

const HYBRID: CgroupHost = {
  mount: "/sys/fs/cgroup/unified",
  controllers: ["hugetlb"],
  v1Controllers: ["blkio", "cpu", "memory", "pids"],
  pureV2: false,
  delegation: { nsdelegate: false, files: [] },
};

describe("controller checks", () => {
  it("says why a controller is unusable", () => {
    expect(unavailableReason("hugetlb", HYBRID)).toBeUndefined();
    expect(unavailableReason("memory", HYBRID)).toBe("memory is bound to cgroup v1 on this host");
    expect(unavailableReason("io", HYBRID)).toBe("io is bound to cgroup v1 on this host (as blkio)");
    expect(unavailableReason("rdma", HYBRID)).toMatch(/rdma is not available in cgroup v2 on this host/);
    expect(unavailableReason("hugetlb", HYBRID, new Map([["hugetlb", "hugetlb could not be enabled"]]))).toBe("hugetlb could not be enabled");
  });

  it("refuses the whole set on the first unusable controller, or skips it with a warning", () => {
    const limits = parse({ memory: { max: "1GiB" }, hugetlb: { "2MB": "2MiB" } });
    expect(() => checkLimits(limits, { host: HYBRID })).toThrow(/memory is bound to cgroup v1 on this host \(needed by memory.max\)/);
    const r = checkLimits(limits, { host: HYBRID, bestEffort: true });
    expect(r.writes.map((w) => w.file)).toEqual(["hugetlb.2MB.max"]);
    expect(r.warnings).toEqual(["limit memory.max not applied: memory is bound to cgroup v1 on this host"]);
  });
});

describe("mergeLimits", () => {
  it("replaces the fields a section names and keeps the others", () => {
    const base = parse({ memory: { max: "1GiB", high: "900MiB" }, pids: { max: 10 } });
    expect(mergeLimits(base, parse({ memory: { max: "2GiB" } }))).toEqual({ memory: { max: "2GiB", high: "900MiB" }, pids: { max: 10 } });
    expect(mergeLimits(undefined, parse({ pids: { max: 5 } }))).toEqual({ pids: { max: 5 } });
  });
});

describe("stats parsers", () => {
  it("reads flat-keyed files, PSI and io.stat", () => {
    expect(parseFlatKeyed("usage_usec 10\nuser_usec 7\n")).toEqual({ usage_usec: 10, user_usec: 7 });
    // Only `key value` lines; no trailing newline needed.
    expect(parseFlatKeyed("a 1\nb 2 3\n c\nd \n\ne 5")).toEqual({ a: 1, e: 5 });
    expect(parsePressure("some avg10=0.10 avg60=0.20 avg300=0.30 total=7")).toEqual({ some: { avg10: 0.1, avg60: 0.2, avg300: 0.3, total: 7 } });
    expect(parsePressure("some avg10=x avg60=0.00 avg300=0.00 total=1\nbroken\n")).toEqual({});
    expect(parsePressure("some avg10=1.50 avg60=0.00 avg300=0.00 total=42\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1\n")).toEqual({
      some: { avg10: 1.5, avg60: 0, avg300: 0, total: 42 },
      full: { avg10: 0, avg60: 0, avg300: 0, total: 1 },
    });
    expect(parseIoStat("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n")).toEqual({
      "8:0": { rbytes: 1, wbytes: 2, rios: 3, wios: 4, dbytes: 5, dios: 6 },
    });
  });
});
