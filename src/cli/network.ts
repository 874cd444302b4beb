/**
 * The network commands of the `warren` CLI: `network` (a running
 * container's interfaces), `nic add` / `nic rm` (hotplug) and `gc` (sweep up
 * after containers nobody watched, and the managed bridge once unused).
 * @module
 */
import { formatBytes } from "../cgroup/units.js";
import type { InterfaceInfo } from "../container/network.js";
import { Container } from "../container/container.js";
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError } from "./args.js";
import { parseNic } from "./network-args.js";
import { formatTable, type Io } from "./io.js";
import { USAGE } from "./usage.js";

/** One `network` table row: NAME MAC MTU STATE ADDRESSES RX TX. */
export function interfaceRow(i: InterfaceInfo): string[] {
  return [
    i.name,
    i.mac ?? "-",
    String(i.mtu),
    i.up ? "up" : "down",
    i.addresses.length ? i.addresses.join(",") : "-",
    i.stats ? formatBytes(i.stats.rxBytes) : "-",
    i.stats ? formatBytes(i.stats.txBytes) : "-",
  ];
}

/** The `network` table, header included. */
export function interfaceTable(list: readonly InterfaceInfo[]): string {
  return formatTable([["NAME", "MAC", "MTU", "STATE", "ADDRESSES", "RX", "TX"], ...list.map(interfaceRow)]);
}

export async function networkCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, json: { type: "boolean" } }, 1, "network");
  if (parsed.values.help) {
    io.out(USAGE.network!);
    return 0;
  }
  const name = parsed.positionals[0];
  if (name === undefined) throw new UsageError("missing container name", "network");
  if (parsed.command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.command[0])}`, "network");
  const c = await Container.get(name, { root: stateRoot(parsed.values) });
  c.unref();
  const list = await c.network();
  io.out(parsed.values.json ? JSON.stringify(list, null, 2) : interfaceTable(list));
  return 0;
}

/** `warren nic add NAME SPEC` and `warren nic rm NAME IFNAME`. */
export async function nicCommand(argv: string[], io: Io): Promise<number> {
  // `--root` may come before the subcommand (`warren --root DIR nic add ...` puts it there).
  const parsed = splitArgs(argv, COMMON_OPTIONS, 3, "nic");
  const [sub, name, arg] = parsed.positionals;
  if (parsed.values.help || sub === "help") {
    io.out(USAGE.nic!);
    return 0;
  }
  if (sub === undefined) throw new UsageError("missing subcommand (add or rm)", "nic");
  const add = sub === "add";
  if (!add && sub !== "rm" && sub !== "remove") throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (expected add or rm)`, "nic");
  if (name === undefined) throw new UsageError("missing container name", "nic");
  if (arg === undefined) throw new UsageError(add ? "missing NIC SPEC" : "missing interface name", "nic");
  if (parsed.command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.command[0])}`, "nic");
  const root = stateRoot(parsed.values);
  if (add) {
    const nic = parseNic(arg, "nic add");
    const c = await Container.get(name, { root });
    c.unref();
    await c.addNic(nic);
    io.out(nic.name ?? (nic.type === "physical" ? nic.parent : "eth0"));
  } else {
    const c = await Container.get(name, { root });
    c.unref();
    await c.removeNic(arg);
    io.out(arg);
  }
  return 0;
}

export async function gcCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, COMMON_OPTIONS, 0, "gc");
  if (parsed.values.help) {
    io.out(USAGE.gc!);
    return 0;
  }
  const extra = parsed.positionals[0] ?? parsed.command[0];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, "gc");
  const cleaned = await Container.gc({ root: stateRoot(parsed.values) });
  for (const name of cleaned) io.out(name);
  return 0;
}
