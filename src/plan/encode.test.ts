import { describe, expect, it } from "vitest";

import { encodePlan, PLAN_ABI } from "./encode.js";
import { STEP_NAMES } from "./ops.js";

describe("encodePlan", () => {
  it("writes the header, 48-byte ops and a NUL-terminated blob", () => {
    const buf = encodePlan([
      { kind: "sethostname", name: "box" },
      { kind: "exec", file: "/bin/true", argv: ["/bin/true", "x"], env: ["A=1"] },
    ]);
    expect(buf.readUInt32LE(0)).toBe(PLAN_ABI.magic);
    expect(buf.readUInt32LE(4)).toBe(PLAN_ABI.version);
    expect(buf.readUInt32LE(8)).toBe(2);
    const blobLen = buf.readUInt32LE(12);
    expect(buf.length).toBe(16 + 48 * 2 + blobLen);
    const blob = buf.subarray(16 + 96);
    expect(blob[blob.length - 1]).toBe(0);
    // op 0: sethostname, string in s0
    expect(buf.readUInt32LE(16)).toBe(STEP_NAMES.indexOf("sethostname"));
    const s0 = buf.readUInt32LE(16 + 32);
    expect(blob.subarray(s0, s0 + 4).toString()).toBe("box\0");
    // op 1: exec, argv list at a: count then string offsets
    const argvOff = Number(buf.readBigUInt64LE(16 + 48 + 8));
    expect(argvOff % 4).toBe(0);
    expect(blob.readUInt32LE(argvOff)).toBe(2);
    const second = blob.readUInt32LE(argvOff + 8);
    expect(blob.subarray(second, second + 2).toString()).toBe("x\0");
  });

  it("deduplicates strings and aligns BPF programs to 8 bytes", () => {
    const filter = Buffer.alloc(16, 1);
    const buf = encodePlan([
      { kind: "chdir", path: "/same" },
      { kind: "mkdir", path: "/same", mode: 0o755 },
      { kind: "seccomp", filter },
    ]);
    expect(buf.readUInt32LE(16 + 36)).toBe(buf.readUInt32LE(16 + 48 + 36));
    const off = Number(buf.readBigUInt64LE(16 + 96 + 8));
    expect(off % 8).toBe(0);
    expect(Number(buf.readBigUInt64LE(16 + 96 + 16))).toBe(2);
    // c: seccomp(2)'s flags, 0 unless the op has some.
    expect(Number(buf.readBigUInt64LE(16 + 96 + 24))).toBe(0);
    const flagged = encodePlan([{ kind: "seccomp", filter, flags: 6 }]);
    expect(Number(flagged.readBigUInt64LE(16 + 24))).toBe(6);
  });

  it("rejects strings with NUL", () => {
    expect(() => encodePlan([{ kind: "chdir", path: "/a\0b" }])).toThrow(/NUL/);
  });
});
