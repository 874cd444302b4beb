/**
 * The shape of an OCI seccomp profile (runtime-spec `linux.seccomp`, the
 * JSON Docker, podman and containerd hand their runtime) as warren's
 * `seccomp: {profile}` accepts it. Only the shape is checked here; what
 * the compiler cannot honour (a notify listener, a program over the
 * kernel's 4096 instructions) is a ConfigError at create, from
 * plan/seccomp-profile.ts.
 * @module
 */
import { z } from "zod";

const ACTIONS = [
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_LOG",
] as const;

// JSON numbers: a value above 2^53 is as exact as the JSON parser made it
// (2^64-1 parses as 2^64 and is taken as 2^64-1).
const u64 = z.number().int().min(0).max(2 ** 64);
const errno = z.number().int().min(0).max(4095);

export const seccompProfileSchema = z.strictObject({
  /** What a call no rule matches gets. */
  defaultAction: z.enum(ACTIONS),
  /** The errno of a default `SCMP_ACT_ERRNO` (default EPERM). */
  defaultErrnoRet: errno.optional(),
  /** `SCMP_ARCH_X86_64`, `SCMP_ARCH_X86`, `SCMP_ARCH_X32`, `SCMP_ARCH_AARCH64`, `SCMP_ARCH_ARM` (others are accepted and have no effect on these hosts). The host's native ABI is always filtered. */
  architectures: z.array(z.string().regex(/^SCMP_ARCH_[A-Z0-9_]+$/)).optional(),
  /** `SECCOMP_FILTER_FLAG_TSYNC`, `SECCOMP_FILTER_FLAG_LOG`, `SECCOMP_FILTER_FLAG_SPEC_ALLOW`. */
  flags: z.array(z.enum(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])).optional(),
  syscalls: z
    .array(
      z.strictObject({
        names: z.array(z.string().min(1)).min(1),
        action: z.enum(ACTIONS),
        /** The errno of `SCMP_ACT_ERRNO`, the data of `SCMP_ACT_TRACE` (default EPERM). */
        errnoRet: errno.optional(),
        /** Comparisons of the call's arguments, all of which must hold. */
        args: z
          .array(
            z.strictObject({
              index: z.number().int().min(0).max(5),
              value: u64,
              valueTwo: u64.optional(),
              op: z.enum(["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]),
            }),
          )
          .optional(),
        comment: z.string().optional(),
      }),
    )
    .optional(),
});

export type SeccompProfileConfig = z.input<typeof seccompProfileSchema>;
