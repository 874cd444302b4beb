import { expect } from "vitest";

import { test } from "./debian.js";

test("another file has its own container", async ({ debian }) => {
  // system.test.ts's mark is not here: a fresh container per file.
  expect((await debian.execOutput(["test", "-e", "/root/mark"])).code).not.toBe(0);
  await debian.pushFile(Buffer.from("hello\n"), "/etc/motd-test");
  expect((await debian.execOutput(["cat", "/etc/motd-test"])).stdout).toBe("hello\n");
});
