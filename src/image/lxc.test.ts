import { describe, expect, it } from "vitest";

import { ImageError } from "../errors.js";
import { lxcToOciArchitecture, parseLxcMetadata } from "./lxc.js";
import { parseYamlSubset } from "./yaml.js";

/** As distrobuilder writes it for images.linuxcontainers.org. */
const DISTROBUILDER = `architecture: x86_64
creation_date: 1700000000
expiry_date: 1702592000
properties:
  architecture: amd64
  description: Debian bookworm amd64 (20231115_05:24)
  name: debian-bookworm-amd64-default-20231115_05:24
  os: debian
  release: bookworm
  serial: "20231115_05:24"
  variant: default
templates:
  /etc/hostname:
    when:
    - create
    - copy
    create_only: false
    template: hostname.tpl
    properties: {}
  /etc/hosts:
    when:
      - create
      - copy
    template: hosts.tpl
`;

describe("parseYamlSubset", () => {
  it("parses distrobuilder's metadata.yaml", () => {
    const doc = parseYamlSubset(DISTROBUILDER) as Record<string, any>;
    expect(doc.architecture).toBe("x86_64");
    expect(doc.creation_date).toBe("1700000000");
    expect(doc.properties).toMatchObject({ os: "debian", release: "bookworm", serial: "20231115_05:24", description: "Debian bookworm amd64 (20231115_05:24)" });
    expect(doc.templates["/etc/hostname"]).toEqual({ when: ["create", "copy"], create_only: "false", template: "hostname.tpl", properties: {} });
    expect(doc.templates["/etc/hosts"].when).toEqual(["create", "copy"]);
  });

  it("handles comments, quotes, flow sequences, block scalars, sequences of mappings, document markers", () => {
    const doc = parseYamlSubset(
      [
        "---",
        "# a comment",
        "a: 'it''s' # trailing comment",
        'b: "tab\\there # not a comment"',
        "c: x#y",
        "d: [one, 'two', \"three\"]",
        "e: ~",
        "f:",
        "g: |",
        "  line 1",
        "",
        "    indented",
        "h: >",
        "  folded",
        "  text",
        "i:",
        "  - name: n1",
        "    v: 1",
        "  - plain",
        "  -",
        "    nested: yes",
        '"quoted key": v',
        "url: http://example.com:8080/x",
        "...",
      ].join("\n"),
    );
    expect(doc).toEqual({
      a: "it's",
      b: "tab\there # not a comment",
      c: "x#y",
      d: ["one", "two", "three"],
      e: null,
      f: null,
      g: "line 1\n\n  indented\n",
      h: "folded text\n",
      i: [{ name: "n1", v: "1" }, "plain", { nested: "yes" }],
      "quoted key": "v",
      url: "http://example.com:8080/x",
    });
  });

  it("keeps __proto__ a plain key", () => {
    const doc = parseYamlSubset("__proto__:\n  polluted: yes\n") as Record<string, unknown>;
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(doc)).toEqual(["__proto__"]);
  });

  it("refuses what it does not understand, naming the line", () => {
    expect(() => parseYamlSubset("a: 1\n\tb: 2\n")).toThrow(/line 2: tabs/);
    expect(() => parseYamlSubset("a: &anchor x\n")).toThrow(/line 1: unsupported YAML/);
    expect(() => parseYamlSubset("a: {b: c}\n")).toThrow(ImageError);
    expect(() => parseYamlSubset("a: 1\na: 2\n")).toThrow(/line 2: duplicate key "a"/);
    expect(() => parseYamlSubset("a:\n    b: 1\n  c: 2\n")).toThrow(/line 3/);
    expect(() => parseYamlSubset('a: "open\n')).toThrow(/unterminated/);
    expect(parseYamlSubset("")).toBeNull();
  });
});

describe("parseLxcMetadata", () => {
  it("takes architecture, dates, string properties and template paths", () => {
    const m = parseLxcMetadata(DISTROBUILDER);
    expect(m.architecture).toBe("x86_64");
    expect(m.creationDate?.toISOString()).toBe("2023-11-14T22:13:20.000Z");
    expect(m.expiryDate?.getTime()).toBe(1702592000_000);
    expect(m.properties.os).toBe("debian");
    expect(m.properties.variant).toBe("default");
    expect(m.templates).toEqual(["/etc/hostname", "/etc/hosts"]);
  });

  it("needs an architecture; dates must be numbers", () => {
    expect(() => parseLxcMetadata("properties:\n  os: x\n")).toThrow(/no architecture/);
    expect(() => parseLxcMetadata("- a\n")).toThrow(/not a mapping/);
    expect(() => parseLxcMetadata("architecture: x86_64\ncreation_date: yesterday\n")).toThrow(/creation_date/);
    expect(parseLxcMetadata("architecture: aarch64\n")).toEqual({ architecture: "aarch64", properties: {}, templates: [] });
  });

  it("maps architectures to OCI names", () => {
    expect(lxcToOciArchitecture("x86_64")).toEqual({ architecture: "amd64" });
    expect(lxcToOciArchitecture("aarch64")).toEqual({ architecture: "arm64" });
    expect(lxcToOciArchitecture("armv7l")).toEqual({ architecture: "arm", variant: "v7" });
    expect(lxcToOciArchitecture("i686")).toEqual({ architecture: "386" });
    expect(lxcToOciArchitecture("mips64")).toEqual({ architecture: "mips64" });
  });
});
