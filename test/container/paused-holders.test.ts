/**
 * Paused children that only hold a user namespace (the idmapped-mount
 * probe, the files API's mapped user namespace) spawned side by side and
 * then resumed in spawn order: each must end once its own parent end is
 * closed. A child that kept its copy of Node's fd table held the parent
 * ends of the siblings spawned before it, so the first ones resumed never
 * read EOF, the pool threads resuming them waited forever, and with more
 * of them than pool threads the whole process stopped (seen as a fleet
 * hanging at its first eight creates). Deterministic: spawning all before
 * resuming any makes every later child hold every earlier one's end.
 */
import { describe, expect, it } from "vitest";

import { idMapLine } from "../../src/linux/ids.js";
import { native } from "../../src/native/binding.js";
import { encodePlan } from "../../src/plan/encode.js";
import { CLONE, HOLD_USERNS } from "../../src/plan/ops.js";

const MAP = { hostUid: 3_000_000, hostGid: 3_000_000, size: 65536 };

describe("paused user-namespace holders", () => {
  it("all end when resumed in spawn order, however many are paused at once", { timeout: 30_000 }, async () => {
    const plan = encodePlan(HOLD_USERNS);
    const paused = [];
    for (let i = 0; i < 12; i++) {
      const p = await native().spawn(plan, { cloneFlags: CLONE.NEWUSER, uidMap: idMapLine(MAP, "uid"), gidMap: idMapLine(MAP, "gid"), pause: true });
      if ("error" in p) throw new Error(`spawn ${i}: errno ${p.error.errno}`);
      paused.push(p);
    }
    const pids = paused.map((p) => p.pid);
    const resumed = Promise.all(paused.map((p) => native().resume(p.paused, false)));
    const timedOut = new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000).unref());
    const outcome = await Promise.race([resumed.then(() => "ended" as const), timedOut]);
    if (outcome === "hung") for (const pid of pids) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    expect(outcome).toBe("ended");
  });
});
