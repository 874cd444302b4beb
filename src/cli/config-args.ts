/**
 * The config flags of `run` and `create` turned into a ContainerConfig.
 * Apart from `args.ts` because the network flags it reads are checked
 * against the library's NIC schema (zod), which the commands that do not
 * create a container must not load.
 * @module
 */
import { resolve } from "node:path";

import type { ContainerConfig, MountConfig } from "../config/schema.js";
import { limitsFromFlags, parseEnv, parseUser, UsageError, type SplitArgs } from "./args.js";
import { networkFromFlags } from "./network-args.js";

/** A readiness probe as `config.ready` takes it. */
export type ReadyInput = NonNullable<ContainerConfig["ready"]>;

/**
 * `--ready SPEC`: `notify` (systemd's READY=1), `file:PATH` (a file exists
 * in the container), `tcp:PORT` (the container's first address accepts
 * connections), `exec:CMD [ARGS...]` (a command in the container exits 0;
 * split on spaces).
 */
export function parseReady(s: string, flag = "--ready"): ReadyInput {
  const bad = () => new UsageError(`${flag}: expected notify, file:PATH, tcp:PORT or exec:CMD, got ${JSON.stringify(s)}`);
  if (s === "notify") return { notify: true };
  const colon = s.indexOf(":");
  if (colon < 0) throw bad();
  const kind = s.slice(0, colon);
  const arg = s.slice(colon + 1);
  if (kind === "file") {
    if (!arg.startsWith("/")) throw new UsageError(`${flag}: file:PATH needs an absolute path, got ${JSON.stringify(s)}`);
    return { file: arg };
  }
  if (kind === "tcp") {
    const port = Number(arg);
    if (!/^\d+$/.test(arg) || port < 1 || port > 65535) throw new UsageError(`${flag}: tcp:PORT needs a port from 1 to 65535, got ${JSON.stringify(s)}`);
    return { tcp: port };
  }
  if (kind === "exec") {
    const argv = arg.split(" ").filter(Boolean);
    if (argv.length === 0) throw new UsageError(`${flag}: exec:CMD needs a command, got ${JSON.stringify(s)}`);
    return { exec: argv };
  }
  throw bad();
}

/** `--lxcfs auto|on|off` as `config.lxcfs` takes it. */
export function parseLxcfs(s: string): NonNullable<ContainerConfig["lxcfs"]> {
  const value = ({ auto: "auto", on: true, off: false } as const)[s];
  if (value === undefined) throw new UsageError(`--lxcfs: expected auto, on or off, got ${JSON.stringify(s)}`);
  return value;
}

/**
 * `HOST:CONTAINER[:OPTIONS]` to a bind mount, OPTIONS a comma list of `ro`,
 * `rw` and `idmap`; a relative host path is taken from `cwd`.
 */
export function parseVolume(s: string, cwd = process.cwd()): MountConfig {
  const parts = s.split(":");
  const [source, target, options] = parts;
  const opts = options === undefined ? [] : options.split(",");
  if (parts.length < 2 || parts.length > 3 || !source || !target || opts.some((o) => !["ro", "rw", "idmap"].includes(o))) {
    throw new UsageError(`-v/--volume: expected HOST:CONTAINER or HOST:CONTAINER:ro (options ro, rw, idmap), got ${JSON.stringify(s)}`);
  }
  if (!target.startsWith("/")) throw new UsageError(`-v/--volume: the container path must be absolute, got ${JSON.stringify(target)}`);
  return {
    type: "bind",
    source: resolve(cwd, source),
    target,
    readonly: opts.includes("ro"),
    recursive: true,
    optional: false,
    idmap: opts.includes("idmap"),
  };
}

/** The ContainerConfig described by the config flags (without `init` and `ephemeral`). */
export function configFromFlags(values: SplitArgs["values"], cwd = process.cwd()): ContainerConfig {
  const config: ContainerConfig = {};
  const rootfs = values.rootfs as string | undefined;
  const ro = values.ro === true;
  const overlay = values.overlay === true;
  const image = values.image as string | undefined;
  if (image !== undefined && rootfs !== undefined) throw new UsageError("--image and --rootfs cannot be used together");
  if (ro && overlay) throw new UsageError("--ro and --overlay cannot be used together");
  if ((ro || overlay) && rootfs === undefined) throw new UsageError(`--${ro ? "ro" : "overlay"} needs --rootfs DIR`);
  if (rootfs !== undefined) {
    if (rootfs === "") throw new UsageError("--rootfs: must not be empty");
    const path = resolve(cwd, rootfs);
    // An overlay's lower layer is idmapped when the container has a user
    // namespace: otherwise the host's root-owned files could not be changed.
    config.rootfs = ro ? { path, mode: "ro" } : overlay ? { path, mode: "overlay", idmap: values["no-userns"] !== true } : path;
  }
  if (image !== undefined) {
    if (image === "") throw new UsageError("--image: must not be empty");
    config.image = image;
  }
  const env = values.env as string[] | undefined;
  if (env?.length) config.env = parseEnv(env);
  if (values.cwd !== undefined) config.cwd = values.cwd as string;
  if (values.user !== undefined) config.user = { ...parseUser(values.user as string), groups: [] };
  if (values.hostname !== undefined) config.hostname = values.hostname as string;
  if (values.ready !== undefined) config.ready = parseReady(values.ready as string);
  if (values.lxcfs !== undefined) config.lxcfs = parseLxcfs(values.lxcfs as string);
  if (values.nesting) config.nesting = true;
  if (values.intercept !== undefined) {
    const calls = (values.intercept as string).split(",");
    const bad = calls.find((call) => call !== "mknod" && call !== "setxattr");
    if (bad !== undefined) throw new UsageError(`--intercept: expected mknod, setxattr or mknod,setxattr, got ${JSON.stringify(bad)}`);
    config.security = { intercept: { ...(calls.includes("mknod") ? { mknod: true } : {}), ...(calls.includes("setxattr") ? { setxattr: true } : {}) } };
  }
  if (values["idmap-size"] !== undefined) {
    const size = values["idmap-size"] as string;
    if (!/^\d+$/.test(size)) throw new UsageError(`--idmap-size: expected a number of ids, got ${JSON.stringify(size)}`);
    config.idmap = { size: Number(size) };
  }
  if (values.restart !== undefined) {
    const policy = values.restart as string;
    if (policy !== "no" && policy !== "on-failure" && policy !== "always") {
      throw new UsageError(`--restart: expected no, on-failure or always, got ${JSON.stringify(policy)}`);
    }
    config.restart = policy;
  }
  if (values.console && values["no-console"]) throw new UsageError("--console and --no-console cannot be used together");
  if (values.console) config.console = true;
  if (values["no-console"]) config.console = false;
  if (values["no-userns"] || values["share-net"]) {
    config.namespaces = {
      ...(values["no-userns"] ? { user: false } : {}),
      ...(values["share-net"] ? { net: false } : {}),
    };
  }
  for (const field of ["proc", "sys"] as const) {
    const mode = values[field] as string | undefined;
    if (mode === undefined) continue;
    if (mode !== "mixed" && mode !== "ro" && mode !== "rw") throw new UsageError(`--${field}: expected mixed, ro or rw, got ${JSON.stringify(mode)}`);
    config[field] = mode;
  }
  // Keys and values are checked by the library (ConfigError naming `sysctls.KEY`).
  const sysctls = values.sysctl as string[] | undefined;
  if (sysctls?.length) config.sysctls = parseEnv(sysctls, "--sysctl");
  const volumes = values.volume as string[] | undefined;
  if (volumes?.length) config.mounts = volumes.map((v) => parseVolume(v, cwd));
  const network = networkFromFlags(values);
  if (network.nics.length) config.nics = network.nics;
  if (network.ports.length) config.ports = network.ports;
  if (network.dns.length) config.dns = network.dns;
  const { limits, bestEffort, deviceRules } = limitsFromFlags(values);
  if (limits) config.limits = limits;
  if (bestEffort) config.bestEffortLimits = true;
  if (deviceRules.length) {
    if (!values["no-userns"]) {
      throw new UsageError("--device needs --no-userns (a container with a user namespace only sees the devices bound into it)");
    }
    config.deviceRules = deviceRules;
  }
  return config;
}
