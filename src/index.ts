/**
 * warren: Linux system containers from Node.js, no daemon.
 *
 * @example
 * ```ts
 * import { Container } from "warren";
 *
 * const c = await Container.create("web", { rootfs: "/srv/rootfs/debian" });
 * await c.start();
 * console.log(await c.execOutput(["cat", "/etc/os-release"]));
 * await c.stop();
 * await c.destroy();
 * ```
 * @module
 */
export { Container } from "./container/container.js";
export { EMBEDDED_IDLE_INIT, type EffectiveConfig } from "./plan/effective.js";
export type { ExitStatus, Status, StopReason } from "./container/state.js";
export type { RuntimeOptions } from "./config/runtime.js";
export type { StartOptions } from "./container/start.js";
export type { StopOptions } from "./container/stop.js";
export type { ExecOptions, ExecOutput, ExecProcess } from "./container/exec.js";
export type { StdioMode } from "./container/stdio.js";
export type { ConsoleStream } from "./container/monitor.js";
export type { InitKind } from "./rootfs/init-kind.js";
export type { ContainerConfig, ResolvedConfig, MountConfig, IdMap } from "./config/schema.js";
export { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, containerSchema, mountSchema, idmapSchema } from "./config/schema.js";
export { DEFAULT_CAP_DROP, DEFAULT_SECCOMP_DENY } from "./config/defaults.js";
export type { CapabilityName } from "./linux/caps.js";
export { detectCgroupHost, type CgroupHost } from "./cgroup/cgroup2.js";
export { host, type HostInfo } from "./host.js";
export { ImageStore, type ImageInfo } from "./image/store.js";
export { parseDistroSpec, type DistroSpec, type BuildOptions, type BuildProgress } from "./image/debootstrap.js";
export { ImageError } from "./image/errors.js";
export { ociLayoutFromDirectory } from "./image/from-directory.js";
export { importLxcImage, type LxcImageFiles, type ImportLxcOptions, type ImportLxcResult, type LxcMetadata } from "./image/lxc.js";
export { DecompressionError, MissingToolError, detectCompression, type Compression } from "./image/compress.js";
export { RegistryError, DigestMismatchError } from "./image/errors.js";
export { parseReference, type ImageReference } from "./image/reference.js";
export type { PullProgress, RegistryOptions } from "./image/registry.js";
export type { PullOptions } from "./image/store.js";
export { limitsSchema, type Limits, type ResolvedLimits } from "./cgroup/limits.js";
export type { ContainerStats, Pressure } from "./cgroup/stats.js";
export type { ContainerEvent } from "./container/resources.js";
export { CgroupControllerUnavailable } from "./cgroup/apply.js";
export { DEFAULT_DEVICE_RULES, parseDeviceRule, formatDeviceRule, type DeviceRule } from "./cgroup/devices.js";
export {
  WarrenError,
  ConfigError,
  StateError,
  SetupError,
  NotFoundError,
  ProcessExitError,
  NativeLoadError,
  HostError,
  ReadyTimeoutError,
  type ConfigIssue,
} from "./errors.js";
export type { DirEntry, FileStat, FileType, PushOptions } from "./container/files.js";
export type { GroupInfo, UserInfo } from "./container/users.js";
export type { ExportOptions, ExportManifest } from "./container/export.js";
