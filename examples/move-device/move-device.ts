/**
 * Moves a device from one container to another while both run (a USB
 * serial dongle from the PBX to the fax box, a GPU from one job to the
 * next): removed from the first, added with the same spec to the second,
 * given back to the first if the second cannot take it.
 *
 *   node --import tsx move-device.ts FROM TO DEVICE [--root DIR]
 */
import { Container, type DeviceSpec, type NicConfig } from "warren";

/** NICs move with removeNic/addNic (their addresses with them), not here. */
function isNic(spec: DeviceSpec | NicConfig): spec is NicConfig {
  return spec.type === "bridged" || spec.type === "macvlan" || spec.type === "physical" || spec.type === "routed";
}

export async function moveDevice(from: Container, to: Container, device: string): Promise<void> {
  const info = (await from.devices()).find((d) => d.name === device);
  if (!info) throw new Error(`container "${from.name}" has no device "${device}"`);
  const spec = info.spec;
  if (isNic(spec)) throw new Error(`"${device}" is a NIC: use removeNic() and addNic()`);
  // A process in `from` that has the node open keeps its fd: stop it first
  // if the device must not be shared for a moment.
  await from.removeDevice(device);
  try {
    await to.addDevice(device, spec);
  } catch (e) {
    await from.addDevice(device, spec);
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--root");
  const root = at >= 0 ? args.splice(at, 2)[1]! : (process.env.WARREN_ROOT ?? "/var/lib/warren");
  const [fromName, toName, device] = args;
  if (!fromName || !toName || !device) {
    console.error("usage: move-device.ts FROM TO DEVICE [--root DIR]");
    process.exit(2);
  }
  const from = await Container.get(fromName, { root });
  const to = await Container.get(toName, { root });
  from.unref();
  to.unref();
  await moveDevice(from, to, device);
  console.log(`${device}: ${from.name} -> ${to.name}`);
}
