/**
 * The embedded default rootfs: the host's /usr bound read-only, the
 * container's own writable /etc, /var, /tmp, /root; nothing downloaded.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { cleanupAll, runtime, uniqueName } from "../helpers/env.js";

afterAll(cleanupAll);

describe("embedded default rootfs", () => {
  it("runs the host's programs with a writable /etc and a read-only /usr", async () => {
    await using c = await Container.create(uniqueName("emb"), { stopTimeout: 3000 }, runtime());
    expect(c.config.rootfs).toBeUndefined();
    // The skeleton belongs to the container's root.
    expect(statSync(join(c.stateDir, "rootfs/etc")).uid).toBe(c.idmap!.hostUid);
    await c.start();
    const r = await c.execOutput([
      "sh",
      "-c",
      "cat /etc/hostname; id -un; echo x > /etc/written && echo etc-ok; touch /usr/nope 2>/dev/null || echo usr-ro; ls /usr/bin/env >/dev/null && echo usr-ok; grep -q ' / ' /proc/self/mountinfo && echo root-ok",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${c.name}\nroot\netc-ok\nusr-ro\nusr-ok\nroot-ok\n`);
    // The write went to the container's own /etc, not the host's.
    expect(existsSync("/etc/written")).toBe(false);
    expect(existsSync(join(c.stateDir, "rootfs/etc/written"))).toBe(true);
    // Node itself runs in there, from the host's /usr.
    const node = await c.execOutput([process.execPath, "-e", "console.log(process.pid > 0 && require('os').hostname())"]);
    expect(node).toMatchObject({ code: 0, stdout: `${c.name}\n` });
    // The idle init obeys SIGTERM: stop is graceful.
    expect(await c.stop()).toEqual({ code: 0, signal: null, reason: "halt" });
  });
});

describe("ephemeral containers", () => {
  it("are killed when the Node process that started them exits", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const { writeFileSync } = await import("node:fs");
    const { resolve } = await import("node:path");
    const repo = resolve(import.meta.dirname, "../..");
    const name = uniqueName("eph-exit");
    const file = join(runtime().root, `${name}.mts`);
    writeFileSync(
      file,
      `import { Container } from ${JSON.stringify(join(repo, "src/index.ts"))};
       const c = await Container.create(${JSON.stringify(name)}, { ephemeral: true }, { root: ${JSON.stringify(runtime().root)} });
       await c.start();
       console.log(c.pid);
       process.exit(0);`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", file], { cwd: repo });
    const pid = Number(stdout.trim());
    expect(pid).toBeGreaterThan(0);
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    // Its leftovers are swept up by the next list().
    const names = (await Container.list(runtime())).map((c) => c.name);
    expect(names).not.toContain(name);
    expect(existsSync(join(runtime().root, name))).toBe(false);
  });
});
