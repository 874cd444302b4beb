import { describe, expect, it } from "vitest";

import { resolveConfig } from "../config/resolve.js";
import { managedNetwork, nicName, vethName } from "./manager.js";
import { configIssues } from "../config/testing.js";

const issues = configIssues;

describe("network configuration", () => {
  it("fills NIC defaults and normalizes port forwards", () => {
    const c = resolveConfig({ nics: [{ type: "bridged" }, { type: "physical", parent: "enp3s0" }], ports: [{ host: 8080, container: 80 }, { host: "127.0.0.1:53", container: 53, proto: "udp" }] });
    expect(c.nics[0]).toEqual({ type: "bridged", name: "eth0" });
    expect(nicName(c.nics[1]!)).toBe("enp3s0");
    expect(c.ports).toEqual([
      { host: "0.0.0.0:8080", container: 80, proto: "tcp" },
      { host: "127.0.0.1:53", container: 53, proto: "udp" },
    ]);
  });

  it("names bad NIC fields and cross-field problems", () => {
    expect(issues({ nics: [{ type: "bridged", name: "a-very-long-interface-name" }] })[0]?.path).toBe("nics[0].name");
    expect(issues({ nics: [{ type: "macvlan" }] })[0]?.path).toBe("nics[0].parent");
    expect(issues({ nics: [{ type: "bridged", mac: "01:00:00:00:00:01" }] })[0]).toMatchObject({ path: "nics[0].mac", message: "must be a unicast MAC address" });
    expect(issues({ nics: [{ type: "bridged" }, { type: "bridged" }] })[0]).toMatchObject({ path: "nics[1].name" });
    expect(issues({ ports: [{ host: 80, container: 80 }] })[0]).toMatchObject({ path: "ports", message: "port forwards need a bridged NIC" });
    expect(issues({ ports: [{ host: "localhost:80", container: 80 }], nics: [{ type: "bridged" }] })[0]?.path).toBe("ports[0].host");
    expect(issues({ nics: [{ type: "bridged" }], namespaces: { net: false } })[0]?.path).toBe("nics");
  });

  it("takes a routed NIC with a static address and link-local gateways by default", () => {
    const c = resolveConfig({ nics: [{ type: "routed", ipv4: "192.0.2.10", ipv6: "2001:db8::10", parent: "eth0" }] });
    expect(c.nics[0]).toEqual({ type: "routed", name: "eth0", ipv4: "192.0.2.10", ipv6: "2001:db8::10", parent: "eth0", gateway: "169.254.0.1", gateway6: "fe80::1" });
    expect(issues({ nics: [{ type: "routed" }] })[0]?.path).toBe("nics[0].ipv4");
    expect(issues({ nics: [{ type: "routed", ipv4: "192.0.2.10/24" }] })[0]?.path).toBe("nics[0].ipv4");
    expect(issues({ nics: [{ type: "routed", ipv4: "192.0.2.10", ipv6: "2001:db8::g" }] })[0]?.path).toBe("nics[0].ipv6");
    expect(issues({ nics: [{ type: "routed", ipv4: "192.0.2.10", subnet: "10.0.0.0/24" }] })[0]?.path).toBe("nics[0].subnet");
  });
});

describe("names", () => {
  it("gives the default root warren0 and other roots their own bridge and table", () => {
    expect(managedNetwork({ root: "/var/lib/warren", cgroupParent: "warren" })).toMatchObject({ bridge: "warren0", table: "warren" });
    const other = managedNetwork({ root: "/tmp/x", cgroupParent: "warren-1234" });
    expect(other.bridge).toMatch(/^wr[0-9a-f]{8}$/);
    expect(other.table).toMatch(/^warren_[0-9a-f]{8}$/);
    expect(other.defaultSubnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    const v = vethName({ root: "/tmp/x", cgroupParent: "w" }, "web", "eth0");
    expect(v.length).toBeLessThanOrEqual(15);
    // A stable part naming container and NIC, a random part per run.
    const again = vethName({ root: "/tmp/x", cgroupParent: "w" }, "web", "eth0");
    expect(again.slice(0, 10)).toBe(v.slice(0, 10));
    expect(vethName({ root: "/tmp/x", cgroupParent: "w" }, "web", "eth1").slice(0, 10)).not.toBe(v.slice(0, 10));
  });
});
