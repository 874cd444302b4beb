/** NICs through the device verbs: addDevice/removeDevice of `type: "nic"` are addNic/removeNic. */
import { afterAll, describe, expect, it } from "vitest";

import { Container } from "../../src/index.js";
import { busybox, cleanupAll, runtime } from "../helpers/env.js";

afterAll(async () => {
  await cleanupAll();
  // The managed bridge goes with the last container of the state root.
  await Container.gc(runtime());
});

describe("nic devices", () => {
  it("plugs and unplugs a NIC named after the device, listed with the devices", async () => {
    const c = await busybox("dev-nic");
    await c.start();
    await c.addDevice("eth1", { type: "nic", nictype: "bridged" });
    expect((await c.network()).map((i) => i.name).sort()).toEqual(["eth1", "lo"]);
    expect((await c.devices()).map((d) => [d.name, d.type, d.state])).toEqual([["eth1", "nic", "attached"]]);
    await expect(c.addDevice("eth1", { type: "unix-char", source: "/dev/fuse" })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "devices.eth1" })],
    });
    await c.removeDevice("eth1");
    expect((await c.network()).map((i) => i.name)).toEqual(["lo"]);
    expect(c.config.nics).toEqual([]);
    await c.stop({ timeout: 0 });
  });
});
