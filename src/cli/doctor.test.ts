import { describe, expect, it } from "vitest";

import { main } from "./main.js";
import { capture } from "./testing.js";

describe("warren doctor", () => {
  it("has a CLI that exits 1 when a check fails and prints JSON on request", async () => {
    const io = capture();
    expect(await main(["doctor", "--containers", "10000000"], io)).toBe(1);
    expect(io.stdout).toMatch(/FAIL\s+sysctl\.kernel\.pid_max/);
    expect(io.stdout).toMatch(/To fix:\n[\s\S]*sysctl -w kernel\.pid_max=\d+/);
    const json = capture();
    await main(["doctor", "--json", "-n", "3"], json);
    expect(JSON.parse(json.stdout).containers).toBe(3);
    const bad = capture();
    expect(await main(["doctor", "--containers", "many"], bad)).toBe(125);
    expect(bad.stderr).toMatch(/--containers: expected a positive integer/);
  });
});
