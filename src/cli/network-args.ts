/**
 * The network flags of `run` and `create` (`--net`, `--nic`, `-p`, `--dns`)
 * and the NIC SPEC that `nic add` takes too. A NIC is checked against the
 * library's schema here, so this module loads zod: only the commands that
 * make or change NICs import it.
 * @module
 */
import { isIP } from "node:net";

import type { ContainerConfig } from "../config/schema.js";
import { nicSchema, type NicInput } from "../config/nic.js";
import { UsageError, type SplitArgs } from "./args.js";

/** A port forward as `config.ports` takes it. */
export type PortInput = NonNullable<ContainerConfig["ports"]>[number];

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV4_OR_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/([12]?\d|3[0-2]))?$/;

/** The keys each NIC type takes in a `--nic` SPEC, in the order the help lists them. */
const NIC_KEYS = {
  bridged: ["name", "bridge", "ipv4", "subnet", "subnet6", "gateway", "mac", "mtu"],
  macvlan: ["parent", "name", "ipv4", "gateway", "mac", "mtu"],
  physical: ["parent", "name", "ipv4", "gateway", "mtu"],
  routed: ["ipv4", "ipv6", "parent", "name", "gateway", "gateway6", "mac", "mtu"],
} as const;

type NicType = keyof typeof NIC_KEYS;

/**
 * A NIC SPEC: `TYPE[,KEY=VALUE]...`, like `bridged,name=eth1,mtu=1400` or
 * `macvlan,parent=enp1s0,ipv4=192.168.5.20/24`. `flag` names the flag (or
 * command) in errors.
 */
export function parseNic(spec: string, flag = "--nic"): NicInput {
  const q = JSON.stringify(spec);
  const [type, ...parts] = spec.split(",");
  if (!type || !Object.hasOwn(NIC_KEYS, type)) {
    throw new UsageError(`${flag}: unknown NIC type ${JSON.stringify(type ?? "")} in ${q} (expected bridged, macvlan, physical or routed)`);
  }
  const keys: readonly string[] = NIC_KEYS[type as NicType];
  const nic: Record<string, string | number> = { type };
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag}: expected KEY=VALUE, got ${JSON.stringify(part)} in ${q}`);
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!keys.includes(key)) {
      throw new UsageError(`${flag}: unknown key ${JSON.stringify(key)} in ${q}`);
    }
    if (Object.hasOwn(nic, key)) throw new UsageError(`${flag}: ${key} given twice in ${q}`);
    if (value === "") throw new UsageError(`${flag}: ${key} needs a value in ${q}`);
    if (key === "mtu") {
      if (!/^\d+$/.test(value) || Number(value) < 576 || Number(value) > 65535) {
        throw new UsageError(`${flag}: mtu=${JSON.stringify(value)}: expected a number from 576 to 65535 in ${q}`);
      }
      nic[key] = Number(value);
    } else if (key === "ipv4" && type === "bridged" && !IPV4_OR_CIDR.test(value)) {
      throw new UsageError(`${flag}: ipv4=${JSON.stringify(value)}: must be an IPv4 address, or ADDRESS/PREFIX on a bridge of your own, in ${q}`);
    } else {
      nic[key] = value;
    }
  }
  if ((type === "macvlan" || type === "physical") && nic.parent === undefined) {
    throw new UsageError(`${flag}: ${type} needs parent=IF (the host interface) in ${q}`);
  }
  // The library's own checks (interface names, MAC, addresses, MTU range),
  // reported against the key that failed.
  const parsed = nicSchema.safeParse(nic);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join(".");
    throw new UsageError(`${flag}: ${key ? `${key}=${JSON.stringify(String(nic[key] ?? ""))}: ` : ""}${issue.message} in ${q}`);
  }
  return nic as NicInput;
}

const PUBLISH = "-p/--publish";

function parsePort(s: string, what: string, q: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) {
    throw new UsageError(`${PUBLISH}: bad ${what} port ${JSON.stringify(s)} in ${q} (expected 1-65535)`);
  }
  return n;
}

/**
 * `[HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp]` (like docker's `-p`), to a
 * port forward: `127.0.0.1:8080:80` forwards the host's 127.0.0.1:8080,
 * `8080:80/udp` UDP port 8080 on every host address.
 */
export function parsePublish(s: string): PortInput {
  const q = JSON.stringify(s);
  let rest = s;
  let proto: "tcp" | "udp" = "tcp";
  const slash = s.lastIndexOf("/");
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (p !== "tcp" && p !== "udp") throw new UsageError(`${PUBLISH}: unknown protocol ${JSON.stringify(p)} in ${q} (expected tcp or udp)`);
    proto = p;
    rest = s.slice(0, slash);
  }
  const parts = rest.split(":");
  if (parts.length < 2 || parts.length > 3) {
    throw new UsageError(`${PUBLISH}: expected [HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp], got ${q}`);
  }
  const [addr, hostPort, containerPort] = parts.length === 3 ? parts : [undefined, ...parts];
  if (addr !== undefined && !IPV4.test(addr)) {
    throw new UsageError(`${PUBLISH}: bad host address ${JSON.stringify(addr)} in ${q} (expected an IPv4 address like 127.0.0.1)`);
  }
  const hp = parsePort(hostPort!, "host", q);
  const cp = parsePort(containerPort!, "container", q);
  return { host: addr === undefined ? String(hp) : `${addr}:${hp}`, container: cp, proto };
}

/** `--dns IP`: an IPv4 or IPv6 address. */
export function parseDns(s: string): string {
  if (isIP(s) === 0) throw new UsageError(`--dns: expected an IP address, got ${JSON.stringify(s)}`);
  return s;
}

/** What the network flags ask for. */
export interface NetworkFlags {
  nics: NicInput[];
  ports: PortInput[];
  dns: string[];
}

function nicNameOf(nic: NicInput): string {
  return nic.name ?? (nic.type === "physical" ? nic.parent : "eth0");
}

/**
 * `--net bridged` (one default bridged NIC, first), `--nic SPEC`...,
 * `-p`... and `--dns`... Publishing a port without a bridged NIC adds a
 * default bridged one (named eth0, or the first free ethN).
 */
export function networkFromFlags(values: SplitArgs["values"]): NetworkFlags {
  const nics: NicInput[] = [];
  const net = values.net as string | undefined;
  if (net !== undefined) {
    if (net !== "bridged") {
      throw new UsageError(
        `--net: expected bridged, got ${JSON.stringify(net)} (other NICs are --nic SPEC; the host's network is --share-net)`,
      );
    }
    nics.push({ type: "bridged" });
  }
  for (const spec of (values.nic as string[] | undefined) ?? []) nics.push(parseNic(spec));
  const ports = ((values.publish as string[] | undefined) ?? []).map(parsePublish);
  const dns = ((values.dns as string[] | undefined) ?? []).map(parseDns);

  if (ports.length > 0 && !nics.some((n) => n.type === "bridged")) {
    const taken = new Set(nics.map(nicNameOf));
    let i = 0;
    while (taken.has(`eth${i}`)) i++;
    nics.push(i === 0 ? { type: "bridged" } : { type: "bridged", name: `eth${i}` });
  }
  const seen = new Set<string>();
  for (const n of nics) {
    const name = nicNameOf(n);
    if (seen.has(name)) {
      throw new UsageError(`--nic: interface name ${name} used twice${net !== undefined ? " (--net bridged is eth0)" : ""}; give one a name=`);
    }
    seen.add(name);
  }
  const seenPorts = new Set<string>();
  for (const p of ports) {
    const key = `${p.host}/${p.proto}`;
    if (seenPorts.has(key)) throw new UsageError(`${PUBLISH}: host port ${key} published twice`);
    seenPorts.add(key);
  }
  if (values["share-net"] && (nics.length > 0 || ports.length > 0)) {
    const what = ports.length > 0 ? PUBLISH : net !== undefined ? "--net" : "--nic";
    throw new UsageError(`${what} needs the container's own network: it cannot be used with --share-net`);
  }
  return { nics, ports, dns };
}
