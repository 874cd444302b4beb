import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { codeOf } from "./errno.js";
import { writeFileExclusive } from "./json-file.js";

const base = mkdtempSync(join(tmpdir(), "warren-json-file-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("writeFileExclusive", () => {
  it("creates the file whole with its mode, once, and leaves no temporary file", () => {
    const path = join(base, "claim.json");
    writeFileExclusive(path, "first\n", 0o640);
    expect(readFileSync(path, "utf8")).toBe("first\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
    let code: string | undefined;
    try {
      writeFileExclusive(path, "second\n");
    } catch (e) {
      code = codeOf(e);
    }
    expect(code).toBe("EEXIST");
    expect(readFileSync(path, "utf8")).toBe("first\n");
    expect(readdirSync(base)).toEqual(["claim.json"]);
  });
});
