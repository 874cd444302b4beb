/**
 * Issue 11: hostile or careless values for the paths and names a config
 * carries (cwd, a mount target, the name, the hostname), generated with
 * fast-check and driven through create and start. Every refusal must be a
 * WarrenError (ConfigError up front, SetupError from the child), and a
 * refused container must leave no state directory, mount or cgroup.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { Container, WarrenError } from "../../src/index.js";
import { rootfs, runtime, stateRoot } from "../helpers/env.js";

const SEGMENTS = ["proc", "self", "thread-self", "1", "fd", "3", "cwd", "root", "dev", "stdin", "..", ".", "", "tmp", "work", "a b", "ü", "\0", "x".repeat(300)];
const segment = fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 6 }));
const path = fc
  .tuple(fc.boolean(), fc.array(segment, { maxLength: 5 }))
  .map(([absolute, parts]) => (absolute ? "/" : "") + parts.join("/"));
let serial = 0;
const name = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/).map((s) => `fz${serial++}-${process.pid}-${s}`.slice(0, 63)),
);
const hostname = fc.option(fc.oneof(fc.string({ maxLength: 70 }), fc.domain()), { nil: undefined });

const mountsOf = (dir: string) => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(dir));

describe("config paths and names through create and start", () => {
  it("are refused only with WarrenErrors, leaving nothing behind", async () => {
    const before = readdirSync(stateRoot()).sort();
    await fc.assert(
      fc.asyncProperty(name, path, path, hostname, async (n, cwd, target, host) => {
        let c: Container | undefined;
        try {
          c = await Container.create(
            n,
            {
              rootfs: { path: rootfs(), mode: "ro" },
              init: ["/bin/true"],
              cwd,
              ...(host !== undefined ? { hostname: host } : {}),
              mounts: [{ type: "tmpfs", target }],
            },
            runtime(),
          );
          await c.start({ stdio: ["ignore", "ignore", "ignore"] });
          await c.exited;
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(WarrenError);
          if (c) {
            // A refused start: no init, no cgroup, no mount of its own.
            expect(c.state).not.toBe("running");
            expect(existsSync(c.cgroupPath)).toBe(false);
            expect(mountsOf(c.stateDir)).toEqual([]);
          } else {
            expect(readdirSync(stateRoot()).sort()).toEqual(before);
          }
        } finally {
          if (c) {
            await c.destroy({ force: true });
            expect(existsSync(join(stateRoot(), n))).toBe(false);
          }
        }
      }),
      { numRuns: 60, seed: Number(process.env.WARREN_FUZZ_SEED ?? Date.now() % 1e9) },
    );
    expect(readdirSync(stateRoot()).sort()).toEqual(before);
  }, 60_000);
});
