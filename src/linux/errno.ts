/**
 * The one errno converter. Names are Node's: libuv's table (what
 * `util.getSystemErrorName` and Node's own system errors use), then
 * `os.constants.errno` for the ones libuv lacks (ENOEXEC, ESTALE, EDQUOT …).
 * The addon names the `code` of its errors in the same order
 * (native/napi-util.h, with libc's names for the second step), so a code
 * compares equal whichever side produced it for every errno Node knows.
 * @module
 */
import { constants } from "node:os";
import { getSystemErrorName } from "node:util";

let byNumber: Map<number, string> | undefined;

/** `EINVAL` for 22 (or -22); `E<n>` for a number neither table names. */
export function errnoName(n: number): string {
  const abs = Math.abs(n);
  try {
    const name = getSystemErrorName(-abs);
    // libuv answers "Unknown system error -N" for numbers it does not know.
    if (name.startsWith("E")) return name;
  } catch {
    return `E${abs}`; // not a positive integer
  }
  if (!byNumber) {
    byNumber = new Map();
    // The first name wins for aliases (EDEADLK before EDEADLOCK).
    for (const [name, value] of Object.entries(constants.errno)) if (!byNumber.has(value)) byNumber.set(value, name);
  }
  return byNumber.get(abs) ?? `E${abs}`;
}

/**
 * The errno name of anything thrown: `code` of a Node or native error
 * (`ENOENT`), else the name of a numeric `errno`, else `EUNKNOWN`. An error
 * whose `code` is not an errno (a WarrenError's `ERR_WARREN_…`) keeps it.
 */
export function codeOf(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown } | null | undefined;
  if (typeof e?.code === "string") return e.code;
  if (typeof e?.errno === "number" && e.errno !== 0) return errnoName(e.errno);
  return "EUNKNOWN";
}

/** strerror(3) texts of the errors a copy or mount tool reports, as GNU tools print them. */
const STRERROR: [RegExp, string][] = [
  [/No space left on device/, "ENOSPC"],
  [/Disk quota exceeded/, "EDQUOT"],
  [/Read-only file system/, "EROFS"],
  [/Permission denied/, "EACCES"],
  [/Operation not permitted/, "EPERM"],
  [/Too many open files/, "EMFILE"],
  [/Cannot allocate memory/, "ENOMEM"],
  [/No such file or directory/, "ENOENT"],
];

/**
 * The errno a failed tool (`cp`, `tar`, `btrfs`) reported in its message,
 * e.g. ENOSPC for "cp: error writing 'x': No space left on device"; `EIO`
 * when its text names none.
 */
export function errnoFromToolMessage(text: string): string {
  for (const [re, code] of STRERROR) if (re.test(text)) return code;
  return "EIO";
}
