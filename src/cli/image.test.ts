import { describe, expect, it } from "vitest";

import { buildSpec, importSource, parseImageArgs, parsePlatform } from "./image.js";
import { main } from "./main.js";
import { buildProgress, bar, fit, ProgressPrinter, pullProgress, shortDigest } from "./progress.js";
import { capture, usageError } from "./testing.js";

const args = (argv: string[]) => parseImageArgs(argv)!;

describe("image arguments", () => {
  it("takes the subcommand wherever --root puts it, and its aliases", () => {
    expect(args(["--root", "/r", "list"]).sub).toBe("list");
    expect(args(["ls", "--json"]).sub).toBe("list");
    expect(args(["remove", "bb:1"])).toMatchObject({ sub: "rm", args: ["bb:1"] });
    expect(parseImageArgs(["--help"])).toBeUndefined();
    expect(parseImageArgs(["help"])).toBeUndefined();
  });

  it("parses build's flags", () => {
    const a = args(["build", "debian/bookworm", "--variant", "buildd", "--arch", "arm64", "--include", "curl,less", "--include", "vim", "--mirror", "http://m/debian", "--tag", "deb", "--rebuild"]);
    expect(a.sub).toBe("build");
    expect(a.args).toEqual(["debian/bookworm"]);
    expect(a.values).toMatchObject({ variant: "buildd", arch: "arm64", include: ["curl,less", "vim"], tag: "deb", rebuild: true });
    expect(buildSpec(a.args[0]!, a.values)).toEqual({
      distro: "debian",
      release: "bookworm",
      variant: "buildd",
      arch: "arm64",
      packages: ["curl", "less", "vim"],
      mirror: "http://m/debian",
    });
    expect(buildSpec("ubuntu/noble", {})).toEqual({ distro: "ubuntu", release: "noble" });
  });

  it("refuses a bad build spec with a usage error, before building anything", () => {
    expect(usageError(() => buildSpec("debian", {})).message).toBe('bad distro "debian": expected debian/RELEASE or ubuntu/RELEASE');
    expect(usageError(() => buildSpec("fedora/40", {})).message).toMatch(/^bad distro "fedora\/40"/);
    expect(usageError(() => buildSpec("debian/bookworm", { variant: "tiny" })).message).toBe('--variant: expected minbase, buildd, default, got "tiny"');
    expect(usageError(() => buildSpec("debian/bookworm", { include: ["Bad_Pkg"] })).message).toBe('bad package name "Bad_Pkg"');
    expect(usageError(() => buildSpec("debian/bookworm", { mirror: "ftp://x" })).message).toBe('bad mirror "ftp://x"');
  });

  it("says which subcommands an option belongs to, and checks the arguments' number", () => {
    expect(usageError(() => args(["list", "--variant", "x"])).message).toBe("--variant is for image build");
    expect(usageError(() => args(["import", "--platform", "linux/amd64", "d"])).message).toBe("--platform is for image pull");
    expect(usageError(() => args(["build"])).message).toBe("missing DISTRO/RELEASE (like debian/bookworm)");
    expect(usageError(() => args(["pull"])).message).toBe("missing image reference (like docker.io/library/busybox:1.36)");
    expect(usageError(() => args(["pull", "a", "b"])).message).toBe('unexpected argument "b"');
    expect(usageError(() => args(["import", "a", "b", "c"])).message).toBe('unexpected argument "c"');
    expect(usageError(() => args(["build", "debian/bookworm", "--tag="])).message).toBe("--tag: must not be empty");
    expect(args(["import", "meta.tar.xz", "rootfs.squashfs"]).args).toEqual(["meta.tar.xz", "rootfs.squashfs"]);
  });

  it("parses --platform", () => {
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(parsePlatform("linux/amd64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(usageError(() => parsePlatform("amd64")).message).toMatch(/^--platform: expected OS\/ARCH/);
    expect(usageError(() => parsePlatform("windows/amd64")).message).toMatch(/^--platform: only linux/);
  });

  it("tells an OCI layout from LXC tarballs", () => {
    const fs: Record<string, boolean> = { "/d": true, "/f.tar.xz": false, "/blob": false };
    const isDir = (p: string) => fs[p];
    expect(importSource(["/d"], false, isDir)).toEqual({ kind: "oci", dir: "/d" });
    expect(importSource(["/f.tar.xz"], false, isDir)).toEqual({ kind: "lxc", unified: "/f.tar.xz" });
    expect(importSource(["/blob"], false, isDir)).toEqual({ kind: "lxc", unified: "/blob" });
    expect(importSource(["/blob"], true, isDir)).toEqual({ kind: "lxc", unified: "/blob" });
    expect(importSource(["missing.tar.zst"], false, isDir, "/w")).toEqual({ kind: "lxc", unified: "/w/missing.tar.zst" });
    expect(importSource(["missing"], false, isDir, "/w")).toEqual({ kind: "oci", dir: "/w/missing" });
    expect(importSource(["m.tar", "r.squashfs"], false, isDir, "/w")).toEqual({ kind: "lxc", metadata: "/w/m.tar", rootfs: "/w/r.squashfs" });
    expect(usageError(() => importSource(["/d"], true, isDir)).message).toMatch(/^--lxc: "\/d" is a directory/);
  });

  it("wants --username and --password-stdin together (exit 125, nothing pulled)", async () => {
    for (const argv of [["--username", "u"], ["--password-stdin"]]) {
      const io = capture();
      expect(await main(["image", "--root", "/nonexistent", "pull", "localhost:1/x", ...argv], io)).toBe(125);
      expect(io.stderr).toContain("--username and --password-stdin go together");
    }
  });

  it("fails a bad build spec with 125 and a usage hint", async () => {
    const io = capture();
    expect(await main(["image", "--root", "/nonexistent", "build", "debian/Bookworm!"], io)).toBe(125);
    expect(io.stderr).toBe(`warren: bad release "Bookworm!" in "debian/Bookworm!"\nSee 'warren image --help'.\n`);
    expect(io.stdout).toBe("");
  });
});

/** A fake terminal stderr. */
function terminal(columns = 60) {
  const t = { text: "", write: (s: string) => void (t.text += s), columns: () => columns };
  return t;
}

describe("progress", () => {
  it("draws bars and cuts lines to the terminal", () => {
    expect(bar(5, 10, 10)).toBe("[#####.....]");
    expect(bar(0, undefined)).toBe("");
    expect(bar(20, 10, 4)).toBe("[####]");
    expect(fit("x".repeat(100), 20)).toBe(`${"x".repeat(18)}…`);
    expect(shortDigest(`sha256:${"ab".repeat(32)}`)).toBe("sha256:abababababab");
  });

  it("build: plain lines per phase when stderr is not a terminal", () => {
    const io = capture();
    const on = buildProgress(new ProgressPrinter(io));
    on({ phase: "resolve", done: 0, message: "resolving" });
    on({ phase: "retrieve", done: 1, total: 3, message: "Retrieving a" });
    on({ phase: "retrieve", done: 2, total: 3, message: "Retrieving b" });
    on({ phase: "configure", done: 3, total: 3, message: "Setting up c" });
    expect(io.stderr).toBe("build: resolve\nbuild: retrieve (3 packages)\nbuild: configure (3 packages)\n");
  });

  it("build: one line redrawn in place on a terminal", () => {
    const t = terminal();
    let now = 0;
    const p = new ProgressPrinter(capture(), t, () => now);
    const on = buildProgress(p);
    on({ phase: "retrieve", done: 1, total: 4, message: "Retrieving a" });
    now += 10; // throttled
    on({ phase: "retrieve", done: 2, total: 4, message: "Retrieving b" });
    now += 100;
    on({ phase: "retrieve", done: 3, total: 4, message: "Retrieving c" });
    p.done();
    const frames = t.text.split("\r").filter(Boolean);
    expect(frames).toEqual([
      `retrieve  1/4 ${bar(1, 4)} Retrieving a\x1b[K`,
      `retrieve  3/4 ${bar(3, 4)} Retrieving c\x1b[K`,
      `retrieve  3/4 ${bar(3, 4)} Retrieving c\x1b[K\n`,
    ]);
    expect(t.text).not.toContain("Retrieving b");
  });

  it("pull: a line per finished layer when not a terminal, bytes in place on one", () => {
    const d = `sha256:${"1".repeat(64)}`;
    const io = capture();
    const on = pullProgress(new ProgressPrinter(io));
    on({ phase: "manifest", digest: d, bytes: 500, total: 500 });
    on({ phase: "layer", digest: d, bytes: 1024, total: 2048 });
    on({ phase: "layer", digest: d, bytes: 2048, total: 2048 });
    on({ phase: "unpack", bytes: 0, total: 2048 });
    on({ phase: "unpack", bytes: 2048, total: 2048 });
    expect(io.stderr).toBe("layer sha256:111111111111  2KiB done\nunpack: 2KiB\n");

    const t = terminal(200);
    const on2 = pullProgress(new ProgressPrinter(capture(), t, () => 0));
    on2({ phase: "layer", digest: d, bytes: 1024, total: 2048 });
    on2({ phase: "layer", digest: d, bytes: 2048, total: 2048 });
    expect(t.text).toBe(`\rlayer sha256:111111111111  1KiB/2KiB ${bar(1, 2)}\x1b[K\rlayer sha256:111111111111  2KiB done\x1b[K\n`);
  });
});
