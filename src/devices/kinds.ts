/**
 * The device kinds, by their `type`. A kind is a module of this directory
 * (its resolve function, see {@link DeviceKind}) plus its zod schema in
 * src/config/devices.ts; docs/devices.md says how to add one.
 * @module
 */
import type { DeviceSpec } from "../config/devices.js";
import { diskKind } from "./disk.js";
import { gpuKind } from "./gpu.js";
import type { DeviceKind } from "./types.js";
import { unixKind } from "./unix.js";
import { usbKind } from "./usb.js";

type AnyKind = DeviceKind<{ type: string }>;

const KINDS = new Map<string, AnyKind>(
  ([unixKind("c"), unixKind("b"), diskKind, usbKind, gpuKind] as unknown as AnyKind[]).map((k) => [k.type, k]),
);

/** The module of a validated spec's kind. */
export function deviceKind<S extends DeviceSpec>(spec: S): DeviceKind<S> {
  const kind = KINDS.get(spec.type);
  // The schema admits only registered kinds: a miss is a bug here.
  if (!kind) throw new Error(`device kind ${spec.type} has no module in src/devices/kinds.ts`);
  return kind as unknown as DeviceKind<S>;
}

/** The types of every registered kind. */
export function deviceKinds(): string[] {
  return [...KINDS.keys()];
}
