/**
 * Human units for limits: `"512MiB"`, `"1.5GB"`, `"64M"`, `"50%"`.
 * Binary suffixes (KiB, MiB, GiB, TiB, and bare K/M/G/T as `docker -m` reads
 * them) are powers of 1024; kB/MB/GB/TB (LXD's spelling) are powers of 1000.
 * @module
 */

const FACTORS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  KI: 1024,
  KIB: 1024,
  M: 1024 ** 2,
  MI: 1024 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GI: 1024 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TI: 1024 ** 4,
  TIB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

/** Bytes of a size like `"512MiB"` or `"1.5GB"`; undefined when it is not one. */
export function parseBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(s);
  if (!m) return undefined;
  const factor = FACTORS[m[2]!.toUpperCase()];
  if (factor === undefined) return undefined;
  const v = Math.floor(Number(m[1]) * factor);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** `"50%"` -> 0.5; undefined when it is not a percentage. */
export function parsePercent(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(s);
  return m ? Number(m[1]) / 100 : undefined;
}

/** `1073741824` -> `"1GiB"`, for messages and the CLI. */
export function formatBytes(n: number): string {
  for (const [suffix, f] of [["TiB", 1024 ** 4], ["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= f && n % f === 0) return `${n / f}${suffix}`;
  }
  for (const [suffix, f] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= f) return `${(n / f).toFixed(1)}${suffix}`;
  }
  return `${n}B`;
}
