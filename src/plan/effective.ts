/**
 * The effective configuration of a container: what its validated config
 * leaves open filled in from its name, its image's defaults and the init
 * found in its rootfs. Pure: the caller finds the init kind (it needs the
 * filesystem); everyone that needs the effective config (start, stop, the
 * CLI, tests) calls this one function.
 * @module
 */
import type { ResolvedConfig } from "../config/schema.js";
import { haltSignalFor, type InitKind } from "../rootfs/init-kind.js";
import type { RootfsRecord } from "../rootfs/record.js";
import { resolveLxcfs, type LxcfsProbe, type LxcfsViews } from "./lxcfs.js";

/** What an image's config asks for (OCI Entrypoint + Cmd as the init, Env, WorkingDir, StopSignal). */
export interface ImageDefaults {
  init?: string[];
  env?: Record<string, string>;
  cwd?: string;
  haltSignal?: string;
}

export type EffectiveConfig = Omit<ResolvedConfig, "haltSignal" | "console" | "cwd" | "lxcfs"> & {
  cwd: string;
  init: string[];
  hostname: string;
  haltSignal: string | number;
  /** Whether the init gets a console pty kept by the monitor. */
  console: boolean;
  initKind: InitKind;
  /** The lxcfs views bound into the container (the config's `lxcfs` against the host), or `false`. */
  lxcfs: LxcfsViews | false;
};

/**
 * The init of the embedded default when none is given: a shell that idles
 * until told to stop, so the container can be exec'd into. It obeys SIGTERM
 * (the default halt signal), which a plain `sleep` as PID 1 would ignore.
 */
export const EMBEDDED_IDLE_INIT = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

/** The name as hostname when it is a valid one, else a sanitized form. */
export function defaultHostname(name: string): string {
  const h = name.replace(/[^A-Za-z0-9-]/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  return h || "warren";
}

/** The init argv a container runs: its config's, its image's, or the rootfs kind's default. */
export function initOf(config: ResolvedConfig, rootfs: RootfsRecord, image: ImageDefaults | undefined): string[] {
  return config.init ?? image?.init ?? (rootfs.kind === "embedded" ? EMBEDDED_IDLE_INIT : ["/sbin/init"]);
}

/** The tree in which to look for the init (undefined for the embedded default). */
export function initTree(rootfs: RootfsRecord): string | undefined {
  return rootfs.kind === "image" ? rootfs.lower : rootfs.kind === "directory" ? rootfs.path : undefined;
}

export interface EffectiveInput {
  name: string;
  config: ResolvedConfig;
  rootfs: RootfsRecord;
  imageDefaults?: ImageDefaults | undefined;
  /** The init found in the rootfs (see detectInit). */
  initKind: InitKind;
  /** What the host's lxcfs offers (see probeLxcfs); none when left out. */
  lxcfs?: LxcfsProbe | undefined;
}

export function effectiveConfig({ name, config: c, rootfs, imageDefaults: image, initKind, lxcfs }: EffectiveInput): EffectiveConfig {
  return {
    ...c,
    init: initOf(c, rootfs, image),
    env: { ...image?.env, ...c.env },
    cwd: c.cwd ?? image?.cwd ?? "/",
    hostname: c.hostname ?? defaultHostname(name),
    // A known init's own signal first: an image's StopSignal is for the
    // program it was made to run.
    haltSignal: c.haltSignal ?? (initKind !== "other" ? haltSignalFor(initKind) : (image?.haltSignal ?? "SIGTERM")),
    // A system init (systemd, sysvinit, busybox init) expects a console;
    // a program run as init (`/bin/true`, a shell script) starts without
    // the pty and monitor unless asked.
    console: c.console ?? initKind !== "other",
    // A config recorded before these fields existed has none of them.
    proc: c.proc ?? "mixed",
    sys: c.sys ?? "mixed",
    sysctls: c.sysctls ?? {},
    initKind,
    lxcfs: resolveLxcfs(c.lxcfs, lxcfs),
  };
}
