import { closeSync, fstatSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { StateError } from "../errors.js";
import { openNamespaceOf } from "./pod-nics.js";
import { processInfo } from "./proc.js";

describe("openNamespaceOf", () => {
  const self = processInfo(process.pid)!;

  it("opens the network namespace of the process it was told of", () => {
    const fd = openNamespaceOf(process.pid, { startTime: self.startTime, op: "addNic", container: "c" });
    try {
      expect(fstatSync(fd).ino).toBe(statSync(`/proc/${process.pid}/ns/net`).ino);
    } finally {
      closeSync(fd);
    }
  });

  it("refuses a pid that is now another process (another start time), or none", () => {
    expect(() => openNamespaceOf(process.pid, { startTime: self.startTime + 1, op: "removeNic", container: "c" })).toThrow(StateError);
    expect(() => openNamespaceOf(process.pid, { startTime: self.startTime + 1, op: "removeNic", container: "c" })).toThrow(
      'container "c" is not running (its init ended during removeNic)',
    );
    // pid_max is at most 2^22: this one never exists.
    expect(() => openNamespaceOf(2 ** 22 + 1, { startTime: 0, op: "stop", container: "c" })).toThrow(StateError);
  });
});
