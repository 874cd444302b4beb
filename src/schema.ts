/**
 * `warren/schema`: the zod schemas behind {@link ContainerConfig} and its
 * parts, for validating a configuration before handing it to warren (a
 * form, a config file), and the defaults a config starts from. Kept out of
 * the main entry point so that importing `warren` does not build them.
 *
 * @example
 * ```ts
 * import { containerSchema } from "warren/schema";
 *
 * const r = containerSchema.safeParse(JSON.parse(text));
 * if (!r.success) console.error(r.error.issues);
 * ```
 * @module
 */
export { containerSchema, mountSchema, idmapSchema, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "./config/schema.js";
export { nicSchema, portSchema } from "./config/nic.js";
export { limitsSchema } from "./cgroup/limits.js";
export { DEFAULT_CAP_DROP, DEFAULT_SECCOMP_DENY } from "./config/defaults.js";
export { DEFAULT_DEVICE_RULES, parseDeviceRule, formatDeviceRule } from "./cgroup/devices.js";
export type { ContainerConfig } from "./config/schema.js";
