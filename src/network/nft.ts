/**
 * Outbound NAT for warren's bridges and inbound port forwards to containers,
 * in one nftables table that warren owns (`inet warren` by default: family
 * `inet` holds the IPv4 and the IPv6 rules). Everything goes through the
 * `nft` binary (Debian's `nftables` package) with a script on stdin, so each
 * change is one atomic transaction; nothing outside warren's table is ever
 * read or changed.
 *
 * The table:
 *
 *     chain postrouting  type nat hook postrouting priority srcnat     jumps to br_<b>_nat4/_nat6, ct_<c>_post
 *     chain prerouting   type nat hook prerouting priority dstnat      jumps to ct_<c>_pre
 *     chain output       type nat hook output priority -100 (dstnat)   jumps to ct_<c>_out
 *     chain forward      type filter hook forward priority filter; policy accept   jumps to br_<b>_fwd
 *     chain guard        type filter hook prerouting priority raw      jumps to br_<b>_guard
 *
 *     br_<b>_nat4   ip saddr <subnet> ip daddr != <subnet> oifname != <b> masquerade   (outbound NAT)
 *                   ip saddr <subnet> oifname <b> ct status dnat masquerade           (hairpin: a container to a forwarded host port)
 *     br_<b>_nat6   the same for the IPv6 subnet
 *     br_<b>_fwd    iifname <b> accept; oifname <b> accept
 *     br_<b>_guard  iifname <b> ip daddr 127.0.0.0/8 drop        (only with route_localnet, see enableRouteLocalnet)
 *     ct_<c>_pre    DNAT of the container's forwards for traffic from outside
 *     ct_<c>_out    DNAT of the same forwards for traffic from the host itself
 *     ct_<c>_post   masquerade of host-local (127.0.0.0/8) sources sent to the container
 *
 * `<b>`/`<c>` are the bridge's or container's name with anything but
 * letters, digits and `_` replaced, plus 8 hex digits of its hash (so two
 * names never share a chain). Every rule of a port forward carries
 * `comment "warren:<container> <proto> <host address>:<port>"`: that is how
 * conflicts are found and a forward is replaced. Removing a bridge or a
 * container removes its chains and its jumps as a unit.
 *
 * Each change reads the table (`nft -a list table`), computes the new
 * chains and rebuilds the base chains' jumps, and applies it in one
 * transaction, under an flock (`/run/warren/nft-<table>.lock` by default) so
 * two processes never lose each other's changes.
 *
 * About the forward chain: it accepts everything to and from the bridge,
 * so a host whose forward policy would otherwise drop still forwards for
 * containers, but only as far as warren's own table goes. In nftables a
 * packet must get through *every* base chain on a hook, so an accept here
 * cannot override a drop in another table (an `inet filter` table with
 * `policy drop`, or Docker's iptables-nft `FORWARD` policy). On such a host
 * the administrator must allow the bridge's traffic in that table; warren
 * only adds accept rules to its own chains and never touches anyone else's.
 *
 * About hairpin (a container reaching a forwarded port through the host's
 * address, possibly its own): with br_netfilter (`CONFIG_BRIDGE_NETFILTER`,
 * built into many kernels, `net.bridge.bridge-nf-call-iptables=1`) the
 * DNATed packet is bridged back at layer 2 instead of routed, so it must
 * leave through the bridge port it came in on: that port (the container's
 * host-side veth) needs hairpin mode (`IFLA_BRPORT_MODE`, `ip link set
 * <veth> type bridge_slave hairpin on`), set by whoever attaches it.
 * @module
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

import { withLock } from "../linux/lock.js";
import { ConfigError, HostError } from "../errors.js";
import { codeOf } from "../linux/errno.js";
import { type Cidr, formatIp, type Ip, parseCidr, tryParseIp } from "./ipam.js";

// ---------------------------------------------------------------------------
// Names

const TABLE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** Container names (config's NAME_PATTERN) plus `#` and `:` for derived keys; short enough for a 128-byte comment. */
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.#:-]{0,63}$/;

/** A chain-name-safe id for a bridge or container: sanitized name + 8 hex digits of its hash. */
export function chainId(name: string): string {
  const h = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 64)}_${h}`;
}

/** The chains of a bridge. */
export function bridgeChains(bridge: string): { nat4: string; nat6: string; fwd: string; guard: string } {
  const id = chainId(bridge);
  return { nat4: `br_${id}_nat4`, nat6: `br_${id}_nat6`, fwd: `br_${id}_fwd`, guard: `br_${id}_guard` };
}

/** The chains of a container's port forwards. */
export function containerChains(container: string): { pre: string; out: string; post: string } {
  const id = chainId(container);
  return { pre: `ct_${id}_pre`, out: `ct_${id}_out`, post: `ct_${id}_post` };
}

function checkTable(table: string): void {
  if (typeof table !== "string" || !TABLE.test(table)) {
    throw new ConfigError([{ path: "table", message: `${JSON.stringify(table)} is not a valid nftables table name (a letter, then letters, digits, \`_\`)` }]);
  }
}

function checkBridge(bridge: string, field = "bridge"): void {
  if (typeof bridge !== "string" || !IFNAME.test(bridge)) {
    throw new ConfigError([{ path: field, message: `${JSON.stringify(bridge)} is not an interface name (1-15 letters, digits, \`_\`, \`.\`, \`-\`)` }]);
  }
}

function checkContainer(container: string): void {
  if (typeof container !== "string" || !CONTAINER.test(container)) {
    throw new ConfigError([{ path: "container", message: `${JSON.stringify(container)} is not a valid container name` }]);
  }
}

// ---------------------------------------------------------------------------
// The table as read back

/** One rule of warren's table, as `nft -a list table` shows it. */
export interface NftRule {
  chain: string;
  handle: number;
  comment?: string;
  text: string;
}

/** What {@link parseTable} found. */
export interface NftState {
  exists: boolean;
  chains: string[];
  rules: NftRule[];
}

export const EMPTY_STATE: NftState = { exists: false, chains: [], rules: [] };

/** Parses `nft -a list table inet <t>` (chain names, rule handles and comments). */
export function parseTable(text: string): NftState {
  const state: NftState = { exists: false, chains: [], rules: [] };
  let chain: string | undefined;
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (/^table \S+ \S+ \{/.test(t)) {
      state.exists = true;
      continue;
    }
    const c = /^chain (\S+) \{/.exec(t);
    if (c) {
      chain = c[1]!.replace(/^"(.*)"$/, "$1");
      state.chains.push(chain);
      continue;
    }
    if (t === "}") {
      chain = undefined;
      continue;
    }
    const r = /^(.*?) # handle (\d+)$/.exec(t);
    if (r && chain !== undefined && !/^(type|policy) /.test(t)) {
      const body = r[1]!;
      const comment = /(?:^| )comment "([^"]*)"$/.exec(body)?.[1];
      state.rules.push({ chain, handle: Number(r[2]), ...(comment !== undefined ? { comment } : {}), text: body });
    }
  }
  return state;
}

// ---------------------------------------------------------------------------
// Port forwards

export type Proto = "tcp" | "udp";

/** One inbound port forward. */
export interface PortForward {
  /** The host address it listens on: `0.0.0.0` (the default with an IPv4 container address) is every IPv4 address of the host, `::` every IPv6 one. */
  hostAddress?: string;
  hostPort: number;
  containerAddress: string;
  containerPort: number;
  proto: Proto;
}

/** A forward after validation. */
interface Forward {
  family: 4 | 6;
  /** Canonical host address; `0.0.0.0` / `::` for every address. */
  host: string;
  any: boolean;
  loopback: boolean;
  hostPort: number;
  target: string;
  targetPort: number;
  proto: Proto;
  /** Index in the caller's list. */
  index: number;
}

/** The host side of a forward as text: `127.0.0.1:8080/tcp`, `[::]:53/udp`. */
export function endpointText(host: string, port: number, proto: Proto): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}/${proto}`;
}

/** The comment tagging every rule of a forward: `warren:<container> <proto> <host>:<port>`. */
export function forwardComment(container: string, f: { host: string; hostPort: number; proto: Proto }): string {
  return `warren:${container} ${f.proto} ${f.host.includes(":") ? `[${f.host}]` : f.host}:${f.hostPort}`;
}

/** A forward found in the table (from its comment). */
export interface ExistingForward {
  container: string;
  proto: Proto;
  host: string;
  hostPort: number;
  family: 4 | 6;
  any: boolean;
}

export function parseForwardComment(comment: string): ExistingForward | undefined {
  const m = /^warren:(\S+) (tcp|udp) (?:\[([0-9a-f:.]+)\]|([0-9.]+)):(\d+)$/.exec(comment);
  if (!m) return undefined;
  const host = m[3] ?? m[4]!;
  const ip = tryParseIp(host);
  if (!ip) return undefined;
  return { container: m[1]!, proto: m[2] as Proto, host, hostPort: Number(m[5]), family: ip.family, any: ip.value === 0n };
}

/** Every forward in the table, once each (from the rules of `ct_*` chains). */
export function existingForwards(state: NftState): ExistingForward[] {
  const seen = new Map<string, ExistingForward>();
  for (const r of state.rules) {
    if (!r.chain.startsWith("ct_") || r.comment === undefined) continue;
    const f = parseForwardComment(r.comment);
    if (f) seen.set(r.comment, f);
  }
  return [...seen.values()];
}

const isLoopback = (ip: Ip) => (ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n);

function validateForwards(forwards: readonly PortForward[], field: string): Forward[] {
  if (!Array.isArray(forwards)) throw new ConfigError([{ path: field, message: "must be a list of port forwards" }]);
  return forwards.map((f, index) => {
    const at = `${field}[${index}]`;
    const bad = (path: string, message: string) => new ConfigError([{ path: `${at}.${path}`, message }]);
    const port = (v: unknown, name: string) => {
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) throw bad(name, `${String(v)} is not a port (1-65535)`);
      return v as number;
    };
    const hostPort = port(f.hostPort, "hostPort");
    const targetPort = port(f.containerPort, "containerPort");
    if (f.proto !== "tcp" && f.proto !== "udp") throw bad("proto", `${JSON.stringify(f.proto)} is not tcp or udp`);
    const target = tryParseIp(f.containerAddress);
    if (!target) throw bad("containerAddress", `${JSON.stringify(f.containerAddress)} is not an IPv4 or IPv6 address`);
    if (target.value === 0n || isLoopback(target)) throw bad("containerAddress", `${f.containerAddress} is not a container's address`);
    const hostText = f.hostAddress ?? (target.family === 4 ? "0.0.0.0" : "::");
    const host = tryParseIp(hostText);
    if (!host) throw bad("hostAddress", `${JSON.stringify(hostText)} is not an IPv4 or IPv6 address`);
    if (host.family !== target.family) {
      throw bad("hostAddress", `${hostText} and the container address ${f.containerAddress} are not of the same IP version (no NAT between IPv4 and IPv6)`);
    }
    if (host.family === 6 && isLoopback(host)) {
      throw bad("hostAddress", "::1 cannot be forwarded (the kernel never routes ::1 off the host); use 127.0.0.1 or ::");
    }
    return {
      family: host.family,
      host: formatIp(host.value, host.family),
      any: host.value === 0n,
      loopback: isLoopback(host),
      hostPort,
      target: formatIp(target.value, target.family),
      targetPort,
      proto: f.proto,
      index,
    };
  });
}

/** Whether some of the forwards catch connections to 127.0.0.0/8 (see {@link Nft.addPortForwards}). */
export function needsLocalnet(forwards: readonly PortForward[], field = "ports"): boolean {
  return validateForwards(forwards, field).some((f) => f.family === 4 && (f.any || f.loopback));
}

/** Whether two host endpoints catch the same packets. */
function overlap(a: { family: number; proto: Proto; hostPort: number; any: boolean; host: string }, b: typeof a): boolean {
  return a.family === b.family && a.proto === b.proto && a.hostPort === b.hostPort && (a.any || b.any || a.host === b.host);
}

function forwardRules(container: string, f: Forward, bridge: string): { pre?: string; out: string; post?: string } {
  const comment = `comment "${forwardComment(container, f)}"`;
  const l4 = `${f.proto} dport ${f.hostPort}`;
  if (f.family === 4) {
    const dnat = `dnat ip to ${f.target}:${f.targetPort}`;
    const masq = `ip saddr 127.0.0.0/8 ip daddr ${f.target} oifname "${bridge}" ${f.proto} dport ${f.targetPort} masquerade ${comment}`;
    if (f.any) {
      return {
        // Never for 127.0.0.0/8 from outside: with route_localnet a packet
        // to 127.0.0.1 from the LAN would otherwise reach the container.
        pre: `fib daddr type local ip daddr != 127.0.0.0/8 ${l4} ${dnat} ${comment}`,
        out: `meta nfproto ipv4 fib daddr type local ${l4} ${dnat} ${comment}`,
        post: masq,
      };
    }
    if (f.loopback) return { out: `ip daddr ${f.host} ${l4} ${dnat} ${comment}`, post: masq };
    const match = `ip daddr ${f.host} fib daddr type local ${l4} ${dnat} ${comment}`;
    return { pre: match, out: match };
  }
  const dnat = `dnat ip6 to [${f.target}]:${f.targetPort}`;
  const match = f.any ? `fib daddr type local ip6 daddr != ::1 ${l4} ${dnat} ${comment}` : `ip6 daddr ${f.host} fib daddr type local ${l4} ${dnat} ${comment}`;
  return { pre: match, out: match };
}

// ---------------------------------------------------------------------------
// Scripts (pure)

/** Declares the table and its base chains (a no-op when they exist). */
export function tableScript(table: string): string {
  checkTable(table);
  return [
    `table inet ${table} {`,
    `\tchain postrouting {`,
    `\t\ttype nat hook postrouting priority srcnat; policy accept;`,
    `\t}`,
    `\tchain prerouting {`,
    `\t\ttype nat hook prerouting priority dstnat; policy accept;`,
    `\t}`,
    // `dstnat` is refused by nft 1.0.6 on the output hook: the same number.
    `\tchain output {`,
    `\t\ttype nat hook output priority -100; policy accept;`,
    `\t}`,
    `\tchain forward {`,
    `\t\ttype filter hook forward priority filter; policy accept;`,
    `\t}`,
    `\tchain guard {`,
    `\t\ttype filter hook prerouting priority raw; policy accept;`,
    `\t}`,
    `}`,
  ].join("\n");
}

const BASE = ["postrouting", "prerouting", "output", "forward", "guard"] as const;

/** Which base chain jumps to a warren chain, or undefined for others. */
function baseOf(chain: string): (typeof BASE)[number] | undefined {
  if (/^br_\w+_nat[46]$/.test(chain) || /^ct_\w+_post$/.test(chain)) return "postrouting";
  if (/^ct_\w+_pre$/.test(chain)) return "prerouting";
  if (/^ct_\w+_out$/.test(chain)) return "output";
  if (/^br_\w+_fwd$/.test(chain)) return "forward";
  if (/^br_\w+_guard$/.test(chain)) return "guard";
  return undefined;
}

/** Rebuilds the base chains: exactly one jump to each of `chains` (bridges first, then containers, sorted). */
export function dispatchScript(table: string, chains: readonly string[]): string {
  const lines: string[] = [];
  const sorted = [...new Set(chains)].sort((a, b) => (a.slice(0, 3) === b.slice(0, 3) ? (a < b ? -1 : a > b ? 1 : 0) : a.startsWith("br_") ? -1 : 1));
  for (const base of BASE) {
    lines.push(`flush chain inet ${table} ${base}`);
    for (const c of sorted) if (baseOf(c) === base) lines.push(`add rule inet ${table} ${base} jump ${c}`);
  }
  return lines.join("\n");
}

function replaceChain(table: string, chain: string, rules: readonly string[]): string[] {
  return [`add chain inet ${table} ${chain}`, `flush chain inet ${table} ${chain}`, ...rules.map((r) => `add rule inet ${table} ${chain} ${r}`)];
}

function deleteChains(table: string, chains: readonly string[]): string[] {
  return chains.flatMap((c) => [`flush chain inet ${table} ${c}`, `delete chain inet ${table} ${c}`]);
}

function script(parts: string[]): string {
  return parts.filter((p) => p !== "").join("\n") + "\n";
}

/** The rules of a bridge's NAT chain for one subnet. */
export function natRules(bridge: string, subnet: Cidr): string[] {
  const ip = subnet.family === 4 ? "ip" : "ip6";
  const tag = `comment "warren:bridge ${bridge}"`;
  return [
    `${ip} saddr ${subnet.text} ${ip} daddr != ${subnet.text} oifname != "${bridge}" masquerade ${tag}`,
    `${ip} saddr ${subnet.text} oifname "${bridge}" ct status dnat masquerade ${tag}`,
  ];
}

/**
 * The script of {@link Nft.ensureBridgeNat}: the table, the bridge's NAT
 * chain for each given subnet (one IPv4 and/or one IPv6), its forward chain,
 * and the base chains' jumps. Running it again changes nothing.
 */
export function bridgeNatScript(table: string, bridge: string, subnets: readonly string[], state: NftState = EMPTY_STATE): string {
  checkTable(table);
  checkBridge(bridge);
  const parsed = subnets.map((s, i) => parseCidr(s, `subnets[${i}]`));
  if (parsed.length === 0) throw new ConfigError([{ path: "subnet", message: "a bridge's NAT needs its subnet" }]);
  for (const fam of [4, 6]) {
    if (parsed.filter((c) => c.family === fam).length > 1) throw new ConfigError([{ path: "subnet", message: `more than one IPv${fam} subnet for ${bridge}` }]);
  }
  const ch = bridgeChains(bridge);
  const parts = [tableScript(table)];
  const added: string[] = [];
  for (const c of parsed) {
    const chain = c.family === 4 ? ch.nat4 : ch.nat6;
    parts.push(...replaceChain(table, chain, natRules(bridge, c)));
    added.push(chain);
  }
  parts.push(...replaceChain(table, ch.fwd, [`iifname "${bridge}" accept comment "warren:bridge ${bridge}"`, `oifname "${bridge}" accept comment "warren:bridge ${bridge}"`]));
  added.push(ch.fwd);
  parts.push(dispatchScript(table, [...state.chains, ...added]));
  return script(parts);
}

/** The script of {@link Nft.removeBridgeNat}, or "" when there is nothing to remove. The guard chain stays (see {@link Nft.disableRouteLocalnet}). */
export function removeBridgeNatScript(table: string, bridge: string, state: NftState): string {
  checkTable(table);
  checkBridge(bridge);
  const ch = bridgeChains(bridge);
  const gone = [ch.nat4, ch.nat6, ch.fwd].filter((c) => state.chains.includes(c));
  if (gone.length === 0) return "";
  return script([dispatchScript(table, state.chains.filter((c) => !gone.includes(c))), ...deleteChains(table, gone)]);
}

/** The script that drops packets to 127.0.0.0/8 arriving on the bridge (see {@link Nft.enableRouteLocalnet}). */
export function localnetGuardScript(table: string, bridge: string, state: NftState = EMPTY_STATE): string {
  checkTable(table);
  checkBridge(bridge);
  const { guard } = bridgeChains(bridge);
  return script([
    tableScript(table),
    ...replaceChain(table, guard, [`iifname "${bridge}" ip daddr 127.0.0.0/8 drop comment "warren:bridge ${bridge}"`]),
    dispatchScript(table, [...state.chains, guard]),
  ]);
}

/** The script removing a bridge's guard, or "" when it has none. */
export function removeLocalnetGuardScript(table: string, bridge: string, state: NftState): string {
  checkTable(table);
  checkBridge(bridge);
  const { guard } = bridgeChains(bridge);
  if (!state.chains.includes(guard)) return "";
  return script([dispatchScript(table, state.chains.filter((c) => c !== guard)), ...deleteChains(table, [guard])]);
}

/**
 * The script of {@link Nft.addPortForwards}. A forward whose host endpoint
 * (address, port, protocol) the container already forwards replaces the old
 * one; an endpoint another container forwards (or two in the list that
 * catch the same packets) is a {@link ConfigError} naming the entry,
 * `<field>[i]`. An empty list gives "".
 */
export function portForwardScript(
  table: string,
  container: string,
  forwards: readonly PortForward[],
  bridge: string,
  state: NftState = EMPTY_STATE,
  field = "ports",
): string {
  checkTable(table);
  checkContainer(container);
  checkBridge(bridge);
  const wanted = validateForwards(forwards, field);
  if (wanted.length === 0) return "";
  const existing = existingForwards(state);
  const replaced = new Set<string>();
  for (const f of wanted) {
    const clash = (why: string) => new ConfigError([{ path: `${field}[${f.index}]`, message: `${endpointText(f.host, f.hostPort, f.proto)} ${why}` }], { container });
    const twin = wanted.find((g) => g.index < f.index && overlap(f, g));
    if (twin) throw clash(`is forwarded twice (also by ${field}[${twin.index}])`);
    for (const e of existing) {
      if (!overlap(f, e)) continue;
      if (e.container === container && e.host === f.host) {
        replaced.add(forwardComment(container, e));
        continue;
      }
      const where = e.host === f.host ? "" : ` (as ${endpointText(e.host, e.hostPort, e.proto)})`;
      throw clash(`is already forwarded to container ${e.container}${where}`);
    }
  }
  const ch = containerChains(container);
  const parts = [tableScript(table)];
  for (const c of [ch.pre, ch.out, ch.post]) parts.push(`add chain inet ${table} ${c}`);
  for (const r of state.rules) {
    if (r.comment !== undefined && replaced.has(r.comment) && [ch.pre, ch.out, ch.post].includes(r.chain)) {
      parts.push(`delete rule inet ${table} ${r.chain} handle ${r.handle}`);
    }
  }
  for (const f of wanted) {
    const rules = forwardRules(container, f, bridge);
    if (rules.pre) parts.push(`add rule inet ${table} ${ch.pre} ${rules.pre}`);
    parts.push(`add rule inet ${table} ${ch.out} ${rules.out}`);
    if (rules.post) parts.push(`add rule inet ${table} ${ch.post} ${rules.post}`);
  }
  parts.push(dispatchScript(table, [...state.chains, ch.pre, ch.out, ch.post]));
  return script(parts);
}

/** The script of {@link Nft.removePortForwards}, or "" when the container has none. */
export function removePortForwardsScript(table: string, container: string, state: NftState): string {
  checkTable(table);
  checkContainer(container);
  const ch = containerChains(container);
  const gone = [ch.pre, ch.out, ch.post].filter((c) => state.chains.includes(c));
  if (gone.length === 0) return "";
  return script([dispatchScript(table, state.chains.filter((c) => !gone.includes(c))), ...deleteChains(table, gone)]);
}

/** The script of {@link Nft.removeTable}: idempotent (declaring an existing table changes nothing). */
export function removeTableScript(table: string): string {
  checkTable(table);
  return `table inet ${table} {\n}\ndelete table inet ${table}\n`;
}

// ---------------------------------------------------------------------------
// Running nft

const SBIN = ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin"];

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SBIN];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The error for a host without the `nft` binary. */
export function nftMissingError(): HostError {
  return new HostError(
    "nftables is needed for NAT and port forwards: install Debian's `nftables` package (the `nft` binary was not found)",
    "ENOENT",
    { path: "nft", syscall: "execve" },
  );
}

/** Whether the `nft` binary is installed and runs. */
export async function nftAvailable(): Promise<boolean> {
  const nft = findBinary("nft");
  if (!nft) return false;
  try {
    await run([nft, "--version"], undefined, 5000);
    return true;
  } catch {
    return false;
  }
}

interface RunResult {
  stdout: string;
  stderr: string;
}

class NftFailure extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(stderr);
  }
}

function run(argv: string[], input: string | undefined, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    p.on("error", reject);
    p.stdin.on("error", () => undefined); // EPIPE if it exits without reading
    p.on("close", (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new NftFailure(argv, code, signal ? `killed by ${signal} (timed out after ${timeoutMs} ms?)` : stderr));
    });
    p.stdin.end(input ?? "");
  });
}

const ERRNO_TEXT: [RegExp, string][] = [
  [/Operation not permitted/, "EPERM"],
  [/Permission denied/, "EACCES"],
  [/No such file or directory/, "ENOENT"],
  [/File exists/, "EEXIST"],
  [/Device or resource busy/, "EBUSY"],
  [/Protocol not supported|Operation not supported/, "EOPNOTSUPP"],
  [/timed out/, "ETIMEDOUT"],
];

function nftError(what: string, e: unknown, table: string): HostError {
  if (e instanceof NftFailure) {
    const lines = e.stderr.trim().split("\n").filter((l) => /Error|killed/.test(l));
    const msg = (lines.length ? lines : e.stderr.trim().split("\n")).slice(0, 3).join(" | ");
    const errno = ERRNO_TEXT.find(([re]) => re.test(e.stderr))?.[1] ?? "EINVAL";
    return new HostError(`nft: ${what} (table inet ${table}): ${msg}`, errno, { syscall: "nft", cause: e });
  }
  return new HostError(`nft: ${what} (table inet ${table})`, codeOf(e), { syscall: "nft", cause: e });
}

/** Whether `e` is nft saying that the listed table does not exist. */
function noSuchTable(e: unknown): boolean {
  const f = e instanceof HostError ? e.cause : undefined;
  return f instanceof NftFailure && /Error: No such file or directory/.test(f.stderr) && /list table/.test(f.stderr);
}

export interface NftOptions {
  /** Table name (family inet); default `warren`. */
  table?: string;
  /**
   * Run nft (and sysctl writes) in the network namespace at this path
   * (`/proc/<pid>/ns/net`, `/run/netns/<name>`) through `nsenter`. For tests.
   */
  netnsPath?: string;
  /** The flock serializing changes; default `/run/warren/nft-<table>.lock`. */
  lockPath?: string;
  /** Limit on each nft run; default 15 s. */
  timeoutMs?: number;
}

/**
 * warren's nftables table. Every method is idempotent; the removing ones do
 * nothing on a host without `nft` (warren cannot have made anything there).
 */
export class Nft {
  readonly table: string;
  readonly netnsPath?: string;
  readonly lockPath: string;
  private readonly timeoutMs: number;

  constructor(opts: NftOptions = {}) {
    this.table = opts.table ?? "warren";
    checkTable(this.table);
    if (opts.netnsPath !== undefined) this.netnsPath = opts.netnsPath;
    const suffix = opts.netnsPath === undefined ? "" : `-${createHash("sha256").update(opts.netnsPath).digest("hex").slice(0, 8)}`;
    this.lockPath = opts.lockPath ?? `/run/warren/nft-${this.table}${suffix}.lock`;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /**
   * Outbound NAT for a bridge: masquerade of traffic from `subnet` leaving
   * through any other interface, hairpin NAT, and accept rules for the
   * bridge in the forward chain. Give the IPv4 subnet, the IPv6 one, or both
   * (in either order); a call with only one family leaves the other's NAT
   * as it is. Idempotent.
   */
  async ensureBridgeNat(bridge: string, subnet: string, subnet6?: string): Promise<void> {
    const subnets = subnet6 === undefined ? [subnet] : [subnet, subnet6];
    bridgeNatScript(this.table, bridge, subnets); // validate before touching anything
    await this.change("ensure bridge NAT", (state) => bridgeNatScript(this.table, bridge, subnets, state));
  }

  /** Removes a bridge's NAT and forward rules (nothing if it has none). */
  async removeBridgeNat(bridge: string): Promise<void> {
    checkBridge(bridge);
    await this.change("remove bridge NAT", (state) => removeBridgeNatScript(this.table, bridge, state), true);
  }

  /**
   * DNAT of each host endpoint to the container, for traffic from outside
   * (prerouting) and from the host itself (output), plus the masquerade
   * that traffic from 127.0.0.0/8 needs to reach the bridge. `hostAddress`
   * defaults to every address of the container address's family.
   * Forwarding 127.0.0.1 (or every IPv4 address, which includes it, for
   * connections from the host to localhost) also needs
   * {@link enableRouteLocalnet} on the bridge. A host endpoint another
   * container forwards is a {@link ConfigError}
   * ("127.0.0.1:8080/tcp is already forwarded to container X").
   * Existing forwards of the container stay; one on the same endpoint is replaced.
   *
   * Returns whether a forward catches connections to 127.0.0.0/8 (its host
   * address is 127.x or `0.0.0.0`): those reach the container only once
   * {@link enableRouteLocalnet} is on for the bridge (without it, the host's
   * connections to 127.0.0.1:<port> fail instead of reaching the container).
   */
  async addPortForwards(
    container: string,
    forwards: readonly PortForward[],
    bridge: string,
    opts: { field?: string } = {},
  ): Promise<{ needsRouteLocalnet: boolean }> {
    const field = opts.field ?? "ports";
    const needsRouteLocalnet = needsLocalnet(forwards, field);
    if (portForwardScript(this.table, container, forwards, bridge, EMPTY_STATE, field) === "") return { needsRouteLocalnet };
    await this.change("add port forwards", (state) => portForwardScript(this.table, container, forwards, bridge, state, field));
    return { needsRouteLocalnet };
  }

  /** Removes every port forward of the container (nothing if it has none). */
  async removePortForwards(container: string): Promise<void> {
    checkContainer(container);
    await this.change("remove port forwards", (state) => removePortForwardsScript(this.table, container, state), true);
  }

  /** The forwards in the table, from the rules' comments. */
  async portForwards(): Promise<ExistingForward[]> {
    return existingForwards(await this.state());
  }

  /** Deletes the whole table (nothing if it does not exist). */
  async removeTable(): Promise<void> {
    if (!findBinary("nft")) return;
    await this.locked(() => this.nft(["-f", "-"], removeTableScript(this.table), "remove the table"));
  }

  /** The table as `nft list table` prints it, or "" when it does not exist. */
  async rules(): Promise<string> {
    try {
      return (await this.nft(["list", "table", "inet", this.table], undefined, "list the table")).stdout;
    } catch (e) {
      if (noSuchTable(e)) return "";
      throw e;
    }
  }

  /**
   * Lets the kernel route packets with a 127.0.0.0/8 source or destination
   * through the bridge (`net.ipv4.conf.<bridge>.route_localnet=1`), which
   * forwards on 127.0.0.1 need: the host's connection to 127.0.0.1:8080 is
   * DNATed to the container, leaves through the bridge with source
   * 127.0.0.1 until postrouting's masquerade, and the container's replies
   * come back to 127.0.0.1 after conntrack undoes it. Docker (without its
   * userland proxy) and kube-proxy do the same. The setting alone would also
   * let a container reach the host's loopback services by sending to
   * 127.0.0.1 through the bridge (CVE-2020-8558), so a guard rule dropping
   * packets to 127.0.0.0/8 that arrive on the bridge is installed first.
   */
  async enableRouteLocalnet(bridge: string): Promise<void> {
    checkBridge(bridge);
    await this.change("guard route_localnet", (state) => localnetGuardScript(this.table, bridge, state));
    await this.writeSysctl(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, "1");
  }

  /** Turns route_localnet off again (if the bridge still exists) and removes the guard. */
  async disableRouteLocalnet(bridge: string): Promise<void> {
    checkBridge(bridge);
    const path = `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`;
    if ((await this.readSysctl(path)) !== undefined) await this.writeSysctl(path, "0");
    await this.change("remove the route_localnet guard", (state) => removeLocalnetGuardScript(this.table, bridge, state), true);
  }

  /**
   * Turns on IP forwarding, which NAT for the bridge needs (LXD and Docker do
   * the same): `net.ipv4.ip_forward=1`, and with `ipv6` (default: when the
   * table has an IPv6 NAT chain) `net.ipv6.conf.all.forwarding=1`.
   *
   * With IPv6 forwarding on, the kernel ignores router advertisements on
   * interfaces with `accept_ra=1`, which would take away the host's own
   * SLAAC address and default route when they expire. So, as LXD does,
   * every interface with `accept_ra=1` is first set to `2` (accept them even
   * when forwarding), except warren's own bridges (those with NAT in this
   * table), which get `0`: a container must never be able to route the host
   * with an advertisement.
   */
  async enableForwarding(opts: { ipv6?: boolean } = {}): Promise<void> {
    const v4 = "/proc/sys/net/ipv4/ip_forward";
    if ((await this.readSysctl(v4)) !== "1") await this.writeSysctl(v4, "1");
    const state = await this.state();
    const ipv6 = opts.ipv6 ?? state.chains.some((c) => /^br_\w+_nat6$/.test(c));
    if (!ipv6) return;
    const all = "/proc/sys/net/ipv6/conf/all/forwarding";
    const current = await this.readSysctl(all);
    if (current === undefined || current === "1") return; // no IPv6 in this kernel, or already on
    for (const iface of await this.listSysctl("/proc/sys/net/ipv6/conf")) {
      if (iface === "all" || iface === "default" || iface === "lo" || !IFNAME.test(iface)) continue;
      const ra = `/proc/sys/net/ipv6/conf/${iface}/accept_ra`;
      const value = await this.readSysctl(ra);
      const ours = state.chains.includes(bridgeChains(iface).fwd);
      if (ours && value !== undefined && value !== "0") await this.writeSysctl(ra, "0");
      else if (!ours && value === "1") await this.writeSysctl(ra, "2");
    }
    await this.writeSysctl(all, "1");
  }

  /** The table as parsed from `nft -a list table` (empty when it does not exist). */
  async state(): Promise<NftState> {
    try {
      return parseTable((await this.nft(["-a", "list", "table", "inet", this.table], undefined, "list the table")).stdout);
    } catch (e) {
      if (noSuchTable(e)) return { ...EMPTY_STATE };
      throw e;
    }
  }

  /** Read the table, build a script from it, apply it: all under the lock. */
  private async change(what: string, build: (state: NftState) => string, removing = false): Promise<void> {
    if (!findBinary("nft")) {
      if (removing) return;
      throw nftMissingError();
    }
    await this.locked(async () => {
      const state = await this.state();
      if (removing && !state.exists) return;
      const text = build(state);
      if (text !== "") await this.nft(["-f", "-"], text, what);
    });
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    try {
      mkdirSync(join(this.lockPath, ".."), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new HostError(`create the directory of \`${this.lockPath}\``, codeOf(e), { path: this.lockPath, syscall: "mkdir", cause: e });
    }
    return withLock(this.lockPath, fn);
  }

  /** argv that runs `bin args…` in the right network namespace. */
  private argv(bin: string, args: string[]): string[] {
    if (this.netnsPath === undefined) return [bin, ...args];
    const nsenter = findBinary("nsenter");
    if (!nsenter) throw new HostError("`nsenter` (util-linux) is needed to run nft in another network namespace", "ENOENT", { path: "nsenter" });
    return [nsenter, `--net=${this.netnsPath}`, "--", bin, ...args];
  }

  private async nft(args: string[], input: string | undefined, what: string): Promise<RunResult> {
    const nft = findBinary("nft");
    if (!nft) throw nftMissingError();
    try {
      return await run(this.argv(nft, args), input, this.timeoutMs);
    } catch (e) {
      throw nftError(what, e, this.table);
    }
  }

  // /proc/sys/net is per network namespace: in another one, go through nsenter.

  private async readSysctl(path: string): Promise<string | undefined> {
    if (this.netnsPath === undefined) {
      try {
        return readFileSync(path, "utf8").trim();
      } catch (e) {
        if (codeOf(e) === "ENOENT") return undefined;
        throw new HostError(`read \`${path}\``, codeOf(e), { path, syscall: "read", cause: e });
      }
    }
    try {
      return (await run(this.argv("/bin/cat", [path]), undefined, this.timeoutMs)).stdout.trim();
    } catch {
      return undefined;
    }
  }

  private async writeSysctl(path: string, value: string): Promise<void> {
    if (this.netnsPath === undefined) {
      try {
        writeFileSync(path, value);
      } catch (e) {
        throw new HostError(`write \`${path}\``, codeOf(e), { path, syscall: "write", cause: e });
      }
      return;
    }
    try {
      await run(this.argv("/bin/sh", ["-c", 'printf %s "$1" > "$2"', "sh", value, path]), undefined, this.timeoutMs);
    } catch (e) {
      const text = e instanceof NftFailure ? e.stderr.trim() : String(e);
      const errno = /nonexistent|No such file/.test(text) ? "ENOENT" : /Permission denied|Read-only/.test(text) ? "EACCES" : "EIO";
      throw new HostError(`write \`${path}\` in ${this.netnsPath} (${text})`, errno, { path, cause: e });
    }
  }

  private async listSysctl(dir: string): Promise<string[]> {
    if (this.netnsPath === undefined) {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    }
    try {
      return (await run(this.argv("/bin/ls", [dir]), undefined, this.timeoutMs)).stdout.split("\n").filter(Boolean);
    } catch {
      return [];
    }
  }
}
