/**
 * Debian and Ubuntu root filesystems built from a package mirror with
 * `mmdebstrap` (when installed) or `debootstrap`: the way to a real distro
 * image without a registry. The result is a directory the image store takes
 * like an unpacked OCI image (`rootfs/` + `config.json`).
 * @module
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, promises as fsp, readFileSync } from "node:fs";
import { join } from "node:path";

import { ImageError } from "../errors.js";
import type { ImageConfig } from "./oci.js";

/** What to build. `release` is a suite or codename (`bookworm`, `noble`). */
export interface DistroSpec {
  distro: "debian" | "ubuntu";
  release: string;
  /** debootstrap variant: `minbase` (default: essential + apt), `buildd`, or `default`. */
  variant?: "minbase" | "buildd" | "default";
  /** Debian architecture (`amd64`, `arm64`); default: this machine's. */
  arch?: string;
  /** Packages added to the variant's set. An init is always added: minbase alone has none. */
  packages?: string[];
  /**
   * The init: `systemd` (default; `systemd-sysv`) or `sysvinit`
   * (`sysvinit-core`, its inittab set up for a container: a getty on
   * /dev/console instead of tty1-6, and SIGPWR powering off).
   */
  init?: "systemd" | "sysvinit";
  /** Package mirror. Default: the host's apt source for the distro, else the distro's main mirror. */
  mirror?: string;
}

export interface BuildProgress {
  phase: "resolve" | "retrieve" | "extract" | "unpack" | "configure" | "finish";
  /** Packages done in this phase, and (once known) how many there are. */
  done: number;
  total?: number;
  /** The tool's message (`Retrieving libc6 2.36-9`). */
  message: string;
}

export interface BuildOptions {
  /** `auto` (default): mmdebstrap when installed, else debootstrap. */
  tool?: "auto" | "mmdebstrap" | "debootstrap";
  onProgress?: (p: BuildProgress) => void;
  signal?: AbortSignal;
  /** Where downloaded .debs are kept between builds (debootstrap --cache-dir). */
  cacheDir?: string;
}

export interface BuildResult {
  config: ImageConfig;
  /** Cache key: the same spec builds the same key. */
  key: string;
  tool: "mmdebstrap" | "debootstrap";
  spec: Required<Omit<DistroSpec, "packages" | "mirror" | "init">> & { packages: string[]; mirror: string; init: "systemd" | "sysvinit" };
}

const RELEASE = /^[a-z][a-z0-9.-]{1,31}$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const INIT_PACKAGES = { systemd: "systemd-sysv", sysvinit: "sysvinit-core" } as const;
/** Version of what {@link neutralize} does to a tree: part of the cache key. */
const BUILD_LAYOUT = 2;

const DEB_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "armhf", ia32: "i386", ppc64: "ppc64el", s390x: "s390x", riscv64: "riscv64" };
const OCI_ARCH: Record<string, string> = { amd64: "amd64", arm64: "arm64", armhf: "arm", i386: "386", ppc64el: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** `debian/bookworm`, `ubuntu/noble` → a spec (throws an ImageError naming what is wrong). */
export function parseDistroSpec(text: string): DistroSpec {
  const m = /^(debian|ubuntu)\/([^/]+)$/.exec(text);
  if (!m) throw new ImageError(`bad distro ${JSON.stringify(text)}: expected debian/RELEASE or ubuntu/RELEASE`);
  if (!RELEASE.test(m[2]!)) throw new ImageError(`bad release ${JSON.stringify(m[2])} in ${JSON.stringify(text)}`);
  return { distro: m[1] as "debian" | "ubuntu", release: m[2]! };
}

function hostMirror(distro: "debian" | "ubuntu"): string | undefined {
  // deb822 and one-line apt sources; the first http(s) URI of the distro.
  const files = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list.d/ubuntu.sources", "/etc/apt/sources.list"];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const m of text.matchAll(/(?:URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/\S+)/gm)) {
      const uri = m[1]!;
      if (/security/.test(uri)) continue;
      if (distro === "debian" && /debian/.test(uri)) return uri;
      if (distro === "ubuntu" && /ubuntu/.test(uri)) return uri;
    }
  }
  return undefined;
}

/** The spec with its defaults filled in, and its cache key. */
export function resolveSpec(spec: DistroSpec): BuildResult["spec"] & { key: string } {
  if (!RELEASE.test(spec.release)) throw new ImageError(`bad release ${JSON.stringify(spec.release)}`);
  const arch = spec.arch ?? DEB_ARCH[process.arch];
  if (!arch || !/^[a-z0-9]+$/.test(arch)) throw new ImageError(`no Debian architecture for ${JSON.stringify(spec.arch ?? process.arch)}`);
  for (const p of spec.packages ?? []) {
    if (!PACKAGE.test(p)) throw new ImageError(`bad package name ${JSON.stringify(p)}`);
  }
  const init = spec.init ?? "systemd";
  if (!(init in INIT_PACKAGES)) throw new ImageError(`bad init ${JSON.stringify(init)}: systemd or sysvinit`);
  const packages = [...new Set([INIT_PACKAGES[init], ...(spec.packages ?? [])])].sort();
  const mirror =
    spec.mirror ?? hostMirror(spec.distro) ?? (spec.distro === "debian" ? "http://deb.debian.org/debian" : "http://archive.ubuntu.com/ubuntu");
  if (!/^(https?|file):\/\/\S+$/.test(mirror)) throw new ImageError(`bad mirror ${JSON.stringify(mirror)}`);
  const resolved = { distro: spec.distro, release: spec.release, variant: spec.variant ?? "minbase", arch, packages, mirror, init };
  // The mirror is not part of the key: any mirror of the distro gives the
  // same image. `layout` changes when what a build leaves in the tree does.
  const key = createHash("sha256")
    .update(JSON.stringify({ layout: BUILD_LAYOUT, distro: resolved.distro, release: resolved.release, variant: resolved.variant, arch, packages }))
    .digest("hex");
  return { ...resolved, key };
}

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

function keyringFor(distro: "debian" | "ubuntu"): string | undefined {
  const candidates =
    distro === "debian"
      ? ["/usr/share/keyrings/debian-archive-keyring.gpg"]
      : ["/usr/share/keyrings/ubuntu-archive-keyring.gpg"]; // Debian's ubuntu-keyring package
  return candidates.find((k) => existsSync(k));
}

/** Parses debootstrap's / mmdebstrap's status lines into progress events. */
export class ProgressParser {
  private retrieved = 0;
  private counts: Partial<Record<BuildProgress["phase"], number>> = {};
  constructor(private readonly emit: (p: BuildProgress) => void) {}

  line(text: string): void {
    const m = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring|Resolving|Installing|Base system installed)\b\s*(.*)$/.exec(text.trim());
    if (!m) return;
    const verb = m[1]!;
    const phase: BuildProgress["phase"] | undefined =
      verb === "Retrieving" ? "retrieve"
      : verb === "Extracting" ? "extract"
      : verb === "Unpacking" ? "unpack"
      : verb === "Configuring" ? "configure"
      : verb === "Resolving" ? "resolve"
      : verb.startsWith("Base system") ? "finish"
      : undefined;
    if (!phase) return;
    // "Retrieving Packages" / "Retrieving Release" are indexes, not packages.
    const isPackage = phase !== "retrieve" || !/^(Packages|Release|InRelease)\b/.test(m[2] ?? "");
    if (phase === "retrieve" && isPackage) this.retrieved++;
    if (isPackage) this.counts[phase] = (this.counts[phase] ?? 0) + 1;
    const done = this.counts[phase] ?? 0;
    const total = phase === "retrieve" || phase === "resolve" || phase === "finish" ? undefined : this.retrieved || undefined;
    this.emit({ phase, done, ...(total !== undefined ? { total: Math.max(total, done) } : {}), message: `${verb} ${m[2] ?? ""}`.trim() });
  }
}

async function runTool(cmd: string, args: string[], options: BuildOptions, what: string): Promise<void> {
  const parser = new ProgressParser((p) => options.onProgress?.(p));
  const tail: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C.UTF-8", DEBIAN_FRONTEND: "noninteractive" } });
    const onAbort = () => child.kill("SIGTERM");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let partial = "";
    const take = (b: Buffer) => {
      partial += b.toString();
      const lines = partial.split("\n");
      partial = lines.pop()!;
      for (const l of lines) {
        parser.line(l);
        tail.push(l);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (e) => reject(new ImageError(`${what}: run ${cmd}: ${e.message}`, { cause: e })));
    child.on("close", (code, signal) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (code === 0) return resolve();
      if (options.signal?.aborted) return reject(new ImageError(`${what}: aborted`, { cause: options.signal.reason }));
      reject(new ImageError(`${what}: ${cmd} ${signal ? `was killed by ${signal}` : `exited with ${code}`}:\n${tail.join("\n")}`));
    });
  });
}

/**
 * Builds the root filesystem of `spec` into `<destDir>/rootfs` and writes
 * `<destDir>/config.json`. The image is made neutral for containers: no
 * machine id (each container gets its own), no hostname, no downloaded
 * packages or package lists left behind.
 */
export async function buildDistroRootfs(spec: DistroSpec, destDir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const r = resolveSpec(spec);
  const what = `build ${r.distro}/${r.release}`;
  const mm = which("mmdebstrap");
  const db = which("debootstrap");
  const tool = options.tool === "mmdebstrap" || (options.tool !== "debootstrap" && mm) ? "mmdebstrap" : "debootstrap";
  const bin = tool === "mmdebstrap" ? mm : db;
  if (!bin) {
    throw new ImageError(`${what}: ${options.tool && options.tool !== "auto" ? options.tool : "neither mmdebstrap nor debootstrap"} is installed (apt-get install debootstrap)`);
  }
  const keyring = keyringFor(r.distro);
  if (!keyring) throw new ImageError(`${what}: no archive keyring for ${r.distro} (apt-get install ${r.distro === "debian" ? "debian-archive-keyring" : "ubuntu-keyring"})`);
  const rootfs = join(destDir, "rootfs");
  await fsp.mkdir(destDir, { recursive: true });
  await fsp.mkdir(rootfs, { mode: 0o755 });
  const include = r.packages.join(",");
  if (tool === "mmdebstrap") {
    const variant = r.variant === "default" ? "important" : r.variant;
    await runTool(
      bin,
      ["--verbose", `--variant=${variant}`, `--architectures=${r.arch}`, `--include=${include}`, `--keyring=${keyring}`, r.release, rootfs, r.mirror],
      options,
      what,
    );
  } else {
    const args = [`--variant=${r.variant}`, `--arch=${r.arch}`, `--include=${include}`, `--keyring=${keyring}`];
    if (r.variant === "default") args.shift();
    if (options.cacheDir) {
      await fsp.mkdir(options.cacheDir, { recursive: true });
      args.push(`--cache-dir=${options.cacheDir}`);
    }
    await runTool(bin, [...args, r.release, rootfs, r.mirror], options, what);
  }
  await neutralize(rootfs);
  if (r.init === "sysvinit") await inittabForContainers(rootfs);
  options.onProgress?.({ phase: "finish", done: 1, total: 1, message: "image ready" });
  const config: ImageConfig = {
    architecture: OCI_ARCH[r.arch] ?? r.arch,
    os: "linux",
    config: {
      Cmd: ["/sbin/init"],
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      StopSignal: r.init === "sysvinit" ? "SIGPWR" : "SIGRTMIN+3",
    },
  } as ImageConfig;
  await fsp.writeFile(join(destDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  return { config, key: r.key, tool, spec: { distro: r.distro, release: r.release, variant: r.variant, arch: r.arch, packages: r.packages, mirror: r.mirror, init: r.init } };
}

/**
 * sysvinit's inittab as a container needs it (as LXC templates and the
 * inittab's own comment for nspawn do): a getty on /dev/console instead of
 * tty1-6, which a container has not, and SIGPWR (warren's halt signal for
 * sysvinit) powering off rather than running a UPS script.
 */
async function inittabForContainers(rootfs: string): Promise<void> {
  const path = join(rootfs, "etc/inittab");
  const lines = (await fsp.readFile(path, "utf8")).split("\n");
  let console = false;
  const out = lines.map((l) => {
    if (/^[1-6]:\d+:respawn:\S*getty\b.*\btty[1-6]\s*$/.test(l)) return `#${l}`;
    if (/^#C0:\d+:respawn:\S*getty\b.*\bconsole\b/.test(l)) {
      console = true;
      return l.slice(1);
    }
    if (/^pf::powerwait:/.test(l)) return "pf::powerwait:/sbin/shutdown -t1 -a -h -P now";
    return l;
  });
  if (!console) out.push("C0:2345:respawn:/sbin/getty -8 --noclear --keep-baud console 115200,38400,9600");
  await fsp.writeFile(path, out.join("\n"));
}

/** What a built tree must not carry into every container made from it. */
async function neutralize(rootfs: string): Promise<void> {
  // An empty machine-id: warren gives each container its own at its first start.
  await fsp.writeFile(join(rootfs, "etc/machine-id"), "");
  await fsp.rm(join(rootfs, "var/lib/dbus/machine-id"), { force: true });
  // The host's name and nameservers, copied in by the tool: the
  // container's come from warren (its hostname; a generated resolv.conf
  // bound over this file when it has a network).
  await fsp.rm(join(rootfs, "etc/hostname"), { force: true });
  await fsp.rm(join(rootfs, "etc/resolv.conf"), { force: true });
  await fsp.writeFile(join(rootfs, "etc/resolv.conf"), "", { flag: "wx" });
  for (const d of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
    const dir = join(rootfs, d);
    let entries: string[] = [];
    try {
      entries = await fsp.readdir(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e === "partial" || e === "lock") continue;
      await fsp.rm(join(dir, e), { recursive: true, force: true });
    }
  }
  await fsp.rm(join(rootfs, "var/cache/apt/pkgcache.bin"), { force: true });
  await fsp.rm(join(rootfs, "var/cache/apt/srcpkgcache.bin"), { force: true });
}
