/**
 * warren: Linux system containers from Node.js, no daemon.
 *
 * The whole public surface: {@link Container}, {@link ImageStore},
 * {@link host}, their option and result types, and the error classes.
 * The zod schemas and the security defaults are in `warren/schema`.
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
export { ImageStore } from "./image/store.js";
export { host } from "./host.js";
export { doctor } from "./doctor/doctor.js";

// Options and results of Container.
export type { RuntimeOptions } from "./config/runtime.js";
export type { ContainerConfig, ResolvedConfig, MountConfig, IdMap } from "./config/schema.js";
export type { NicConfig, NicInput, PortConfig } from "./config/nic.js";
export type { EffectiveConfig } from "./plan/effective.js";
export type { LxcfsViews } from "./plan/lxcfs.js";
export type { InitKind } from "./rootfs/init-kind.js";
export type { ExitStatus, RestartRefusal, Status, StopReason } from "./container/state.js";
export type { StartOptions } from "./container/start.js";
export type { StopOptions } from "./container/stop.js";
export type { StdioMode, StdioTarget } from "./container/stdio.js";
export type { ExecOptions, ExecOutput, ExecProcess } from "./container/exec.js";
export type { ConsoleStream } from "./container/monitor.js";
export type { ContainerEvent, MetricsOptions } from "./container/resources.js";
export type { CgroupEvent } from "./cgroup/events.js";
export type { DirEntry, FileStat, FileType, PushOptions } from "./container/files.js";
export type { GroupInfo, UserInfo } from "./container/users.js";
export type { InterfaceInfo } from "./container/network.js";
export type { DeviceInfo, NicDeviceInput } from "./container/devices.js";
export type { DeviceInput, DeviceSpec, GpuDeviceInput, GpuDeviceSpec, UsbDeviceInput, UsbDeviceSpec } from "./config/devices.js";
export type { SnapshotInfo } from "./container/snapshots.js";
export type { ConfigPatch } from "./container/configure.js";
export type { ExportManifest, ExportOptions } from "./container/export.js";
export type { Limits, ResolvedLimits } from "./cgroup/limits.js";
export type { ContainerStats, Pressure } from "./cgroup/stats.js";
export type { DeviceRule } from "./cgroup/devices.js";
export type { CapabilityName } from "./linux/caps.js";

// Options and results of ImageStore and host().
export type { ImageInfo, PullOptions } from "./image/store.js";
export type { ImageConfig, ImportOciOptions, Platform } from "./image/oci.js";
export type { DeviceNode } from "./image/devices.js";
export type { StorageKind } from "./storage/backend.js";
export type { DistroSpec, BuildOptions, BuildProgress } from "./image/debootstrap.js";
export type { LxcImageFiles, ImportLxcOptions, LxcMetadata } from "./image/lxc.js";
export type { PullProgress, RegistryOptions } from "./image/registry.js";
export type { Compression } from "./image/compress.js";
export type { HostInfo } from "./host.js";
export type { CheckStatus, DoctorCheck, DoctorOptions, DoctorReport } from "./doctor/doctor.js";
export type { CgroupHost } from "./cgroup/cgroup2.js";

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
  CgroupControllerUnavailable,
  UnknownSyscallError,
  ImageError,
  UnsupportedCompressionError,
  RegistryError,
  DigestMismatchError,
  DecompressionError,
  MissingToolError,
  type ConfigIssue,
} from "./errors.js";
