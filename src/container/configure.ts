/**
 * Changing a stopped container's recorded config, for the keys that a
 * start reads afresh and nothing on disk was made from (the rootfs, id
 * range, mounts and NICs were; limits change live through setLimits).
 * @module
 */
import type { ContainerConfig } from "../config/schema.js";
import { StateError } from "../errors.js";
import { withLock } from "../linux/lock.js";
import type { ContainerHandle } from "./handle.js";
import { isLive } from "./state.js";

/** What `Container.setConfig` takes: a key set to `undefined` goes back to its default. */
export type ConfigPatch = Partial<Pick<ContainerConfig, "hostname" | "domainname" | "env" | "cwd" | "user" | "haltSignal" | "stopTimeout" | "onReboot" | "restart">>;

/** The keys of {@link ConfigPatch}, checked at run time (a JavaScript caller may pass any). */
const SETTABLE_KEYS: readonly (keyof ConfigPatch)[] = ["hostname", "domainname", "env", "cwd", "user", "haltSignal", "stopTimeout", "onReboot", "restart"];

/**
 * Validates each key of `patch` as the schema does at create, then writes
 * the record under the container's lock; a running container is refused
 * (its init was set up from the old values).
 */
export async function setConfig(h: ContainerHandle, patch: ConfigPatch): Promise<void> {
  const { resolveConfig } = await import("../config/resolve.js");
  const next = { ...h.record.config } as Record<string, unknown>;
  for (const key of Object.keys(patch)) {
    if (!(SETTABLE_KEYS as readonly string[]).includes(key)) {
      throw new StateError(`container "${h.name}": ${key} cannot be changed after create (settable: ${SETTABLE_KEYS.join(", ")})`, "setConfig", "created", { container: h.name });
    }
    const value = (patch as Record<string, unknown>)[key];
    // Resolved alone, so a default comes back for an unset key and the field's own checks apply.
    const resolved = resolveConfig(value === undefined ? {} : ({ [key]: value } as ContainerConfig), h.name) as Record<string, unknown>;
    if (resolved[key] === undefined) delete next[key];
    else next[key] = resolved[key];
  }
  await withLock(h.store.lockPath(h.name), async () => {
    await h.refresh();
    if (isLive(h.status)) {
      throw new StateError(`container "${h.name}" is ${h.status}: stop it before changing its config`, "setConfig", h.status, { container: h.name });
    }
    h.record = { ...h.record, config: next as typeof h.record.config };
    await h.store.writeRecord(h.record);
  });
  h.planCache = null;
}
