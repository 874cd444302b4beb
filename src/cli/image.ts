/**
 * `warren image build|pull|import|list|rm|prune`: the local image store
 * under the state root.
 * @module
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";

import { signalNumber } from "../config/signals.js";
import { sniffImageTarball } from "../image/archive.js";
import { parseDistroSpec, resolveSpec, type DistroSpec } from "../image/debootstrap.js";
import { ImageError } from "../errors.js";
import { ImageStore, type ImageInfo, type PullOptions } from "../image/store.js";
import { COMMON_OPTIONS, splitArgs, stateRoot, UsageError, type SplitArgs } from "./args.js";
import { formatTable, printWarnings, readAll, trapSignals, type Io } from "./io.js";
import { buildProgress, ProgressPrinter, pullProgress } from "./progress.js";
import { USAGE } from "./usage.js";

/** Every subcommand's options, parsed together; {@link ALLOWED} says which belongs to which. */
const IMAGE_OPTIONS = {
  ...COMMON_OPTIONS,
  tag: { type: "string" },
  json: { type: "boolean" },
  lxc: { type: "boolean" },
  variant: { type: "string" },
  init: { type: "string" },
  arch: { type: "string" },
  include: { type: "string", multiple: true },
  mirror: { type: "string" },
  rebuild: { type: "boolean" },
  platform: { type: "string" },
  "plain-http": { type: "boolean" },
  username: { type: "string" },
  "password-stdin": { type: "boolean" },
} as const;

type Sub = "build" | "pull" | "import" | "list" | "rm" | "prune";
const SUBS: readonly Sub[] = ["build", "pull", "import", "list", "rm", "prune"];
const ALIASES: Record<string, Sub> = { ls: "list", remove: "rm" };

const ALLOWED: Record<string, readonly Sub[]> = {
  tag: ["build", "pull", "import"],
  json: ["list"],
  lxc: ["import"],
  variant: ["build"],
  init: ["build"],
  arch: ["build", "import"],
  include: ["build"],
  mirror: ["build"],
  rebuild: ["build"],
  platform: ["pull"],
  "plain-http": ["pull"],
  username: ["pull"],
  "password-stdin": ["pull"],
};

/** `a`, `a and b`, `a, b and c`. */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** One `image list` table row: ID (first 12 hex) TAGS IMPORTED. */
export function imageRow(i: Pick<ImageInfo, "id" | "tags" | "importedAt">): string[] {
  return [i.id.slice(0, 12), i.tags.length ? [...i.tags].sort().join(",") : "-", i.importedAt];
}

/** What `image` was asked: the subcommand, its arguments and options (checked, no file system touched). */
export interface ImageArgs {
  sub: Sub;
  args: string[];
  values: SplitArgs["values"];
}

const ARITY: Record<Sub, [min: number, max: number, what: string]> = {
  build: [1, 1, "DISTRO/RELEASE (like debian/bookworm)"],
  pull: [1, 1, "image reference (like docker.io/library/busybox:1.36)"],
  import: [1, 2, "path (an OCI layout directory or an LXC tarball)"],
  list: [0, 0, ""],
  rm: [1, 1, "image (tag or id)"],
  prune: [0, 0, ""],
};

/** Parses `image`'s command line; `undefined` means help was asked for. */
export function parseImageArgs(argv: readonly string[]): ImageArgs | undefined {
  const parsed = splitArgs(argv, IMAGE_OPTIONS, Number.POSITIVE_INFINITY, "image");
  const [first, ...args] = parsed.positionals;
  if (parsed.values.help || first === "help") return undefined;
  if (first === undefined) throw new UsageError(`missing subcommand (${SUBS.join(", ")})`, "image");
  const sub = (SUBS as readonly string[]).includes(first) ? (first as Sub) : ALIASES[first];
  if (sub === undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(first)} (expected ${andList(SUBS)})`, "image");
  for (const [opt, subs] of Object.entries(ALLOWED)) {
    if (parsed.values[opt] !== undefined && !subs.includes(sub)) {
      throw new UsageError(`--${opt} is for image ${andList(subs)}`, "image");
    }
  }
  const [min, max, what] = ARITY[sub];
  if (args.length < min) throw new UsageError(`missing ${what}`, "image");
  if (args.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(args[max])}`, "image");
  for (const opt of ["tag", "mirror", "arch", "platform", "username"] as const) {
    if (parsed.values[opt] === "") throw new UsageError(`--${opt}: must not be empty`, "image");
  }
  return { sub, args, values: parsed.values };
}

const VARIANTS = ["minbase", "buildd", "default"] as const;

/** `image build`'s spec from its argument and flags; a bad one is a usage error (nothing is built). */
export function buildSpec(text: string, values: SplitArgs["values"]): DistroSpec {
  let spec: DistroSpec;
  try {
    spec = parseDistroSpec(text);
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(e.message, "image");
    throw e;
  }
  const variant = values.variant as string | undefined;
  if (variant !== undefined) {
    if (!(VARIANTS as readonly string[]).includes(variant)) {
      throw new UsageError(`--variant: expected ${VARIANTS.join(", ")}, got ${JSON.stringify(variant)}`, "image");
    }
    spec.variant = variant as DistroSpec["variant"];
  }
  const init = values.init as string | undefined;
  if (init !== undefined) {
    if (init !== "systemd" && init !== "sysvinit") throw new UsageError(`--init: expected systemd or sysvinit, got ${JSON.stringify(init)}`, "image");
    spec.init = init;
  }
  if (values.arch !== undefined) spec.arch = values.arch as string;
  const include = ((values.include as string[] | undefined) ?? []).flatMap((l) => l.split(",")).map((p) => p.trim()).filter(Boolean);
  if (include.length) spec.packages = include;
  if (values.mirror !== undefined) spec.mirror = values.mirror as string;
  // The library's own checks (release, packages, mirror, architecture), before any lock or download.
  try {
    resolveSpec(spec);
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(e.message, "image");
    throw e;
  }
  return spec;
}

/** `--platform os/arch[/variant]`. */
export function parsePlatform(s: string): NonNullable<PullOptions["platform"]> {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_]+$/.test(p))) {
    throw new UsageError(`--platform: expected OS/ARCH[/VARIANT] like linux/arm64/v8, got ${JSON.stringify(s)}`, "image");
  }
  if (parts[0] !== "linux") throw new UsageError(`--platform: only linux images run here, got ${JSON.stringify(s)}`, "image");
  return { os: "linux", architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

/** How `image import` reads its path(s). */
export type ImportSource =
  | { kind: "oci"; dir: string }
  | { kind: "archive"; file: string }
  | { kind: "lxc"; unified: string }
  | { kind: "lxc"; metadata: string; rootfs: string };

const TARBALL = /\.(tar|tar\.xz|tar\.gz|tgz|tar\.zst|tar\.zstd|txz|squashfs)$/;

/**
 * An OCI layout directory, an LXC unified tarball (a file: `--lxc`, a
 * tarball name, or anything that is not a directory), or METADATA ROOTFS.
 * `isDir` is the file system's answer (undefined: does not exist).
 */
export function importSource(args: readonly string[], lxc: boolean, isDir: (p: string) => boolean | undefined, cwd = process.cwd()): ImportSource {
  const paths = args.map((a) => resolve(cwd, a));
  if (paths.length === 2) return { kind: "lxc", metadata: paths[0]!, rootfs: paths[1]! };
  const p = paths[0]!;
  const dir = isDir(p);
  if (lxc) {
    if (dir === true) throw new UsageError(`--lxc: ${JSON.stringify(args[0])} is a directory; an LXC image is a tarball (or METADATA ROOTFS)`, "image");
    return { kind: "lxc", unified: p };
  }
  if (dir === false || (dir === undefined && TARBALL.test(p))) return { kind: "lxc", unified: p };
  return { kind: "oci", dir: p };
}

function isDirectory(p: string): boolean | undefined {
  try {
    return statSync(p).isDirectory();
  } catch {
    return undefined;
  }
}

/** Runs `f` with an AbortSignal that SIGINT, SIGTERM and SIGHUP abort; a signal ends it with 128+N. */
async function abortable<T>(f: (signal: AbortSignal) => Promise<T>): Promise<{ value: T } | { signal: NodeJS.Signals }> {
  const ac = new AbortController();
  let got: NodeJS.Signals | undefined;
  const untrap = trapSignals((sig) => {
    got ??= sig;
    ac.abort(new Error(`interrupted by ${sig}`));
  });
  try {
    return { value: await f(ac.signal) };
  } catch (e) {
    if (got) return { signal: got };
    throw e;
  } finally {
    untrap();
  }
}

export async function imageCommand(argv: string[], io: Io): Promise<number> {
  const a = parseImageArgs(argv);
  if (!a) {
    io.out(USAGE.image!);
    return 0;
  }
  const { sub, args, values } = a;
  const tag = values.tag as string | undefined;
  const store = new ImageStore(stateRoot(values));

  switch (sub) {
    case "build": {
      const spec = buildSpec(args[0]!, values);
      const progress = new ProgressPrinter(io);
      let r;
      try {
        r = await abortable((signal) =>
          store.build(spec, { ...(tag !== undefined && { tag }), ...(values.rebuild === true && { rebuild: true }), onProgress: buildProgress(progress), signal }),
        );
      } catch (e) {
        progress.clear();
        throw e;
      }
      progress.done();
      if ("signal" in r) return 128 + (signalNumber(r.signal) ?? 0);
      io.out(r.value.cached ? `${r.value.id} (cached)` : r.value.id);
      return 0;
    }
    case "pull": {
      const options: PullOptions = {};
      if (tag !== undefined) options.tag = tag;
      if (values.platform !== undefined) options.platform = parsePlatform(values.platform as string);
      if (values["plain-http"]) options.plainHttp = true;
      const username = values.username as string | undefined;
      if ((username === undefined) !== (values["password-stdin"] !== true)) {
        throw new UsageError("--username and --password-stdin go together", "image");
      }
      if (username !== undefined) {
        const password = (await (io.readStdin ?? (() => readAll(process.stdin)))()).replace(/\r?\n$/, "");
        if (password === "") throw new UsageError("--password-stdin: no password on stdin", "image");
        options.credentials = { username, password };
      }
      const progress = new ProgressPrinter(io);
      let r;
      try {
        r = await abortable((signal) => store.pull(args[0]!, { ...options, onProgress: pullProgress(progress), signal }));
      } catch (e) {
        progress.clear();
        throw e;
      }
      progress.done();
      if ("signal" in r) return 128 + (signalNumber(r.signal) ?? 0);
      io.out(r.value.id);
      return 0;
    }
    case "import": {
      let source = importSource(args, values.lxc === true, isDirectory);
      // One tarball, not said to be LXC: an OCI archive or docker save is told by its members.
      if (source.kind === "lxc" && "unified" in source && values.lxc !== true && (await sniffImageTarball(source.unified).catch(() => undefined)) === "archive") {
        source = { kind: "archive", file: source.unified };
      }
      const arch = values.arch as string | undefined;
      if (arch !== undefined && source.kind !== "lxc") throw new UsageError("--arch is for LXC images (OCI layouts and archives name their platform)", "image");
      let img: ImageInfo;
      if (source.kind === "oci") {
        img = await store.importOci(source.dir, tag === undefined ? {} : { tag });
      } else if (source.kind === "archive") {
        img = await store.importArchive(source.file, tag === undefined ? {} : { tag });
      } else {
        const { kind: _kind, ...files } = source;
        img = await store.importLxc(files, { ...(tag !== undefined && { tag }), ...(arch !== undefined && { architecture: arch === "any" ? false : arch }) });
      }
      printWarnings(io, img.warnings ?? []);
      io.out(img.id);
      return 0;
    }
    case "rm":
      await store.remove(args[0]!);
      io.out(args[0]!);
      return 0;
    case "prune": {
      const removed = await store.prune();
      for (const id of removed.images) io.out(`image ${id}`);
      for (const d of removed.blobs) io.out(`blob ${d}`);
      return 0;
    }
    case "list": {
      const images = await store.list();
      if (values.json) {
        io.out(JSON.stringify(images.map((i) => ({ id: i.id, digest: i.digest, tags: i.tags, source: i.source, importedAt: i.importedAt })), null, 2));
        return 0;
      }
      io.out(formatTable([["ID", "TAGS", "IMPORTED"], ...images.map(imageRow)]));
      return 0;
    }
  }
}
