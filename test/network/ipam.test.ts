/**
 * Leases from two Node processes at once: the flock around every
 * read-modify-write of the lease file keeps addresses distinct.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, it } from "vitest";

import { cidrContains, LeaseStore } from "../../src/network/ipam.js";

const repo = resolve(import.meta.dirname, "../..");
const ipam = join(repo, "src/network/ipam.ts");
const dir = mkdtempSync(join(tmpdir(), "warren-ipam-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A child: waits for a common start time, then ensures the network and allocates `count` leases, printing them as JSON. */
const CHILD = `
const [ipamPath, dir, prefix, count, startAt] = process.argv.slice(1);
const { LeaseStore } = await import(ipamPath);
const store = new LeaseStore(dir);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
await store.ensureNetwork("br", { subnet: "10.117.0.0/24", subnet6: "fd42:1:2::/64" });
const out = [];
for (let i = 0; i < Number(count); i++) {
  const name = prefix + "-" + i;
  out.push({ name, ...(await store.allocate("br", name)) });
}
process.stdout.write(JSON.stringify(out));
`;

function child(prefix: string, count: number, startAt: number): Promise<{ name: string; ipv4: string; ipv6?: string; mac: string }[]> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD, ipam, dir, prefix, String(count), String(startAt)], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 25_000,
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr.on("data", (b: Buffer) => (err += b.toString()));
    p.on("error", reject);
    p.on("close", (code, signal) => {
      if (code !== 0) reject(new Error(`child ${prefix} exited with ${code ?? signal}: ${err}`));
      else resolvePromise(JSON.parse(out));
    });
  });
}

it("hands out 50 distinct addresses to two processes allocating in parallel", async () => {
  const startAt = Date.now() + 2000; // both children have loaded tsx by then
  const [a, b] = await Promise.all([child("p1", 25, startAt), child("p2", 25, startAt)]);
  const all = [...a, ...b];
  expect(all).toHaveLength(50);
  expect(new Set(all.map((l) => l.ipv4)).size).toBe(50);
  expect(new Set(all.map((l) => l.ipv6)).size).toBe(50);
  expect(new Set(all.map((l) => l.mac)).size).toBe(50);
  for (const l of all) {
    expect(cidrContains("10.117.0.0/24", l.ipv4)).toBe(true);
    expect(l.ipv4).not.toBe("10.117.0.1");
    expect(cidrContains("fd42:1:2::/64", l.ipv6!)).toBe(true);
  }
  // The lowest 50 host addresses after the gateway, nothing lost or doubled.
  const last = all.map((l) => Number(l.ipv4.split(".")[3])).sort((x, y) => x - y);
  expect(last).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));

  // The file agrees with what the children were told.
  const rec = await new LeaseStore(dir).leases("br");
  expect(Object.keys(rec!.leases)).toHaveLength(50);
  for (const l of all) expect(rec!.leases[l.name]).toEqual({ ipv4: l.ipv4, ipv6: l.ipv6, mac: l.mac });
  // On disk: one line per change, nothing rewritten.
  expect(readFileSync(join(dir, "br.json"), "utf8").split("\n").filter(Boolean).length).toBe(1 + 1 + 50); // id, network, one line per lease
});
