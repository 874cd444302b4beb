import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

import { HostError } from "../errors.js";
import { codeOf, errnoName } from "./errno.js";

const addon = resolve(import.meta.dirname, "../../build/Release/warren.node");

describe("errnoName", () => {
  it("names errnos as Node does, with either sign", () => {
    expect(errnoName(22)).toBe("EINVAL");
    expect(errnoName(-2)).toBe("ENOENT");
    expect(errnoName(95)).toBe("ENOTSUP"); // libuv's name, not EOPNOTSUPP
  });

  it("falls back to os.constants.errno for names libuv lacks", () => {
    expect(errnoName(8)).toBe("ENOEXEC");
    expect(errnoName(122)).toBe("EDQUOT");
  });

  it("says E<n> for a number nobody names", () => {
    expect(errnoName(0)).toBe("E0");
    expect(errnoName(200)).toBe("E200");
  });
});

describe("codeOf", () => {
  it("reads `code`, then a numeric `errno`", () => {
    let fsError: unknown;
    try {
      readFileSync("/nonexistent/warren");
    } catch (e) {
      fsError = e;
    }
    expect(codeOf(fsError)).toBe("ENOENT");
    expect(codeOf({ errno: 3 })).toBe("ESRCH");
    expect(codeOf(new HostError("x", "EPERM"))).toBe("ERR_WARREN_HOST");
  });

  it("says EUNKNOWN for anything else", () => {
    expect(codeOf(null)).toBe("EUNKNOWN");
    expect(codeOf("boom")).toBe("EUNKNOWN");
    expect(codeOf(new Error("plain"))).toBe("EUNKNOWN");
  });

  it.skipIf(!existsSync(addon))("reads the `code` a native error carries, the name errnoName gives", () => {
    const native = createRequire(import.meta.url)(addon) as { close(fd: number): void };
    let thrown: unknown;
    try {
      native.close(-1);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: "EBADF", errno: 9, syscall: "close" });
    expect(codeOf(thrown)).toBe(errnoName(9));
  });
});
