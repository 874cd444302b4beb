/**
 * `warren device add NAME DEVNAME KEY=VALUE...`, `device list NAME` and
 * `device rm NAME DEVNAME`: the library's addDevice/devices/removeDevice;
 * `device follow`: the root's device follower (src/container/device-follower.ts).
 * The keys are the spec's fields (`type=unix-char source=/dev/fuse
 * mode=0666`); the library validates them, so an error names
 * `devices.<name>.<field>`.
 * @module
 */
import type { DeviceInfo } from "../container/devices.js";
import { Container } from "../container/container.js";
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError } from "./args.js";
import { formatTable, type Io } from "./io.js";
import { USAGE } from "./usage.js";

/** Keys whose value is a number (the rest are strings, `mode` included: it is octal). */
const NUMBERS = new Set(["major", "minor", "uid", "gid", "mtu"]);
/** Keys whose value is true or false. */
const BOOLEANS = new Set(["required", "readonly", "idmap", "nvidiaRuntime"]);

/** `KEY=VALUE` arguments as a spec object (types by key; unknown keys are left to the library to refuse). */
export function parseDeviceSpec(args: readonly string[]): Record<string, string | number | boolean> {
  const spec: Record<string, string | number | boolean> = {};
  for (const a of args) {
    const eq = a.indexOf("=");
    if (eq <= 0) throw new UsageError(`expected KEY=VALUE, got ${JSON.stringify(a)}`, "device");
    const key = a.slice(0, eq);
    const value = a.slice(eq + 1);
    if (Object.hasOwn(spec, key)) throw new UsageError(`${key} given twice`, "device");
    if (NUMBERS.has(key)) {
      if (!/^\d+$/.test(value)) throw new UsageError(`${key}=${JSON.stringify(value)}: expected a number`, "device");
      spec[key] = Number(value);
    } else if (BOOLEANS.has(key)) {
      if (value !== "true" && value !== "false") throw new UsageError(`${key}=${JSON.stringify(value)}: expected true or false`, "device");
      spec[key] = value === "true";
    } else {
      spec[key] = value;
    }
  }
  if (spec.type === undefined) throw new UsageError("missing type=… (unix-char, unix-block, disk, usb, gpu, nic)", "device");
  return spec;
}

/** The `device list` table. */
export function deviceTable(list: readonly DeviceInfo[]): string {
  const where = (d: DeviceInfo) => {
    const s = d.spec as { source?: string; parent?: string };
    return s.source ?? s.parent ?? "-";
  };
  return formatTable([
    ["NAME", "TYPE", "STATE", "SOURCE", "INSIDE"],
    ...list.map((d) => [d.name, d.type, d.state, where(d), d.paths.length ? d.paths.join(",") : "-"]),
  ]);
}

export async function deviceCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, json: { type: "boolean" } }, 3, "device");
  const [sub, name, devname] = parsed.positionals;
  if (parsed.values.help || sub === "help") {
    io.out(USAGE.device!);
    return 0;
  }
  if (sub === undefined) throw new UsageError("missing subcommand (add, list, rm or follow)", "device");
  if (!["add", "list", "ls", "rm", "remove", "follow"].includes(sub)) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (expected add, list, rm or follow)`, "device");
  if (sub === "follow") {
    if (name !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(name)} (follow takes the whole --root)`, "device");
    const root = stateRoot(parsed.values);
    const { runFollower } = await import("../container/device-follower.js");
    await runFollower(root, { get: (n) => Container.get(n, { root }) });
    return 0;
  }
  if (name === undefined) throw new UsageError("missing container name", "device");
  const list = sub === "list" || sub === "ls";
  if (list && devname !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(devname)}`, "device");
  if (!list && devname === undefined) throw new UsageError("missing device name", "device");
  if (sub !== "add" && parsed.command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.command[0])}`, "device");
  const spec = sub === "add" ? parseDeviceSpec(parsed.command) : undefined;
  const c = await Container.get(name, { root: stateRoot(parsed.values) });
  c.unref();
  if (list) {
    const devices = await c.devices();
    io.out(parsed.values.json ? JSON.stringify(devices, null, 2) : deviceTable(devices));
  } else if (spec) {
    await c.addDevice(devname!, spec as never);
    io.out(devname!);
  } else {
    await c.removeDevice(devname!);
    io.out(devname!);
  }
  return 0;
}
