/**
 * The OCI hooks that run inside the container (createContainer,
 * startContainer) through containerExecutor: in the container's
 * namespaces, with the state on stdin, and killed with their group on a
 * timeout.
 */
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { HookError } from "../../src/errors.js";
import { containerExecutor, runHooks, type OciState } from "../../src/oci/hooks.js";
import { busybox, cleanupAll } from "../helpers/env.js";

const dir = mkdtempSync(join(tmpdir(), "warren-hooks-kernel-"));
// The container's root is an unprivileged host id: it writes its results here.
chmodSync(dir, 0o777);
afterAll(async () => {
  await cleanupAll();
  rmSync(dir, { recursive: true, force: true });
});

function hookScript(name: string, body: string): string {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
  return `/mnt/${name}`; // its path in the container
}

describe("hooks in the container", () => {
  it("run startContainer and createContainer hooks in the container's namespaces with the state on stdin", async () => {
    const c = await busybox("hooks", { hostname: "hooked", mounts: [{ type: "bind", source: dir, target: "/mnt" }] });
    await c.start();
    const state: OciState = { ociVersion: "1.2.0", id: c.name, status: "created", pid: c.pid!, bundle: "/bundles/x", annotations: { a: "b" } };
    const hook = hookScript("inside.sh", 'cat > /mnt/$1.stdin; { hostname; readlink /proc/self/ns/mnt; echo "$A"; } > /mnt/$1.where');
    const executor = containerExecutor(c);
    for (const kind of ["createContainer", "startContainer"] as const) {
      expect(await runHooks({ [kind]: [{ path: hook, args: [hook, kind], env: ["A=from-env"] }] }, kind, state, { container: executor })).toEqual({ warnings: [] });
      expect(JSON.parse(readFileSync(join(dir, `${kind}.stdin`), "utf8"))).toEqual(state);
      const [hostname, mntns, a] = readFileSync(join(dir, `${kind}.where`), "utf8").trim().split("\n");
      expect(hostname).toBe("hooked");
      expect(mntns).toBe(readlinkSync(`/proc/${c.pid}/ns/mnt`));
      expect(mntns).not.toBe(readlinkSync("/proc/self/ns/mnt"));
      expect(a).toBe("from-env");
    }
  });

  it("kills a hook in the container that times out, and what it started", async () => {
    const c = await busybox("hookslow", { mounts: [{ type: "bind", source: dir, target: "/mnt" }] });
    await c.start();
    const hook = hookScript("slow.sh", "sleep 61 & echo started >&2; wait");
    const e = await runHooks({ startContainer: [{ path: hook, timeout: 1 }] }, "startContainer", { ociVersion: "1.2.0", id: c.name, status: "created", bundle: "/b" }, { container: containerExecutor(c) }).catch((x) => x);
    expect(e).toBeInstanceOf(HookError);
    expect(e.message).toBe(`hooks.startContainer[0] (${hook}): timed out after 1 s: started`);
    await expect.poll(async () => (await c.execOutput(["ps", "-o", "args"])).stdout).not.toContain("sleep 61");
  });

  it("fails on a hook's non-zero exit in the container", async () => {
    const c = await busybox("hookfail", { mounts: [{ type: "bind", source: dir, target: "/mnt" }] });
    await c.start();
    const hook = hookScript("fail.sh", "echo 'no such thing' >&2; exit 4");
    const e = await runHooks({ createContainer: [{ path: hook }] }, "createContainer", { ociVersion: "1.2.0", id: c.name, status: "creating", bundle: "/b" }, { container: containerExecutor(c) }).catch((x) => x);
    expect(e).toBeInstanceOf(HookError);
    expect(e).toMatchObject({ hook: "hooks.createContainer[0]", exitCode: 4, stderr: "no such thing\n" });
  });
});
