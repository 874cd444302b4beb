import { afterEach, describe, expect, it } from "vitest";

import { hostLibc } from "./binding.js";

describe("hostLibc", () => {
  const saved = process.env.LIBC;
  afterEach(() => {
    if (saved === undefined) delete process.env.LIBC;
    else process.env.LIBC = saved;
  });

  it("is the C library Node reports (glibc here: Node says which glibc it runs on)", () => {
    delete process.env.LIBC;
    const header = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
    expect(hostLibc()).toBe(header.header.glibcVersionRuntime ? "glibc" : "musl");
  });

  it("takes LIBC when it names glibc or musl, and ignores anything else", () => {
    process.env.LIBC = "musl";
    expect(hostLibc()).toBe("musl");
    process.env.LIBC = "glibc";
    expect(hostLibc()).toBe("glibc");
    delete process.env.LIBC;
    const reported = hostLibc();
    process.env.LIBC = "uclibc";
    expect(hostLibc()).toBe(reported);
  });
});
