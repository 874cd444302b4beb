/**
 * The NVIDIA driver's user-space half for `gpu` devices with
 * `nvidiaRuntime: true`: the libraries and tools that must match the
 * host's kernel module exactly, so they come from the host, bound
 * read-only at their host paths, rather than from the container's image.
 *
 * Found the way `nvidia-container-cli list` finds them: that tool itself
 * when it is installed; otherwise by name (its lists for the `utility` and
 * `compute` capabilities, the defaults of NVIDIA_DRIVER_CAPABILITIES) in the
 * directories of ldconfig's cache and in `/usr/local/nvidia/{lib64,bin}`,
 * where driver containers and some cloud images put them outside the cache.
 *
 * Every name a library is found under is bound (the versioned file and its
 * `.so.1` soname link, both to the file's content), so the loader finds
 * the soname without running ldconfig in the container, and
 * `LD_LIBRARY_PATH` lists their directories (which may be outside the
 * container's own search path). Nothing is written into the container's
 * `/etc/ld.so.conf.d`: its rootfs may be read-only or shared, and the
 * setting would outlive the device.
 * @module
 */
import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import type { HostBind } from "./host-node.js";

/** Tools of the utility and compute capabilities (libnvidia-container's lists). */
export const NVIDIA_BINARIES = ["nvidia-smi", "nvidia-debugdump", "nvidia-persistenced", "nvidia-cuda-mps-control", "nvidia-cuda-mps-server"];

/** Libraries of the utility and compute capabilities, without `.so*`. */
export const NVIDIA_LIBRARIES = [
  "libnvidia-ml", // NVML: nvidia-smi, monitoring
  "libnvidia-cfg",
  "libnvidia-nscq",
  "libcuda",
  "libcudadebugger",
  "libnvidia-opencl",
  "libnvidia-gpucomp",
  "libnvidia-ptxjitcompiler",
  "libnvidia-fatbinaryloader",
  "libnvidia-allocator",
  "libnvidia-compiler",
  "libnvidia-pkcs11",
  "libnvidia-pkcs11-openssl3",
  "libnvidia-nvvm",
];

/** Searched besides ldconfig's directories: where the lendable machines and driver containers keep the driver. */
export const NVIDIA_LIBRARY_DIRS = ["/usr/local/nvidia/lib64"];
export const NVIDIA_BINARY_DIRS = ["/usr/local/nvidia/bin", "/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin", "/sbin"];

export interface NvidiaRuntimeOptions {
  /** Runs a host tool and returns its stdout, undefined when it is missing or fails (a fake in tests). */
  run?: (file: string, args: string[]) => string | undefined;
  /** Library directories searched besides ldconfig's (default {@link NVIDIA_LIBRARY_DIRS}). */
  libraryDirs?: string[];
  /** Directories searched for the tools, in order (default {@link NVIDIA_BINARY_DIRS}). */
  binaryDirs?: string[];
}

export interface NvidiaRuntimeFiles {
  binds: HostBind[];
  env: Record<string, string>;
  /** How they were found, for messages. */
  via: "nvidia-container-cli" | "search";
  /** The directories searched (for messages). */
  searched: string[];
}

const runTool = (file: string, args: string[]): string | undefined => {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
  } catch {
    return undefined; // not installed, or no driver: the caller searches instead
  }
};

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/** Directories of the 64-bit libraries in `ldconfig -p`'s output whose names are in `names`. */
export function ldconfigDirs(output: string, names: readonly string[]): string[] {
  const dirs: string[] = [];
  // "\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1"
  for (const m of output.matchAll(/^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/gm)) {
    const [, lib, flags, path] = m;
    if (!/x86-64|AArch64|64bit/.test(flags!)) continue; // the 32-bit compatibility copies
    if (names.some((n) => lib!.startsWith(`${n}.so`)) && !dirs.includes(dirname(path!))) dirs.push(dirname(path!));
  }
  return dirs;
}

/** The driver's libraries and tools on this host, as read-only binds at their own paths. */
export function nvidiaRuntimeFiles(opts: NvidiaRuntimeOptions = {}): NvidiaRuntimeFiles {
  const run = opts.run ?? runTool;
  const binds: HostBind[] = [];
  const bind = (listed: string) => {
    const source = realpathOrUndefined(listed);
    // The target's directory as the host resolves it: `/lib/x86_64-linux-gnu`
    // on a merged-/usr host is `/usr/lib/…`, and warren refuses a mount
    // target through a symbolic link (the container's `/lib` is one too).
    const target = join(realpathOrUndefined(dirname(listed)) ?? dirname(listed), basename(listed));
    if (source && !binds.some((b) => b.target === target)) binds.push({ source, target });
  };

  const listed = run("nvidia-container-cli", ["list", "--binaries", "--libraries"]);
  const paths = listed?.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("/")) ?? [];
  let via: NvidiaRuntimeFiles["via"];
  let searched: string[];
  if (paths.length > 0) {
    via = "nvidia-container-cli";
    searched = [...new Set(paths.map(dirname))];
    for (const p of paths) {
      bind(p);
      // It lists the versioned files (libcuda.so.550.54.15); the loader
      // wants the sonames that point at them (libcuda.so.1).
      if (/\.so[.\d]*$/.test(p)) for (const link of sonameLinks(p)) bind(link);
    }
  } else {
    via = "search";
    const libDirs = dedupeDirs([...ldconfigDirs(run("ldconfig", ["-p"]) ?? "", NVIDIA_LIBRARIES), ...(opts.libraryDirs ?? NVIDIA_LIBRARY_DIRS)]);
    const binDirs = dedupeDirs(opts.binaryDirs ?? NVIDIA_BINARY_DIRS);
    searched = [...libDirs, ...binDirs];
    for (const dir of libDirs) {
      for (const e of entries(dir)) if (NVIDIA_LIBRARIES.some((n) => e.startsWith(n) && /^\.so(\.[\d.]+)?$/.test(e.slice(n.length)))) bind(join(dir, e));
    }
    for (const tool of NVIDIA_BINARIES) {
      const dir = binDirs.find((d) => entries(d).includes(tool));
      if (dir) bind(join(dir, tool));
    }
  }
  const libDirs = [...new Set(binds.filter((b) => /\.so[.\d]*$/.test(b.target)).map((b) => dirname(b.target)))];
  return { binds, env: libDirs.length ? { LD_LIBRARY_PATH: libDirs.join(":") } : {}, via, searched };
}

/** Symlinks next to `file` that resolve to it (libcuda.so.1 → libcuda.so.550.54.15). */
function sonameLinks(file: string): string[] {
  const dir = dirname(file);
  const real = realpathOrUndefined(file);
  const stem = basename(file).replace(/\.so[.\d]*$/, ".so");
  return entries(dir).filter((e) => {
    if (!e.startsWith(stem)) return false;
    const p = join(dir, e);
    try {
      return lstatSync(p).isSymbolicLink() && resolve(dir, readlinkSync(p)) !== p && realpathOrUndefined(p) === real;
    } catch {
      return false;
    }
  }).map((e) => join(dir, e));
}

/** Directories in order, the second name of one directory (a /lib → /usr/lib link) left out. */
function dedupeDirs(dirs: string[]): string[] {
  const seen = new Set<string>();
  return dirs.filter((d) => {
    const real = realpathOrUndefined(d) ?? d;
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}
