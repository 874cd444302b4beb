/**
 * Issue 11 item 7: until it execs, a process warren starts in a container is
 * a clone of Node (its memory, and /proc/<pid>/exe the host's `node`). The
 * attacker: container root racing to reach that process through /proc, and a
 * container binary whose `#!` line names /proc/self/exe.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

import { SetupError } from "../../src/index.js";
import { busybox, cleanupAll, debian, debianSkipReason, IDLE } from "../helpers/env.js";

afterAll(cleanupAll);

// Finds the held exec (its command line is this test's fixture, shared
// memory being Node's; the pattern is split so this shell's own command
// line does not match), then tries what ptrace access would allow.
const ATTACKER = `
pat="exec-""window"; v=""; n=0
while [ -z "$v" ] && [ $n -lt 500 ]; do
  for d in /proc/[0-9]*; do
    case "$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)" in *"$pat"*) v=\${d#/proc/};; esac
  done
  n=$((n+1)); [ -z "$v" ] && usleep 20000
done
echo "victim:$v"
readlink /proc/$v/exe && echo EXE-LINK
head -c 1 /proc/$v/exe >/dev/null 2>&1 && echo EXE-READ
head -c 1 /proc/$v/maps >/dev/null 2>&1 && echo MAPS-READ
head -c 1 /proc/$v/environ >/dev/null 2>&1 && echo ENVIRON-READ
ls /proc/$v/fd >/dev/null 2>&1 && echo FD-LIST
cat /tmp/fifo >/dev/null
`;

describe("the process an exec puts in the container, before it execs", () => {
  it("cannot be reached through /proc by container root, even as unmapped host root in the container's pid namespace", async () => {
    const c = await busybox("exe-race", { mounts: [{ type: "tmpfs", target: "/tmp" }] });
    await c.start();
    await c.execOutput(["mkfifo", "/tmp/fifo"], { check: true });
    const attacker = c.execOutput(["sh", "-c", ATTACKER]);
    const fixture = join(import.meta.dirname, "fixtures/exec-window.ts");
    // A fresh Node process: this one has started containers, and a
    // credential change in a child sharing its memory already made it
    // non-dumpable (fs.suid_dumpable 0), which would hide the attack.
    const victim = promisify(execFile)(process.execPath, ["--import", "tsx", fixture, String(c.pid), "/tmp/fifo"], { timeout: 20_000 });
    const [a, v] = await Promise.all([attacker, victim]);
    expect(v.stderr).toBe("");
    expect(a.stdout).toMatch(/^victim:\d+$/m);
    for (const got of ["EXE-LINK", "EXE-READ", "MAPS-READ", "ENVIRON-READ", "FD-LIST"]) expect(a.stdout).not.toContain(got);
    await c.stop();
  });

  it("running the host's node through `#!/proc/self/exe` cannot open that binary for writing", async () => {
    // Node needs its ELF interpreter and libraries from the container's
    // root: the Debian image has them, busybox does not (execve fails).
    const config = { init: IDLE, mounts: [{ type: "tmpfs" as const, target: "/tmp" }] };
    const c = debianSkipReason() === undefined ? await debian("exe-shebang", config) : await busybox("exe-shebang", config);
    await c.start();
    const probe = [
      "#!/proc/self/exe",
      'const fs = require("fs");',
      'let w = "WRITABLE"; try { fs.closeSync(fs.openSync("/proc/self/exe", "r+")); } catch (e) { w = e.code; }',
      'console.log("ran:", process.execPath, "write:", w);',
    ].join("\n");
    await c.execOutput(["sh", "-c", "cat > /tmp/trick && chmod 755 /tmp/trick"], { input: probe, check: true });
    const r = await c.execOutput(["/tmp/trick"]).catch((e: unknown) => e);
    if (r instanceof SetupError) {
      expect(r.errno).toBe("ENOENT"); // no ld.so or libraries for Node in this rootfs
    } else {
      expect((r as { stdout: string }).stdout).toMatch(/^ran: .* write: (EACCES|ETXTBSY)$/m);
    }
    await c.stop();
  });
});
