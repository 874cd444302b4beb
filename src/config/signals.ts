/**
 * Signal names as users write them (`"SIGTERM"`, `"SIGRTMIN+3"`) to numbers.
 * Node's table lacks the real-time signals systemd uses; glibc's SIGRTMIN is
 * 34 (the kernel's 32 and 33 are kept by the C library), and systemd's
 * SIGRTMIN+3 is therefore 37.
 * @module
 */
import { constants } from "node:os";

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** The number of a signal name, or `undefined` when it is not one. */
export function signalNumber(name: string | number): number | undefined {
  if (typeof name === "number") return Number.isInteger(name) && name > 0 && name <= SIGRTMAX ? name : undefined;
  const upper = name.toUpperCase();
  const full = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(full);
  if (rt) {
    const base = rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
    const off = rt[3] ? Number(rt[3]) * (rt[2] === "-" ? -1 : 1) : 0;
    const n = base + off;
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  const n = (constants.signals as Record<string, number>)[full];
  return typeof n === "number" ? n : undefined;
}

/** Node's name for a signal number (`SIGRTMIN+3` style for real-time ones). */
export function signalName(n: number): NodeJS.Signals | string {
  for (const [k, v] of Object.entries(constants.signals)) if (v === n) return k as NodeJS.Signals;
  if (n >= SIGRTMIN && n <= SIGRTMAX) return `SIGRTMIN+${n - SIGRTMIN}`;
  return `SIG${n}`;
}
