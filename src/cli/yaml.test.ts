import { describe, expect, it } from "vitest";

import { toYaml } from "./yaml.js";

describe("toYaml", () => {
  it("writes nested maps and lists in block style", () => {
    expect(toYaml({ a: 1, b: { c: "x", d: [1, { e: true, f: "two" }] }, g: [], h: {} })).toBe(
      "a: 1\nb:\n  c: x\n  d:\n    - 1\n    - e: true\n      f: two\ng: []\nh: {}\n",
    );
  });

  it("quotes strings a reader would take for something else", () => {
    expect(toYaml({ s: "yes", num: "10", e: "", colon: "a: b", hash: "#x", path: "/bin/sh", ip: "10.0.0.1" })).toBe(
      's: "yes"\nnum: "10"\ne: ""\ncolon: "a: b"\nhash: "#x"\npath: /bin/sh\nip: "10.0.0.1"\n',
    );
  });

  it("skips undefined and writes null", () => {
    expect(toYaml({ a: undefined, b: null })).toBe("b: null\n");
  });
});
