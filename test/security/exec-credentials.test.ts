/**
 * Issue 11 item 9: `noNewPrivileges` must hold for a non-root user whatever
 * started the process. The exec'd process used to join the user namespace
 * as unmapped host root, so its switch to uid 1000 was not a root ->
 * non-root change, its permitted set (full, from setns) survived, and
 * with no_new_privs a file capability was still granted (the kernel keeps
 * new ∩ old permitted). The attacker: a container user running a program
 * with a file capability directly, and through `sh -c`.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Container } from "../../src/index.js";
import { native } from "../../src/native/binding.js";
import { busybox, cleanupAll } from "../helpers/env.js";
import { copyRootfs, type RootfsCopy } from "../helpers/rootfs-copy.js";

const CAP_NET_RAW = 13n;
/** A program with `cap_net_raw=ep`: busybox, whose applet is its name, as `cat`. */
const PROGRAM = "/opt/fcap/cat";
let root: RootfsCopy;

/** security.capability, revision 2 (what `setcap cap_net_raw=ep` writes as host root). */
function fileCapability(cap: bigint): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(0x02000000 | 0x1, 0); // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
  b.writeUInt32LE(Number(1n << cap), 4); // permitted, low word
  return b;
}

beforeAll(() => {
  root = copyRootfs("fcap");
  mkdirSync(join(root.path, "opt/fcap"), { recursive: true });
  copyFileSync(join(root.path, "bin/busybox"), join(root.path, PROGRAM));
  native().lsetxattr(join(root.path, PROGRAM), "security.capability", fileCapability(CAP_NET_RAW));
});

afterAll(async () => {
  await cleanupAll();
  root.remove();
});

interface Caps {
  permitted: bigint;
  effective: bigint;
  noNewPrivs: boolean;
}

function capsOf(status: string): Caps {
  const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)$`, "m").exec(status)?.[1];
  const hex = (name: string) => BigInt(`0x${field(name) ?? "x"}`);
  return { permitted: hex("CapPrm"), effective: hex("CapEff"), noNewPrivs: field("NoNewPrivs") === "1" };
}

const hasNetRaw = (c: Caps) => ((c.permitted | c.effective) >> CAP_NET_RAW) & 1n;
const DIRECT = [PROGRAM, "/proc/self/status"];
const SHELL = ["/bin/sh", "-c", `${PROGRAM} /proc/self/status`];

const container = (prefix: string, noNewPrivileges: boolean, init?: string[]) =>
  busybox(prefix, {
    rootfs: { path: root.path, mode: "ro" },
    noNewPrivileges,
    ...(init ? { init, user: { uid: 1000, gid: 1000 } } : {}),
  });

async function initStatus(c: Container): Promise<string> {
  await c.start({ stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  c.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  await new Promise((resolve) => c.stdout!.on("close", resolve));
  await c.exited;
  return out;
}

describe("a file capability under noNewPrivileges, as uid 1000", () => {
  it("is not granted to an exec'd process, run directly or through sh -c", async () => {
    const c = await container("nnp-exec", true);
    await c.start();
    for (const argv of [DIRECT, SHELL]) {
      const r = await c.execOutput(argv, { user: 1000 });
      expect(r.code, r.stderr).toBe(0);
      const caps = capsOf(r.stdout);
      expect(caps.noNewPrivs, argv.join(" ")).toBe(true);
      expect(hasNetRaw(caps), argv.join(" ")).toBe(0n);
      expect(caps.permitted, argv.join(" ")).toBe(0n);
    }
    await c.stop();
  });

  it("is not granted to an init, run directly or through sh -c", async () => {
    for (const init of [DIRECT, SHELL]) {
      const caps = capsOf(await initStatus(await container("nnp-init", true, init)));
      expect(caps.noNewPrivs, init.join(" ")).toBe(true);
      expect(caps.permitted, init.join(" ")).toBe(0n);
    }
  });

  it("is granted without noNewPrivileges (so the checks above can fail), and only the file's capability", async () => {
    const c = await container("nnp-off", false);
    await c.start();
    for (const argv of [DIRECT, SHELL]) {
      const caps = capsOf((await c.execOutput(argv, { user: 1000 })).stdout);
      expect(caps.noNewPrivs).toBe(false);
      expect(caps.permitted, argv.join(" ")).toBe(1n << CAP_NET_RAW);
    }
    // The shell that ran it kept nothing from joining the namespaces.
    expect(capsOf((await c.execOutput(["cat", "/proc/self/status"], { user: 1000 })).stdout).permitted).toBe(0n);
    await c.stop();
    const caps = capsOf(await initStatus(await container("nnp-off-init", false, DIRECT)));
    expect(caps.permitted).toBe(1n << CAP_NET_RAW);
  });
});
