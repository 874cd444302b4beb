import { expect } from "vitest";

import { test } from "./debian.js";

test("the container boots Debian with systemd as PID 1", async ({ debian }) => {
  expect((await debian.execOutput(["cat", "/etc/debian_version"])).stdout).toMatch(/^12\./);
  expect((await debian.execOutput(["cat", "/proc/1/comm"])).stdout).toBe("systemd\n");
});

test("the second test of the file gets the same container", async ({ debian }) => {
  await debian.execOutput(["sh", "-c", "echo kept > /root/mark"]);
  expect((await debian.execOutput(["cat", "/root/mark"])).stdout).toBe("kept\n");
});
