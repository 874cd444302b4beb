import { describe, expect, it } from "vitest";

import { decodeWaitStatus } from "./exit-status.js";
import { RESTART_LIMIT, RESTART_WINDOW_MS, restartDecision } from "./restart-policy.js";
import type { ExitStatus, RuntimeState } from "./state.js";

const ended = (exit: ExitStatus | null, more: Partial<RuntimeState> = {}): RuntimeState => ({ status: "stopped", pid: 10, exit, ...more });
const NOW = 1_800_000_000_000;

describe("restartDecision", () => {
  it("follows the policy", () => {
    const clean = ended({ code: 0, signal: null, reason: "exit" });
    const failed = ended({ code: 1, signal: null, reason: "exit" });
    const killed = ended({ code: null, signal: "SIGKILL", reason: "kill" });
    const poweroff = ended({ code: null, signal: "SIGINT", reason: "halt" });
    const unknown = ended({ code: null, signal: null });
    const onFailure = { restart: "on-failure", onReboot: "restart" } as const;
    expect([clean, failed, killed, poweroff, unknown].map((s) => restartDecision(onFailure, s, NOW).restart)).toEqual([false, true, true, false, true]);
    const always = { restart: "always", onReboot: "restart" } as const;
    expect([clean, failed, killed, poweroff, unknown].map((s) => restartDecision(always, s, NOW).restart)).toEqual([true, true, true, true, true]);
    const no = { restart: "no", onReboot: "restart" } as const;
    expect([clean, failed, killed].map((s) => restartDecision(no, s, NOW).restart)).toEqual([false, false, false]);
  });

  it("answers a reboot from inside by onReboot, whatever the policy", () => {
    const reboot = ended({ code: null, signal: "SIGHUP", reason: "reboot" });
    expect(restartDecision({ restart: "no", onReboot: "restart" }, reboot, NOW)).toEqual({ restart: true, restarts: [NOW] });
    expect(restartDecision({ restart: "always", onReboot: "stop" }, reboot, NOW)).toEqual({ restart: false });
  });

  it("never restarts after a stop or destroy through warren", () => {
    const s = ended({ code: null, signal: "SIGKILL", reason: "kill" }, { stopRequested: "kill" });
    expect(restartDecision({ restart: "always", onReboot: "restart" }, s, NOW)).toEqual({ restart: false });
  });

  it("refuses the 11th restart within a minute and forgets older ones", () => {
    const config = { restart: "always", onReboot: "restart" } as const;
    const ten = Array.from({ length: RESTART_LIMIT }, (_, i) => NOW - 1000 * i);
    expect(restartDecision(config, ended(null, { restarts: ten }), NOW)).toEqual({ restart: false, refused: "restart-limit" });
    const nine = ten.slice(0, 9);
    expect(restartDecision(config, ended(null, { restarts: nine }), NOW)).toEqual({ restart: true, restarts: [...nine, NOW] });
    const old = [...nine, NOW - RESTART_WINDOW_MS];
    expect(restartDecision(config, ended(null, { restarts: old }), NOW)).toEqual({ restart: true, restarts: [...nine, NOW] });
  });
});

describe("decodeWaitStatus", () => {
  it("reads an exit code or a signal", () => {
    expect(decodeWaitStatus(3 << 8)).toEqual({ code: 3, signal: null });
    expect(decodeWaitStatus(9)).toEqual({ code: null, signal: "SIGKILL" });
    expect(decodeWaitStatus(1 | 0x80)).toEqual({ code: null, signal: "SIGHUP" }); // core dumped
  });
});
