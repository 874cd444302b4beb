/** Loop devices for the device tests: an ext4 image made with mkfs, attached at a chosen number, removed again. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A small ext4 image holding `hello.txt` ("hello from the image\n"). */
export function makeImage(): { dir: string; image: string } {
  const dir = mkdtempSync(join(tmpdir(), "warren-loop-"));
  const content = join(dir, "content");
  mkdirSync(content);
  writeFileSync(join(content, "hello.txt"), "hello from the image\n");
  const image = join(dir, "fs.img");
  execFileSync("truncate", ["-s", "8M", image]);
  execFileSync("mkfs.ext4", ["-q", "-F", "-d", content, image]);
  return { dir, image };
}

/** A loop number no device has now (the kernel makes /dev/loopN when it is attached). */
export function freeLoopNumber(): number {
  for (let n = 200 + Math.floor(Math.random() * 200); ; n++) {
    try {
      execFileSync("test", ["-e", `/dev/loop${n}`]);
    } catch {
      return n;
    }
  }
}

/** Attaches `image` as /dev/loopN (losetup creates the device through /dev/loop-control). */
export function attach(n: number, image: string): string {
  execFileSync("losetup", [`/dev/loop${n}`, image]);
  return `/dev/loop${n}`;
}

/** Detaches /dev/loopN and removes the device (LOOP_CTL_REMOVE), so the kernel sends "remove". */
export function detach(n: number): void {
  try {
    execFileSync("losetup", ["-d", `/dev/loop${n}`], { stdio: "ignore" });
  } catch {
    /* not attached */
  }
  // The detach completes asynchronously: LOOP_CTL_REMOVE says EBUSY until it has.
  const remove = `open(my $f, "<", "/dev/loop-control") or exit 2; for (1..50) { exit 0 if ioctl($f, 0x4C81, ${n}); exit 0 if $!{ENODEV}; select(undef, undef, undef, 0.05) } exit 1`;
  try {
    execFileSync("perl", ["-e", remove], { stdio: "ignore" });
  } catch {
    /* left for the next run: the number is random */
  }
}

export function removeImage(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls `check` every 25 ms until it is true or `ms` have passed; the time it took, or -1. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await check()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 25));
  }
  return -1;
}
