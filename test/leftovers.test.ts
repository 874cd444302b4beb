/**
 * Runs last (see vitest.config.ts): the whole kernel suite must leave no
 * mount, cgroup or container process behind on the host.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { expect, inject, it } from "vitest";

import { leftovers, snapshot, type Snapshot } from "./helpers/leftovers.js";

it("leaves no mount, cgroup directory or container process behind", async () => {
  const before = JSON.parse(inject("baseline")) as Snapshot;
  // Namespaces and cgroups of the last containers go away asynchronously.
  let left: string[] = [];
  for (let i = 0; i < 50; i++) {
    left = leftovers(before, snapshot());
    if (left.length === 0) break;
    await sleep(100);
  }
  expect(left).toEqual([]);
});
