/**
 * Device numbers.
 * @module
 */

/** major and minor of a Linux dev_t (as stat's `rdev` holds it: glibc's gnu_dev_major/minor). */
export function splitDev(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}
