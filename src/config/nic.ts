/**
 * Network configuration: a list of NICs, LXD-style, and port forwards.
 * No NIC means the container's own network namespace with only `lo` up;
 * sharing the host's network is `namespaces.net: false`.
 * @module
 */
import { isIPv6 } from "node:net";
import { z } from "zod";

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const ifname = z.string().regex(IFNAME, "must be an interface name (1-15 letters, digits, `_`, `.`, `-`)");
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
const mac = z
  .string()
  .regex(MAC, "must be a MAC address like 02:16:3e:00:00:01")
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, "must be a unicast MAC address");
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const ipv4 = z.string().regex(IPV4, "must be an IPv4 address");
const cidr4 = z.string().refine((s) => {
  const [a, p] = s.split("/");
  return IPV4.test(a ?? "") && /^\d+$/.test(p ?? "") && Number(p) <= 32;
}, "must be an IPv4 address with a prefix length, like 10.0.0.2/24");
const cidr6 = z.string().refine((s) => /^[0-9a-fA-F:]+\/\d{1,3}$/.test(s) && Number(s.split("/")[1]) <= 128, "must be an IPv6 prefix like fd42:1::/64");
const mtu = z.number().int().min(576).max(65535);

export const bridgedNicSchema = z.strictObject({
  type: z.literal("bridged"),
  /** Name inside the container. */
  name: ifname.default("eth0"),
  /**
   * The bridge: omitted, warren's managed bridge (created on first use, with
   * addresses handed out by warren and outbound NAT); or the name of an
   * existing bridge on the host, managed by someone else.
   */
  bridge: ifname.optional(),
  /** The managed bridge's IPv4 subnet when warren creates it (default 10.117.0.0/24 style, see docs). */
  subnet: cidr4.optional(),
  /** An IPv6 ULA prefix for the managed bridge when warren creates it. */
  subnet6: cidr6.optional(),
  /** A static address (`10.117.0.50`) on the managed bridge, or `address/prefix` on another bridge. Default: allocated. */
  ipv4: z.string().optional(),
  /** Default route via this address (default: the managed bridge's gateway). */
  gateway: ipv4.optional(),
  mtu: mtu.optional(),
  mac: mac.optional(),
});

export const macvlanNicSchema = z.strictObject({
  type: z.literal("macvlan"),
  name: ifname.default("eth0"),
  /** The host interface it sits on. */
  parent: ifname,
  mode: z.literal("bridge").default("bridge"),
  /** Address with prefix (`192.168.5.20/24`); none by default. */
  ipv4: cidr4.optional(),
  gateway: ipv4.optional(),
  mtu: mtu.optional(),
  mac: mac.optional(),
});

export const physicalNicSchema = z.strictObject({
  type: z.literal("physical"),
  /** The host interface moved into the container for its lifetime. */
  parent: ifname,
  /** Name inside the container (default: the host name). */
  name: ifname.optional(),
  ipv4: cidr4.optional(),
  gateway: ipv4.optional(),
  mtu: mtu.optional(),
});

const ipv6 = z.string().refine((s) => isIPv6(s) && !s.includes("%"), "must be an IPv6 address like 2001:db8::10");

/**
 * A veth whose host end is not on any bridge: the host routes the
 * container's own addresses (/32, /128) to it, and the container's default
 * route goes through link-local gateways on that end (Incus's
 * `nictype=routed`). No bridge, so no port limit; no NAT: the addresses are
 * meant to be reachable as they are.
 */
export const routedNicSchema = z.strictObject({
  type: z.literal("routed"),
  name: ifname.default("eth0"),
  /** The container's IPv4 address (static; given as `A.B.C.D`, used as /32). */
  ipv4: ipv4,
  /** The container's IPv6 address (used as /128). */
  ipv6: ipv6.optional(),
  /** A host interface on which the host answers ARP/NDP for the addresses (proxy entries), so the segment behind it reaches the container. */
  parent: ifname.optional(),
  /** The host end's IPv4 address and the container's default gateway (default 169.254.0.1). */
  gateway: ipv4.default("169.254.0.1"),
  /** The host end's IPv6 address and the container's IPv6 gateway (default fe80::1). */
  gateway6: ipv6.default("fe80::1"),
  mtu: mtu.optional(),
  mac: mac.optional(),
});

export const nicSchema = z.discriminatedUnion("type", [bridgedNicSchema, macvlanNicSchema, physicalNicSchema, routedNicSchema]);

const hostEndpoint = z
  .union([z.number().int().min(1).max(65535), z.string()])
  .transform((v) => (typeof v === "number" ? `0.0.0.0:${v}` : v.includes(":") ? v : `0.0.0.0:${v}`))
  .refine((v) => {
    const [addr, port] = v.split(":");
    return IPV4.test(addr ?? "") && /^\d+$/.test(port ?? "") && Number(port) >= 1 && Number(port) <= 65535;
  }, "must be PORT or IPV4:PORT, like 8080 or 127.0.0.1:8080");

export const portSchema = z.strictObject({
  /** Host side: `8080` (every address) or `127.0.0.1:8080`. */
  host: hostEndpoint,
  /** Port inside the container (on its first bridged NIC's address). */
  container: z.number().int().min(1).max(65535),
  proto: z.enum(["tcp", "udp"]).default("tcp"),
});

export type NicConfig = z.output<typeof nicSchema>;
export type NicInput = z.input<typeof nicSchema>;
export type PortConfig = z.output<typeof portSchema>;
