import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// scripts/check-child-symbols.sh guards the child after clone: its objects
// may call nothing outside themselves (the build runs it; this runs it on the
// built library, and on objects made to break each rule so it must fail).
const repo = resolve(import.meta.dirname, "../..");
const script = join(repo, "scripts/check-child-symbols.sh");
const archive = join(repo, "build/Release/warren-child.a");
const hasCc = spawnSync("cc", ["--version"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "warren-child-symbols-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(lib: string) {
  const r = spawnSync("sh", [script, lib], { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

/** An archive of one object compiled from `source` with the child's flags. */
function archiveOf(name: string, source: string): string {
  const c = join(dir, `${name}.c`);
  const o = join(dir, `${name}.o`);
  const a = join(dir, `${name}.a`);
  writeFileSync(c, source);
  const cc = spawnSync("cc", ["-c", "-O2", "-ffreestanding", "-fno-builtin", "-fvisibility=hidden", "-o", o, c], { encoding: "utf8" });
  expect(cc.stderr).toBe("");
  expect(spawnSync("ar", ["rcs", a, o]).status).toBe(0);
  return a;
}

describe("check-child-symbols.sh", () => {
  it.skipIf(!existsSync(archive))("passes on the built child (build/Release/warren-child.a)", () => {
    expect(check(archive)).toEqual({ status: 0, stderr: "" });
  });

  it.skipIf(!hasCc)("names a libc call and a symbol that is not hidden", () => {
    const lib = archiveOf(
      "bad",
      '#include <string.h>\n__attribute__((visibility("default"))) unsigned long wr_len(const char *s) { return strlen(s); }\n',
    );
    const r = check(lib);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bad.o: strlen");
    expect(r.stderr).toMatch(/not hidden[^]*bad\.o: wr_len/);
  });

  it("refuses a library that does not exist", () => {
    expect(check(join(dir, "missing.a")).status).toBe(2);
  });
});
