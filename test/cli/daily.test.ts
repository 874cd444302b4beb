/**
 * What an LXD user does every day, end to end through the `warren` CLI (run
 * as a subprocess against a state root of its own, with a busybox image):
 * create from an image, start, file push/pull/edit, snapshot and restore,
 * clone, rename, export/import, config, shell on a pty, restart, list,
 * stop, destroy.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import { ImageStore } from "../../src/index.js";
import { cliArgv, cliFor, removeRoot, runArgv, type CliResult } from "../helpers/cli.js";
import { rootfs } from "../helpers/env.js";

const IDLE = "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done";
let root: string;
let tmp: string;
let cli: ReturnType<typeof cliFor>;

function ok(r: CliResult, what: string): string {
  expect(r.stderr, what).toBe("");
  expect(r.code, what).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  root = mkdtempSync("/tmp/warren-cli-daily-");
  tmp = mkdtempSync(join(tmpdir(), "warren-cli-daily-files-"));
  cli = cliFor(root);
  const layout = join(tmp, "oci");
  await ociLayoutFromDirectory(rootfs(), layout);
  await new ImageStore(root).importOci(layout, { tag: "bb" });
});

afterAll(async () => {
  const cg = await removeRoot(root, tmp);
  // Destroying the last container of a root removes its cgroup subtree too.
  expect(existsSync(cg), cg).toBe(false);
}, 60_000);

describe("the daily workflow", () => {
  it("create, start, files, snapshots, clone, rename, export/import, config, shell, restart, list, stop, destroy", async () => {
    const name = `daily-${randomBytes(3).toString("hex")}`;
    ok(await cli("create", ["--image", "bb", name, "--", "/bin/sh", "-c", IDLE]), "create");
    ok(await cli("start", [name]), "start");

    // Files: push, pull (to a file and to stdout), edit with $EDITOR.
    const local = join(tmp, "hello.txt");
    writeFileSync(local, "hello\n");
    ok(await cli("file", ["push", "--mode", "0600", name, local, "/root/"]), "push");
    ok(await cli("file", ["pull", name, "/root/hello.txt", join(tmp, "back.txt")]), "pull");
    expect(readFileSync(join(tmp, "back.txt"), "utf8")).toBe("hello\n");
    const editor = join(tmp, "editor.sh");
    writeFileSync(editor, '#!/bin/sh\nsed -i s/hello/edited/ "$1"\n');
    chmodSync(editor, 0o755);
    ok(await cli("file", ["edit", name, "/root/hello.txt"], { env: { EDITOR: editor, VISUAL: "" } }), "edit");
    expect(ok(await cli("file", ["pull", name, "/root/hello.txt", "-"]), "pull -")).toBe("edited\n");
    expect(ok(await cli("exec", [name, "stat", "-c", "%a %u", "/root/hello.txt"]), "stat")).toBe("600 0\n");

    // Snapshot, change, restore (stopped), and the change is undone.
    ok(await cli("snapshot", ["create", name, "s1"]), "snapshot create");
    expect(JSON.parse(ok(await cli("snapshot", ["list", "--json", name]), "snapshot list")).map((s: { name: string }) => s.name)).toEqual(["s1"]);
    ok(await cli("exec", [name, "rm", "/root/hello.txt"]), "rm");
    const refused = await cli("snapshot", ["restore", name, "s1"]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/stop container/);
    ok(await cli("stop", ["--timeout", "3000", name]), "stop");
    ok(await cli("snapshot", ["restore", name, "s1"]), "restore");
    expect(ok(await cli("file", ["pull", name, "/root/hello.txt", "-"]), "pull after restore")).toBe("edited\n");

    // Clone, then rename the (stopped) clone; it keeps the files.
    const clone = `${name}-c`;
    const renamed = `${name}-r`;
    ok(await cli("clone", [name, clone]), "clone");
    ok(await cli("rename", [clone, renamed]), "rename");
    expect(ok(await cli("file", ["pull", renamed, "/root/hello.txt", "-"]), "pull from the renamed clone")).toBe("edited\n");

    // Export and import under another name.
    const tar = join(tmp, "export.tar");
    const imported = `${name}-i`;
    ok(await cli("export", ["--snapshots", renamed, tar]), "export");
    ok(await cli("import", [tar, imported]), "import");
    expect(ok(await cli("file", ["pull", imported, "/root/hello.txt", "-"]), "pull from the import")).toBe("edited\n");

    // Config: show (YAML and JSON, recorded and effective), set a stopped-only key and a live limit.
    expect(ok(await cli("config", ["show", name]), "config show")).toMatch(/^image: bb\nstorage: auto\ninit:\n  - \/bin\/sh\n  - "-c"\n/);
    ok(await cli("config", ["set", name, "hostname=daily-host", "env.GREETING=hi there"]), "config set (stopped)");
    const expanded = JSON.parse(ok(await cli("config", ["show", "--json", "--expanded", name]), "config show --expanded"));
    expect(expanded.hostname).toBe("daily-host");
    ok(await cli("start", [name]), "start again");
    expect(ok(await cli("exec", [name, "sh", "-c", 'hostname; echo "$GREETING"']), "hostname")).toBe("daily-host\nhi there\n");
    // A limit, kept for later starts (on the import: this host's pids controller may be bound to cgroup v1).
    expect((await cli("config", ["set", "--best-effort", imported, "limits.pids.max=64"])).code).toBe(0);
    expect(JSON.parse(ok(await cli("config", ["show", "--json", imported]), "show")).limits.pids.max).toBe(64);
    const badKey = await cli("config", ["set", name, "limits.pids.max=lots"]);
    expect(badKey.stderr).toMatch(/^warren: limits\.pids\.max: expected an integer/);
    const live = await cli("config", ["set", name, "hostname=other"]);
    expect(live.code).toBe(125);
    expect(live.stderr).toMatch(/stop it before changing its config/);

    // A login shell on a pty (script(1) gives the CLI a terminal of its own).
    const shell = await runArgv(["script", "-qec", cliArgv(root, "shell", [name]).map((a) => `'${a}'`).join(" "), "/dev/null"], {
      input: 'echo "[$HOME:$USER:$TERM:$(pwd)]"; tty; exit 7\n',
      env: { TERM: "vt100" },
    });
    expect(shell.stdout).toContain("[/root:root:vt100:/root]");
    expect(shell.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(shell.code).toBe(7);

    ok(await cli("restart", [name]), "restart");
    const listed = JSON.parse(ok(await cli("list", ["--json"]), "list")) as { name: string; state: string }[];
    expect(listed.map((c) => [c.name, c.state])).toEqual([
      [name, "running"],
      [imported, "created"],
      [renamed, "created"],
    ]);

    // Destroying a running container names the flag, not the library's option.
    const busy = await cli("destroy", [name]);
    expect(busy.code).toBe(125);
    expect(busy.stderr).toMatch(/with -f/);
    expect(busy.stderr).not.toMatch(/force: true/);
    ok(await cli("stop", [name]), "stop");
    for (const n of [name, renamed, imported]) ok(await cli("destroy", [n]), `destroy ${n}`);
    expect(JSON.parse(ok(await cli("list", ["--json"]), "list"))).toEqual([]);
  }, 180_000);
});
