import { describe, expect, it } from "vitest";

import { dumpProxyNeighRequest, parseProxyNeighs, proxyNeighRequest, RTM_DELNEIGH, RTM_NEWNEIGH } from "./neigh.js";
import { nlmsg, rtattr } from "./rtnetlink.js";

describe("proxy neighbour messages", () => {
  it("encodes `ip neigh add proxy 192.0.2.10 dev #3` as iproute2 does", () => {
    const m = proxyNeighRequest(RTM_NEWNEIGH, 7, 3, "192.0.2.10");
    // nlmsghdr: length 36, type 28, flags REQUEST|ACK|EXCL|CREATE, seq 7.
    expect(m.readUInt32LE(0)).toBe(36);
    expect(m.readUInt16LE(4)).toBe(28);
    expect(m.readUInt16LE(6)).toBe(0x1 | 0x4 | 0x200 | 0x400);
    expect(m.readUInt32LE(8)).toBe(7);
    // ndmsg: AF_INET, ifindex 3, NUD_PERMANENT, NTF_PROXY; then NDA_DST.
    expect([...m.subarray(16, 28)]).toEqual([2, 0, 0, 0, 3, 0, 0, 0, 0x80, 0, 0x08, 0]);
    expect([...m.subarray(28)]).toEqual([8, 0, 1, 0, 192, 0, 2, 10]);
    const del = proxyNeighRequest(RTM_DELNEIGH, 8, 3, "2001:db8::1");
    expect(del.readUInt16LE(6)).toBe(0x1 | 0x4);
    expect(del[16]).toBe(10);
    expect(del.readUInt16LE(28)).toBe(20);
  });

  it("asks for the proxy table only, and reads its entries back", () => {
    const dump = dumpProxyNeighRequest(1);
    expect(dump[16 + 10]).toBe(0x08);
    const entry = (flags: number) =>
      nlmsg(RTM_NEWNEIGH, 2, 1, [Buffer.from([2, 0, 0, 0, 5, 0, 0, 0, 0x80, 0, flags, 0]), rtattr(1, Buffer.from([10, 95, 0, 2]))]);
    expect(parseProxyNeighs(Buffer.concat([entry(0x08), entry(0)]))).toEqual([{ address: "10.95.0.2", index: 5 }]);
  });
});
