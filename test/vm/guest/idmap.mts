/**
 * Runs INSIDE the test VM (test/vm/idmap.test.ts boots it) on Debian's 6.1
 * kernel, where tmpfs and overlayfs cannot be idmapped (FS_ALLOW_IDMAP came
 * to both in 6.3) and ext4 can. The same busybox image is imported into a
 * store on each filesystem and two unprivileged containers are made from
 * it: on tmpfs each must get its own shifted copy of the image, on ext4 the
 * idmapped mount of the shared one. Each scenario prints one line
 * `@@RESULT <name> <json>` with what it saw; the assertions are on the host
 * side, this script only measures.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statfsSync } from "node:fs";
import { join, resolve } from "node:path";

import { Container, ImageStore } from "../../../src/index.js";
import { ociLayoutFromDirectory } from "../../../src/image/from-directory.js";
import { supportsIdmappedMounts } from "../../../src/storage/idmap-probe.js";
import { report, runScenarios } from "./scenarios.mjs";

// Set by test/vm/idmap.test.ts (this file runs as a bundle elsewhere).
const rootfs = process.env.WARREN_TEST_ROOTFS ?? resolve(".cache/rootfs/busybox");
// The VM's cache (kernel package with its modules), for ext4 and loop.
const vmCache = process.env.WARREN_TEST_VM_CACHE ?? resolve(".cache/vm");
// The guest gets the caller's WARREN_*: a forced answer would hide the real one.
const forcedIdmap = process.env.WARREN_IDMAP;
delete process.env.WARREN_IDMAP;

const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
// init.sh's own busybox (stage 2): the host has no kmod, busybox has insmod.
const BUSYBOX = "/run/warren-vm/bin/busybox";


function sh(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Why a command failed, in one line: its stderr, else the error. */
function why(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  return (String(err.stderr ?? "").trim() || String(err.message ?? e)).split("\n").slice(-3).join(" / ");
}

// statfs(2) f_type, from linux/magic.h.
const FS_NAMES: Record<number, string> = { 0x01021994: "tmpfs", 0xef53: "ext4", 0x794c7630: "overlayfs", 0x01021997: "9p" };
function fsType(path: string): string {
  const t = statfsSync(path).type;
  return FS_NAMES[t] ?? `0x${t.toString(16)}`;
}

const mountsUnder = (dir: string) =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.split(" ")[4]?.startsWith(dir));

/** Mount points made by this script, unmounted at the end (last first). */
const mounted: string[] = [];

/**
 * Imports the busybox image into a store at `<base>/root` and makes two
 * unprivileged containers from it, recording what the shifted-copy and the
 * idmapped paths are told apart by.
 */
async function imageScenario(base: string, tag: string): Promise<unknown> {
  const root = join(base, "root");
  const layout = join(base, "layout");
  mkdirSync(root);
  await ociLayoutFromDirectory(rootfs, layout);
  const image = await new ImageStore(root).importOci(layout, { tag });
  const made: Container[] = [];
  const containers = [];
  try {
    const createWarnings: string[][] = [];
    for (const n of ["idm-a", "idm-b"]) {
      const c = await Container.create(n, { image: tag, init: IDLE, stopTimeout: 2000 }, { root });
      made.push(c);
      createWarnings.push([...c.warnings]);
    }
    for (const [i, c] of made.entries()) {
      const r = JSON.parse(readFileSync(join(c.stateDir, "container.json"), "utf8")).rootfs as { storage?: string; lower: string; upper: string; shifted?: boolean };
      const idmap = c.idmap!;
      const lowerBusybox = lstatSync(join(r.lower, "bin/busybox"));
      await c.start();
      const inside = await c.execOutput(["stat", "-c", "%u:%g", "/bin/busybox", "/etc/passwd"]);
      // A new file, and a copy-up of one of the image's files.
      const write = await c.execOutput(["sh", "-c", "echo mine > /root/note && echo extra:x:1234:1234::/:/bin/sh >> /etc/passwd && stat -c %u:%g /root/note /etc/passwd"]);
      const note = lstatSync(join(r.upper, "root/note"));
      const copiedUp = lstatSync(join(r.upper, "etc/passwd"));
      containers.push({
        name: c.name,
        stateDir: c.stateDir,
        idmap,
        storage: r.storage,
        shifted: r.shifted ?? false,
        lower: r.lower,
        lowerFs: fsType(r.lower),
        warnings: createWarnings[i],
        warningsAfterStart: [...c.warnings],
        lowerBusyboxOwner: [lowerBusybox.uid, lowerBusybox.gid],
        inside: { code: inside.code, out: inside.stdout, err: inside.stderr },
        write: { code: write.code, out: write.stdout, err: write.stderr },
        noteOwner: [note.uid, note.gid],
        copiedUpOwner: [copiedUp.uid, copiedUp.gid],
        probe: await supportsIdmappedMounts(image.rootfs, idmap),
      });
    }
  } finally {
    for (const c of made) {
      await c.stop({ timeout: 0 }).catch(() => undefined);
      await c.destroy({ force: true }).catch(() => undefined);
    }
  }
  const imageBusybox = lstatSync(join(image.rootfs, "bin/busybox"));
  return {
    imageRootfs: image.rootfs,
    imageFs: fsType(image.rootfs),
    // The shared image itself is never shifted.
    imageBusyboxOwner: [imageBusybox.uid, imageBusybox.gid],
    containers,
    // After destroy: no mount left under either state directory, and no directory.
    leftMounts: made.flatMap((c) => mountsUnder(c.stateDir)),
    leftDirs: made.map((c) => c.stateDir).filter((d) => existsSync(d)),
  };
}

/** Loads a module of the guest's kernel from the VM cache (the guest has no modprobe). */
function insmod(moddir: string, name: string, rel: string): void {
  if (existsSync(`/sys/module/${name}`)) return;
  sh([BUSYBOX, "insmod", join(moddir, rel)]);
}

const scenarios: Record<string, () => Promise<unknown>> = {
  async kernel() {
    const tmpFs = fsType("/tmp");
    return { release: sh(["uname", "-r"]).trim(), tmpFs, forcedIdmap: forcedIdmap ?? null };
  },

  // The guest's own / is an overlay (init.sh): no idmapped mounts on 6.1 either.
  async overlay() {
    const dir = mkdtempSync("/tmp/warren-idmap-ovl-");
    return { fs: fsType(dir), probe: await supportsIdmappedMounts(dir, { hostUid: 1_000_000, hostGid: 1_000_000, size: 65536 }) };
  },

  // /tmp in the guest is the overlay's, not a tmpfs: a tmpfs of our own.
  async tmpfs() {
    const mnt = "/mnt/warren-idmap-tmpfs";
    mkdirSync(mnt, { recursive: true });
    sh(["mount", "-t", "tmpfs", "-o", "mode=0755,size=512m", "warren-idmap", mnt]);
    mounted.push(mnt);
    return imageScenario(mnt, "busybox:tmpfs");
  },

  async ext4() {
    const release = sh(["uname", "-r"]).trim();
    const moddir = join(vmCache, "kernel", release, "lib/modules", release, "kernel");
    if (!existsSync(moddir)) return { skipped: `no modules of ${release} at \`${moddir}\`` };
    for (const tool of ["mkfs.ext4", "mount", "umount", "truncate"]) {
      try {
        sh(["sh", "-c", `command -v ${tool}`]);
      } catch {
        return { skipped: `no ${tool} in the guest` };
      }
    }
    // Dependency order from modules.dep; crc32c for metadata_csum (the
    // kernel would request_module it, and the guest has no modprobe).
    const modules: [string, string][] = [
      ["crc16", "lib/crc16.ko"],
      ["mbcache", "fs/mbcache.ko"],
      ["jbd2", "fs/jbd2/jbd2.ko"],
      ["crc32c_generic", "crypto/crc32c_generic.ko"],
      ["ext4", "fs/ext4/ext4.ko"],
      ["loop", "drivers/block/loop.ko"],
    ];
    for (const [name, rel] of modules) {
      try {
        insmod(moddir, name, rel);
      } catch (e) {
        return { skipped: `cannot load the ${name} module: ${why(e)}` };
      }
    }
    const scratch = mkdtempSync("/tmp/warren-idmap-ext4-");
    // mkdtemp makes it 0700: the container's child, already its own root
    // (an unmapped host id), could not reach the state directories below.
    chmodSync(scratch, 0o755);
    const img = join(scratch, "fs.img");
    const mnt = join(scratch, "mnt");
    mkdirSync(mnt);
    sh(["truncate", "-s", "256M", img]);
    sh(["mkfs.ext4", "-q", "-F", img]);
    try {
      sh(["mount", "-o", "loop", img, mnt]);
    } catch (e) {
      return { skipped: `cannot mount an ext4 image through a loop device: ${why(e)}` };
    }
    mounted.push(mnt);
    return { ...((await imageScenario(mnt, "busybox:ext4")) as object), mountSource: sh(["findmnt", "-n", "-o", "SOURCE,FSTYPE", mnt]).trim() };
  },
};

await runScenarios(scenarios);

// The VM is thrown away, but leave it as found all the same.
const unmounted: Record<string, string> = {};
for (const mnt of mounted.reverse()) {
  try {
    sh(["umount", mnt]);
    unmounted[mnt] = "ok";
  } catch (e) {
    unmounted[mnt] = why(e);
  }
}
report("cleanup", { ok: true, value: { unmounted, loopDevices: existsSync("/sys/module/loop") ? sh(["sh", "-c", "losetup -a | wc -l"]).trim() : null } });
